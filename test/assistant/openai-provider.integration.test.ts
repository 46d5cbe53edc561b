import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadCatalog, type Catalog } from '../../src/assistant/catalog/catalog.js';
import { assistantProvider } from '../../src/container/backends.js';
import { OpenAiProvider } from '../../src/assistant/providers/openai.js';
import { AssistantTimeoutError, AssistantUpstreamError, isUpstreamOutage } from '../../src/assistant/providers/provider.js';

/**
 * A local chat-completions server that answers, fails and hangs on command, so the provider is
 * tested against real HTTP: status codes, bodies, headers and a connection that never answers.
 */
type Mode =
  | { kind: 'answer'; pick: (candidateIds: string[]) => string[]; answer?: string; fenced?: boolean }
  | { kind: 'status'; status: number }
  | { kind: 'raw'; body: string }
  | { kind: 'content'; content: string | null }
  | { kind: 'hang' };

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: { model: string; messages: { role: string; content: string }[]; response_format?: unknown; stream?: boolean };
}

const API_KEY = 'sk-test-0123456789abcdef';
let server: Server;
let baseUrl: string;
let catalog: Catalog;
let mode: Mode;
let seen: Seen[];
let hungRequestClosed: Promise<void>;
let markHungClosed: () => void;

const userPayload = (s: Seen) =>
  JSON.parse(s.body.messages.find((m) => m.role === 'user')!.content) as {
    question: string;
    limit: number;
    filters: Record<string, unknown>;
    candidates: { id: string; category: string; price: number }[];
  };

const completion = (content: string | null) =>
  JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] });

beforeAll(async () => {
  catalog = await loadCatalog(undefined);
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      const entry: Seen = { method: req.method!, url: req.url!, headers: req.headers, body: JSON.parse(raw) as Seen['body'] };
      seen.push(entry);
      switch (mode.kind) {
        case 'answer': {
          const ids = mode.pick(userPayload(entry).candidates.map((c) => c.id));
          const content = JSON.stringify({ answer: mode.answer ?? 'Here are my picks.', productIds: ids });
          res.writeHead(200, { 'content-type': 'application/json' }).end(completion(mode.fenced ? `\`\`\`json\n${content}\n\`\`\`` : content));
          return;
        }
        case 'status':
          res.writeHead(mode.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `failure with ${API_KEY}` } }));
          return;
        case 'raw':
          res.writeHead(200, { 'content-type': 'application/json' }).end(mode.body);
          return;
        case 'content':
          res.writeHead(200, { 'content-type': 'application/json' }).end(completion(mode.content));
          return;
        case 'hang':
          // Never answer; note when the client gives up and closes the connection.
          res.on('close', () => markHungClosed());
          return;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  seen = [];
  hungRequestClosed = new Promise<void>((resolve) => (markHungClosed = resolve));
});

const make = (options: Partial<{ apiKey: string | undefined; baseUrl: string }> = {}) =>
  new OpenAiProvider(catalog, { baseUrl: options.baseUrl ?? baseUrl, apiKey: 'apiKey' in options ? options.apiKey : API_KEY, model: 'gpt-test-mini' });
const signal = () => new AbortController().signal;

describe('OpenAI-compatible provider: answers', () => {
  it('sends the question and the catalog candidates, and returns the chosen products in the model\'s order', async () => {
    mode = { kind: 'answer', pick: (ids) => [ids[2], ids[0], ids[1]], answer: 'The best pick is a waterproof boot.' };
    const provider = make();
    const result = await provider.answer({ query: 'waterproof hiking boots under $150', filters: { category: 'Shoes' }, limit: 3 }, signal());

    expect(seen).toHaveLength(1);
    const [request] = seen;
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/v1/chat/completions');
    expect(request.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request.body.model).toBe('gpt-test-mini');
    expect(request.body.stream).toBe(true);
    expect(request.headers.accept).toMatch(/text\/event-stream/);
    expect(request.body.messages[0].role).toBe('system');
    const sent = userPayload(request);
    expect(sent.question).toBe('waterproof hiking boots under $150');
    expect(sent.limit).toBe(3);
    // 3 × limit candidates, every one within the filters and the price hint.
    expect(sent.candidates).toHaveLength(9);
    for (const c of sent.candidates) {
      expect(c.category).toBe('shoes');
      expect(c.price).toBeLessThanOrEqual(150);
    }

    expect(result.answer).toBe('The best pick is a waterproof boot.');
    expect(result.products.map((p) => p.id)).toEqual([sent.candidates[2].id, sent.candidates[0].id, sent.candidates[1].id]);
    const scores = result.products.map((p) => p.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    for (const p of result.products) {
      expect(p.score).toBeGreaterThan(0);
      expect(p.score).toBeLessThanOrEqual(1);
      expect(p).toMatchObject({ name: catalog.byId(p.id)!.name, price: catalog.byId(p.id)!.price, currency: 'USD' });
    }
    expect(provider.name).toBe('openai');
    expect(provider.model).toBe('gpt-test-mini');
    expect(provider.catalogVersion).toBe(catalog.hash);
  });

  it('drops unknown and repeated ids and keeps at most limit products', async () => {
    mode = { kind: 'answer', pick: (ids) => ['made-up-1', ids[0], ids[0], 'made-up-2', ids[1], ids[2], ids[3]] };
    const result = await make().answer({ query: 'wireless headphones', limit: 2 }, signal());
    const sent = userPayload(seen[0]);
    expect(result.products.map((p) => p.id)).toEqual([sent.candidates[0].id, sent.candidates[1].id]);
  });

  it('accepts a reply wrapped in a Markdown code fence', async () => {
    mode = { kind: 'answer', pick: (ids) => [ids[0]], fenced: true };
    const result = await make().answer({ query: 'tent', limit: 5 }, signal());
    expect(result.products).toHaveLength(1);
  });

  it('a reply that picks nothing is an answer with no products', async () => {
    mode = { kind: 'answer', pick: () => [], answer: 'None of these fit, sorry.' };
    const result = await make().answer({ query: 'tent', limit: 5 }, signal());
    expect(result).toEqual({ answer: 'None of these fit, sorry.', products: [] });
  });

  it('sends no Authorization header when no key is configured', async () => {
    mode = { kind: 'answer', pick: (ids) => [ids[0]] };
    await make({ apiKey: undefined }).answer({ query: 'tent', limit: 1 }, signal());
    expect(seen[0].headers.authorization).toBeUndefined();
  });

  it('does not call the API when the catalog has no candidate', async () => {
    mode = { kind: 'status', status: 500 };
    const result = await make().answer({ query: 'boots', filters: { category: 'no such category' }, limit: 5 }, signal());
    expect(seen).toHaveLength(0);
    expect(result.products).toEqual([]);
    expect(result.answer).toMatch(/couldn't find any products/);
  });

  it('is what the wiring builds for ASSISTANT_PROVIDER=openai', () => {
    const provider = assistantProvider({ provider: 'openai', openai: { baseUrl, apiKey: API_KEY, model: 'gpt-x' } }, catalog);
    expect(provider).toBeInstanceOf(OpenAiProvider);
    expect(provider.model).toBe('gpt-x');
  });
});

describe('OpenAI-compatible provider: replies off the asked-for shape still answer', () => {
  const ask = () => make().answer({ query: 'waterproof boots', limit: 3 }, signal());

  it('plain text → that text as the answer, with the catalog search\'s own best products', async () => {
    mode = { kind: 'content', content: '  Sure! The Trailblazer boots are a great pick.  ' };
    const result = await ask();
    expect(result.answer).toBe('Sure! The Trailblazer boots are a great pick.');
    expect(result.products).toHaveLength(3);
    const candidates = userPayload(seen[0]!).candidates.map((c) => c.id);
    expect(result.products.map((p) => p.id)).toEqual(candidates.slice(0, 3));
  });

  it('JSON with an answer but no product list → the answer with the catalog\'s best products', async () => {
    mode = { kind: 'content', content: JSON.stringify({ answer: 'Try these.' }) };
    const result = await ask();
    expect(result.answer).toBe('Try these.');
    expect(result.products.map((p) => p.id)).toEqual(userPayload(seen[0]!).candidates.slice(0, 3).map((c) => c.id));
  });

  it('JSON that names only unknown products → the answer with the catalog\'s best products', async () => {
    mode = { kind: 'answer', pick: () => ['made-up-1', 'made-up-2'], answer: 'Made-up picks.' };
    const result = await ask();
    expect(result.answer).toBe('Made-up picks.');
    expect(result.products.map((p) => p.id)).toEqual(userPayload(seen[0]!).candidates.slice(0, 3).map((c) => c.id));
  });

  it('JSON with the products under another key → the model\'s own picks', async () => {
    let chosen: string[] = [];
    mode = { kind: 'content', content: '' };
    // Two passes: the first learns the candidates, the second answers with them under "products".
    await ask().catch(() => undefined);
    chosen = userPayload(seen[0]!).candidates.slice(1, 3).map((c) => c.id);
    mode = { kind: 'content', content: JSON.stringify({ answer: 'These two.', products: chosen.map((id) => ({ id })) }) };
    const result = await ask();
    expect(result.answer).toBe('These two.');
    expect(result.products.map((p) => p.id)).toEqual(chosen);
  });

  it('JSON with known product ids but no answer text → the catalog\'s sentence for those products', async () => {
    mode = { kind: 'content', content: '' };
    await ask().catch(() => undefined);
    const chosen = userPayload(seen[0]!).candidates.slice(0, 2).map((c) => c.id);
    mode = { kind: 'content', content: JSON.stringify({ productIds: chosen }) };
    const result = await ask();
    expect(result.answer.length).toBeGreaterThan(0);
    expect(result.products.map((p) => p.id)).toEqual(chosen);
  });
});

describe('OpenAI-compatible provider: failures are upstream errors', () => {
  // [what, mode, whether it tells of an outage (counts towards the breaker)]
  const failing: [string, () => Mode, boolean][] = [
    ['an HTTP 500', () => ({ kind: 'status', status: 500 }), true],
    ['an HTTP 503', () => ({ kind: 'status', status: 503 }), true],
    ['an HTTP 429', () => ({ kind: 'status', status: 429 }), true],
    ['an HTTP 401', () => ({ kind: 'status', status: 401 }), false],
    ['an HTTP 400', () => ({ kind: 'status', status: 400 }), false],
    ['a body that is not JSON', () => ({ kind: 'raw', body: '<html>bad gateway</html>' }), false],
    ['JSON that is not a chat completion', () => ({ kind: 'raw', body: JSON.stringify({ hello: 'world' }) }), false],
    ['a message with no content', () => ({ kind: 'content', content: null }), false],
    ['an empty reply', () => ({ kind: 'content', content: '   ' }), false],
    ['a JSON reply with neither answer nor products', () => ({ kind: 'content', content: JSON.stringify({ hello: 'world' }) }), false],
  ];
  for (const [what, makeMode, outage] of failing) {
    it(`${what} → AssistantUpstreamError (502) that does not leak the key${outage ? ', an outage' : ', not an outage'}`, async () => {
      mode = makeMode();
      const error = await make()
        .answer({ query: 'waterproof boots', limit: 5 }, signal())
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AssistantUpstreamError);
      expect((error as AssistantUpstreamError).status).toBe(502);
      expect((error as AssistantUpstreamError).code).toBe('UPSTREAM_ERROR');
      expect((error as AssistantUpstreamError).outage).toBe(outage);
      expect(isUpstreamOutage(error)).toBe(outage);
      expect(JSON.stringify({ message: (error as Error).message, reason: (error as AssistantUpstreamError).reason })).not.toContain(API_KEY);
    });
  }

  it('a refused connection → AssistantUpstreamError', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await make({ baseUrl: `http://127.0.0.1:${port}/v1` })
      .answer({ query: 'boots', limit: 5 }, signal())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AssistantUpstreamError);
    expect((error as AssistantUpstreamError).reason).toMatch(/ECONNREFUSED/);
    expect(isUpstreamOutage(error)).toBe(true);
  });
});

describe('OpenAI-compatible provider: timeouts', () => {
  it('a hung upstream → AssistantTimeoutError (504) when the signal fires, and the request is cancelled', async () => {
    mode = { kind: 'hang' };
    const error = await make()
      .answer({ query: 'waterproof boots', limit: 5 }, AbortSignal.timeout(150))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AssistantTimeoutError);
    expect((error as AssistantTimeoutError).status).toBe(504);
    expect(isUpstreamOutage(error)).toBe(true);
    // The server sees the connection go away: nothing is left running after the timeout.
    await hungRequestClosed;
    expect(seen).toHaveLength(1);
  });

  it('an already-fired signal → AssistantTimeoutError without calling the API', async () => {
    mode = { kind: 'answer', pick: (ids) => ids };
    const controller = new AbortController();
    controller.abort();
    await expect(make().answer({ query: 'boots', limit: 5 }, controller.signal)).rejects.toBeInstanceOf(AssistantTimeoutError);
    expect(seen).toHaveLength(0);
  });
});
