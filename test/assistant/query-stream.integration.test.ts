import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveApp, type ServedApp } from '../support/client-server.js';
import { providerEnv, startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.js';
import { SESSION_SECRET } from '../support/tokens.js';

/** The query route as Server-Sent Events, over real HTTP. */
const QUERY = '/api/v1/assistant/query';

interface StreamEvent {
  event: string;
  data: Record<string, unknown>;
}

/** Parses a whole event stream (`event:`/`data:` lines, blank-line separated). */
function parseEvents(text: string): StreamEvent[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim())
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))!.slice('event: '.length);
      const data = JSON.parse(lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice('data: '.length)).join('\n')) as Record<string, unknown>;
      return { event, data };
    });
}

async function guest(served: ServedApp, consent = true): Promise<string> {
  const session = (await (await fetch(`${served.baseUrl}/api/v1/sessions/guest`, { method: 'POST' })).json()) as { token: string };
  if (consent) {
    const res = await fetch(`${served.baseUrl}/api/v1/consent`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${session.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ termsAccepted: true, marketingConsent: false }),
    });
    expect(res.status).toBe(200);
  }
  return session.token;
}

function post(served: ServedApp, token: string, body: object, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(`${served.baseUrl}${QUERY}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify(body),
    signal,
  });
}

async function streamed(served: ServedApp, token: string, body: object, headers: Record<string, string> = {}): Promise<{ res: Response; events: StreamEvent[] }> {
  const res = await post(served, token, body, headers);
  return { res, events: res.headers.get('content-type')?.startsWith('text/event-stream') ? parseEvents(await res.text()) : [] };
}

/** Reads a stream event by event, noting when each arrived (ms since the request was sent). */
async function timedEvents(res: Response, sentAt: number, stopAfter?: (e: StreamEvent) => boolean): Promise<(StreamEvent & { at: number })[]> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const out: (StreamEvent & { at: number })[] = [];
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out;
    buffer += value;
    const blocks = buffer.split('\n\n');
    buffer = blocks.pop()!;
    for (const event of parseEvents(blocks.join('\n\n'))) {
      out.push({ ...event, at: performance.now() - sentAt });
      if (stopAfter?.(event)) {
        await reader.cancel().catch(() => {});
        return out;
      }
    }
  }
}

async function balance(served: ServedApp, token: string): Promise<number> {
  const res = await fetch(`${served.baseUrl}/api/v1/credits`, { headers: { authorization: `Bearer ${token}` } });
  return ((await res.json()) as { available: number }).available;
}

async function ledgerTypes(served: ServedApp, token: string): Promise<string[]> {
  const res = await fetch(`${served.baseUrl}/api/v1/credits/transactions?limit=100`, { headers: { authorization: `Bearer ${token}` } });
  return ((await res.json()) as { items: { type: string }[] }).items.map((i) => i.type).reverse();
}

function expectWellFormed(events: StreamEvent[]): string {
  expect(events.map((e) => e.event)).toEqual(['meta', 'products', ...events.slice(2, -1).map(() => 'delta'), 'done']);
  expect(events.length).toBeGreaterThanOrEqual(4);
  const text = events.filter((e) => e.event === 'delta').map((e) => e.data.text as string).join('');
  expect(text).toBe(events.at(-1)!.data.answer);
  return text;
}

const common = { SESSION_SECRET, GUEST_SESSIONS_PER_IP_PER_HOUR: '100000', STORAGE_BACKEND: 'memory', CACHE_BACKEND: 'memory', GUEST_CREDITS: '10' };

describe('a streamed answer from the catalog provider', () => {
  let served: ServedApp;
  beforeAll(async () => {
    served = await serveApp(common);
  });
  afterAll(async () => {
    await served?.close();
  });

  it('sends meta, products, its sentence as one delta, then done; with the balance headers and X-Cache', async () => {
    const token = await guest(served);
    const query = `waterproof hiking boots ${randomUUID().slice(0, 8)}`;
    const { res, events } = await streamed(served, token, { query, limit: 3 });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('x-cache')).toBe('MISS');
    expect(res.headers.get('x-credits-remaining')).toBe('9');
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expectWellFormed(events);
    expect(events.filter((e) => e.event === 'delta')).toHaveLength(1);
    expect(events[0]!.data).toEqual({
      cached: false,
      creditsCharged: 1,
      credits: { available: 9, max: 10, resetsAt: expect.any(String) },
      conversationId: expect.stringMatching(/^cv_/),
      resolvedQuery: { query, filters: {} },
    });
    expect((events[1]!.data.products as unknown[]).length).toBeGreaterThan(0);
    expect(await balance(served, token)).toBe(9);

    // The same question as JSON is the cached answer, word for word.
    const json = await fetch(`${served.baseUrl}${QUERY}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query, limit: 3 }),
    });
    const body = (await json.json()) as { answer: string; products: unknown; cached: boolean };
    expect(body).toMatchObject({ cached: true, answer: events.at(-1)!.data.answer, products: events[1]!.data.products });
  });

  it('streams a cache hit and a follow-up alike', async () => {
    const token = await guest(served);
    const query = `hiking boots ${randomUUID().slice(0, 8)}`;
    const first = await streamed(served, token, { query });
    const hit = await streamed(served, token, { query });
    expect(hit.res.headers.get('x-cache')).toBe('HIT');
    expect(hit.events[0]!.data).toMatchObject({ cached: true, creditsCharged: 0 });
    expectWellFormed(hit.events);
    const followUp = await streamed(served, token, { query: 'cheaper', conversationId: first.events[0]!.data.conversationId });
    expect(followUp.events[0]!.data.resolvedQuery).toEqual({ query, filters: { maxPrice: expect.any(Number) } });
    expect(expectWellFormed(followUp.events)).toMatch(/^Following up on /);
  });

  it('answers the errors before the charge as JSON with their statuses, charging nothing', async () => {
    const unconsented = await guest(served, false);
    const refused = await post(served, unconsented, { query: 'boots' });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('CONSENT_REQUIRED');

    const token = await guest(served);
    for (const [body, status, code] of [
      [{ query: '' }, 400, 'VALIDATION_FAILED'],
      [{ query: 'cheaper', conversationId: 'cv_unknown' }, 404, 'CONVERSATION_NOT_FOUND'],
    ] as const) {
      const res = await post(served, token, body);
      expect(res.status).toBe(status);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
    }
    expect(await balance(served, token)).toBe(10);
  });

  it('answers 402 INSUFFICIENT_CREDITS as JSON once the credits are spent', async () => {
    const poor = await serveApp({ ...common, GUEST_CREDITS: '1' });
    try {
      const token = await guest(poor);
      expect((await streamed(poor, token, { query: `boots ${randomUUID()}` })).res.status).toBe(200);
      const res = await post(poor, token, { query: `boots ${randomUUID()}` });
      expect(res.status).toBe(402);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('INSUFFICIENT_CREDITS');
    } finally {
      await poor.close();
    }
  });

  it('replays an answer with the same Idempotency-Key, as a stream or as JSON, without charging again', async () => {
    const token = await guest(served);
    const key = { 'Idempotency-Key': randomUUID() };
    const body = { query: `rain jacket ${randomUUID().slice(0, 8)}` };
    const first = await streamed(served, token, body, key);
    const again = await streamed(served, token, body, key);
    expect(again.res.headers.get('idempotent-replayed')).toBe('true');
    expect(again.events.slice(1)).toEqual(first.events.slice(1));
    expect(again.events[0]!.data).toMatchObject({ creditsCharged: 1, conversationId: first.events[0]!.data.conversationId });
    const json = await fetch(`${served.baseUrl}${QUERY}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...key },
      body: JSON.stringify(body),
    });
    expect(json.headers.get('idempotent-replayed')).toBe('true');
    expect(((await json.json()) as { answer: string }).answer).toBe(first.events.at(-1)!.data.answer);
    expect(await balance(served, token)).toBe(9);
  });
});

describe('a streamed answer from the OpenAI-compatible provider', () => {
  let openai: FakeOpenAi;
  let served: ServedApp;
  beforeAll(async () => {
    openai = await startFakeOpenAi();
    served = await serveApp({ ...common, ...providerEnv(openai) });
  });
  afterAll(async () => {
    await served?.close();
    await openai?.close();
  });

  /**
   * After a client went away mid-answer: the answer was completed all the same, so the retry
   * (the same key and body) replays it whole instead of asking the model and charging again.
   */
  async function expectCompletedOnceAndReplayed(token: string, body: object, key: Record<string, string>): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 1200));
    openai.mode = { kind: 'answer' };
    const calls = openai.calls;
    const replay = await streamed(served, token, body, key);
    expect(replay.res.headers.get('idempotent-replayed')).toBe('true');
    expect(expectWellFormed(replay.events)).toBe('Here are the products that fit best.');
    expect(openai.calls).toBe(calls);
    expect(await balance(served, token)).toBe(9);
    expect(await ledgerTypes(served, token)).toEqual(['grant', 'debit']);
  }

  it('sends the model’s answer in the same events', async () => {
    openai.mode = { kind: 'answer' };
    const token = await guest(served);
    const { res, events } = await streamed(served, token, { query: `hiking boots ${randomUUID().slice(0, 8)}` });
    expect(res.status).toBe(200);
    expect(expectWellFormed(events)).toBe('Here are the products that fit best.');
  });

  it('ends with an error event after the charge was refunded when the model fails mid-answer', async () => {
    openai.mode = { kind: 'fail' };
    const token = await guest(served);
    const { res, events } = await streamed(served, token, { query: `hiking boots ${randomUUID().slice(0, 8)}` });
    expect(res.status).toBe(200);
    expect(events.map((e) => e.event)).toEqual(['meta', 'error']);
    expect(events[0]!.data).toMatchObject({ creditsCharged: 1, credits: { available: 9 } });
    expect(events[1]!.data).toEqual({ code: 'UPSTREAM_ERROR', message: expect.any(String) });
    expect(await balance(served, token)).toBe(10);
    expect(await ledgerTypes(served, token)).toEqual(['grant', 'debit', 'refund']);
    openai.mode = { kind: 'answer' };
  });

  it('completes and records an answer whose client went away mid-stream: charged once, and replayed whole', async () => {
    openai.mode = { kind: 'slow', delayMs: 800 };
    const token = await guest(served);
    const key = { 'Idempotency-Key': randomUUID() };
    const body = { query: `trail running shoes ${randomUUID().slice(0, 8)}` };
    const controller = new AbortController();
    const res = await post(served, token, body, key, controller.signal);
    expect(res.status).toBe(200);
    // Read up to the first event, then go away.
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toMatch(/^event: meta\n/);
    controller.abort();
    await reader.cancel().catch(() => {});

    await expectCompletedOnceAndReplayed(token, body, key);
  });

  it('streams the model’s tokens as it writes them: products first, then deltas over time that concatenate to done', async () => {
    // 8 events (the ids line, then 7 words) 150 ms apart: about 1 s of writing.
    openai.mode = { kind: 'trickle', delayMs: 150 };
    const token = await guest(served);
    const sentAt = performance.now();
    const res = await post(served, token, { query: `hiking boots ${randomUUID().slice(0, 8)}` });
    expect(res.status).toBe(200);
    const events = await timedEvents(res, sentAt);
    expect(expectWellFormed(events)).toBe('Here are the products that fit best.');
    const deltas = events.filter((e) => e.event === 'delta');
    expect(deltas.length).toBeGreaterThanOrEqual(5);
    expect((events[1]!.data.products as unknown[]).length).toBeGreaterThan(0);
    // The first words are read while the model is still writing the rest.
    const done = events.at(-1)!;
    expect(done.at - deltas[0]!.at).toBeGreaterThanOrEqual(4 * 150 - 50);
    expect(await balance(served, token)).toBe(9);
    openai.mode = { kind: 'answer' };
  });

  it('ends with an error event after the charge was refunded when the model’s stream breaks off mid-answer', async () => {
    // The ids line and two words, then the connection drops.
    openai.mode = { kind: 'trickle', delayMs: 50, failAfter: 3 };
    const token = await guest(served);
    const { res, events } = await streamed(served, token, { query: `hiking boots ${randomUUID().slice(0, 8)}` });
    expect(res.status).toBe(200);
    const names = events.map((e) => e.event);
    expect(names.slice(0, 3)).toEqual(['meta', 'products', 'delta']);
    expect(names.at(-1)).toBe('error');
    expect(names).not.toContain('done');
    expect(events.at(-1)!.data).toEqual({ code: 'UPSTREAM_ERROR', message: expect.any(String) });
    expect(await balance(served, token)).toBe(10);
    expect(await ledgerTypes(served, token)).toEqual(['grant', 'debit', 'refund']);
    openai.mode = { kind: 'answer' };
  });

  it('completes an answer whose client went away after its first words: charged once, and replayed whole', async () => {
    openai.mode = { kind: 'trickle', delayMs: 100 };
    const token = await guest(served);
    const key = { 'Idempotency-Key': randomUUID() };
    const body = { query: `trail running shoes ${randomUUID().slice(0, 8)}` };
    const controller = new AbortController();
    const res = await post(served, token, body, key, controller.signal);
    const seen = await timedEvents(res, performance.now(), (e) => e.event === 'delta');
    expect(seen.at(-1)!.event).toBe('delta');
    controller.abort();

    await expectCompletedOnceAndReplayed(token, body, key);
  });
});
