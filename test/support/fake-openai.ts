import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local OpenAI-compatible chat-completions server the test commands: `answer` picks the first
 * candidates it is given, `fail` answers 500 (after `delayMs`, if given), `hang` never answers (until the client gives up),
 * `slow` answers after `delayMs`, `content` replies with the given message content whatever was asked
 * (a reply off the asked-for shape), `status` answers that HTTP status.
 */
export type FakeOpenAiMode =
  | { kind: 'answer' }
  | { kind: 'fail'; delayMs?: number }
  | { kind: 'hang' }
  | { kind: 'slow'; delayMs: number }
  | { kind: 'content'; content: string }
  | { kind: 'status'; status: number };

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
      const body = JSON.parse(raw) as { messages: { role: string; content: string }[] };
      if (mode.kind === 'content') {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ id: 'chatcmpl-test', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: mode.content }, finish_reason: 'stop' }] }));
        return;
      }
      // The question is the last user message; earlier ones are the conversation so far.
      const user = JSON.parse(body.messages.filter((m) => m.role === 'user').at(-1)!.content) as { limit: number; candidates: { id: string }[] };
      const content = JSON.stringify({
        answer: `Here are the products that fit best.${fake.numberAnswers ? ` (answer ${call})` : ''}`,
        productIds: user.candidates.slice(0, user.limit).map((c) => c.id),
      });
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
