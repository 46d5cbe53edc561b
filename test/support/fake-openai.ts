import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local OpenAI-compatible chat-completions server the test commands: `answer` picks the first
 * candidates it is given, `fail` answers 500 (after `delayMs`, if given), `hang` never answers (until the client gives up),
 * `slow` answers after `delayMs`, `content` replies with the given message content whatever was asked
 * (a reply off the asked-for shape), `status` answers that HTTP status. A request with `stream: true`
 * is answered as the API streams (Server-Sent Events: a first line of JSON with the product ids,
 * then the answer text, a few words per event); `trickle` streams those events `delayMs` apart and,
 * with `failAfter`, drops the connection after that many events (a failure mid-stream).
 */
export type FakeOpenAiMode =
  | { kind: 'answer' }
  | { kind: 'fail'; delayMs?: number }
  | { kind: 'hang' }
  | { kind: 'slow'; delayMs: number }
  | { kind: 'content'; content: string }
  | { kind: 'status'; status: number }
  | { kind: 'trickle'; delayMs: number; failAfter?: number };

export interface FakeOpenAi {
  /** For OPENAI_BASE_URL. */
  baseUrl: string;
  mode: FakeOpenAiMode;
  /** Chat-completion requests received. */
  calls: number;
  /** The messages of the last request received. */
  lastMessages: { role: string; content: string }[];
  /**
   * When set, each answer's text ends with the number of the call that produced it, so two
   * answers are told apart and a replayed answer is recognised as the very one first given.
   */
  numberAnswers: boolean;
  close(): Promise<void>;
}

/** The settings that make an app's assistant this fake chat model. */
export function providerEnv(openai: FakeOpenAi): Record<string, string> {
  return { ASSISTANT_PROVIDER: 'openai', OPENAI_BASE_URL: openai.baseUrl, OPENAI_MODEL: 'test-model' };
}

export async function startFakeOpenAi(): Promise<FakeOpenAi> {
  const fake: FakeOpenAi = { baseUrl: '', mode: { kind: 'answer' }, calls: 0, lastMessages: [], numberAnswers: false, close: async () => {} };
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      const call = ++fake.calls;
      try {
        fake.lastMessages = (JSON.parse(raw) as { messages: { role: string; content: string }[] }).messages;
      } catch {
        fake.lastMessages = [];
      }
      const mode = fake.mode;
      if (mode.kind === 'hang') return;
      if (mode.kind === 'status') {
        res.writeHead(mode.status, { 'content-type': 'application/json' }).end('{"error":{"message":"refused"}}');
        return;
      }
      if (mode.kind === 'fail') {
        const fail = () => res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"overloaded"}}');
        if (mode.delayMs) setTimeout(fail, mode.delayMs);
        else fail();
        return;
      }
      const body = JSON.parse(raw) as { messages: { role: string; content: string }[]; stream?: boolean };
      if (mode.kind === 'content') {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ id: 'chatcmpl-test', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: mode.content }, finish_reason: 'stop' }] }));
        return;
      }
      // The question is the last user message; earlier ones are the conversation so far.
      const user = JSON.parse(body.messages.filter((m) => m.role === 'user').at(-1)!.content) as { limit: number; candidates: { id: string }[] };
      const answer = `Here are the products that fit best.${fake.numberAnswers ? ` (answer ${call})` : ''}`;
      const productIds = user.candidates.slice(0, user.limit).map((c) => c.id);
      if (body.stream) {
        // The asked-for shape: the ids line, then the answer a few characters at a time.
        const pieces = [`${JSON.stringify({ productIds })}\n`, ...(answer.match(/\S+\s*/g) ?? [])];
        const delayMs = mode.kind === 'trickle' ? mode.delayMs : 0;
        const failAfter = mode.kind === 'trickle' ? mode.failAfter : undefined;
        const chunk = (content: string) => `data: ${JSON.stringify({ id: 'chatcmpl-test', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content } }] })}\n\n`;
        const start = () => {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          let sent = 0;
          const next = () => {
            if (res.destroyed) return;
            if (failAfter !== undefined && sent === failAfter) {
              res.destroy();
              return;
            }
            if (sent === pieces.length) {
              res.end('data: [DONE]\n\n');
              return;
            }
            res.write(chunk(pieces[sent++]));
            if (delayMs) setTimeout(next, delayMs);
            else next();
          };
          next();
        };
        if (mode.kind === 'slow') setTimeout(start, mode.delayMs);
        else start();
        return;
      }
      const content = JSON.stringify({ answer, productIds });
      const reply = () =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({ id: 'chatcmpl-test', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] }),
        );
      if (mode.kind === 'slow') setTimeout(reply, mode.delayMs);
      else reply();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  fake.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return fake;
}
