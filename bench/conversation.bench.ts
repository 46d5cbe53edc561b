/**
 * Streamed and follow-up answers of POST /api/v1/assistant/query, against the plain JSON answer
 * to a first question measured in the same run: time to the first byte and to the whole answer
 * (`done` for a stream), fresh answers only (`Cache-Control: no-cache`), and what a follow-up
 * ("cheaper", read against the conversation, the turn read and kept) costs next to a first
 * question. One shopper, one request at a time, over real HTTP to an app in this process on
 * memory storage, so the figures are the route's own work, not a database's.
 */
import type { AddressInfo } from 'node:net';
import { createContainer } from '../src/container.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/platform/logger.js';
import type { BenchRow, BenchSuite } from './run.js';

const ROUNDS = Number(process.env.BENCH_CONVERSATION_ROUNDS ?? 300);
const TOPICS = ['waterproof hiking boots', 'budget laptop', 'wireless headphones', 'running shoes', 'coffee grinder', 'yoga mat', 'travel backpack', 'rain jacket'];

interface Timing {
  firstByteMs: number;
  totalMs: number;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

const suite: BenchSuite = {
  name: 'conversation',
  async run() {
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      STORAGE_BACKEND: 'memory',
      CACHE_BACKEND: 'memory',
      GUEST_CREDITS: '1000000',
      QUERY_RATE_LIMIT_PER_MINUTE: '0',
      SESSION_SECRET: 'bench-session-secret-of-at-least-32-bytes!!',
    });
    const container = await createContainer(config, { logger: createLogger({ level: 'silent' }) });
    const server = container.app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const session = (await (await fetch(`${base}/api/v1/sessions/guest`, { method: 'POST' })).json()) as { token: string };
      const auth = { authorization: `Bearer ${session.token}`, 'content-type': 'application/json' };
      await fetch(`${base}/api/v1/consent`, { method: 'PUT', headers: auth, body: JSON.stringify({ termsAccepted: true, marketingConsent: false }) });

      /** One fresh answer: when its first body byte came, and when the whole of it had (a stream's done). */
      const ask = async (body: object, stream: boolean): Promise<Timing & { conversationId: string }> => {
        const started = performance.now();
        const res = await fetch(`${base}/api/v1/assistant/query`, {
          method: 'POST',
          headers: { ...auth, 'cache-control': 'no-cache', ...(stream ? { accept: 'text/event-stream' } : {}) },
          body: JSON.stringify(body),
        });
        const reader = res.body!.getReader();
        const decoder = new TextDecoder();
        let text = '';
        let firstByteMs = -1;
        for (;;) {
          const chunk = await reader.read();
          if (chunk.done) break;
          if (firstByteMs < 0) firstByteMs = performance.now() - started;
          text += decoder.decode(chunk.value, { stream: true });
        }
        const totalMs = performance.now() - started;
        if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${text}`);
        const conversationId = stream
          ? (JSON.parse(/event: meta\ndata: (.*)\n/.exec(text)![1]!) as { conversationId: string }).conversationId
          : (JSON.parse(text) as { conversationId: string }).conversationId;
        return { firstByteMs, totalMs, conversationId };
      };

      const json: Timing[] = [];
      const streamed: Timing[] = [];
      const first: number[] = [];
      const followUp: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        const topic = TOPICS[i % TOPICS.length]!;
        json.push(await ask({ query: topic }, false));
        streamed.push(await ask({ query: topic }, true));
        const opened = await ask({ query: topic }, false);
        first.push(opened.totalMs);
        followUp.push((await ask({ query: 'cheaper', conversationId: opened.conversationId }, false)).totalMs);
      }

      const p = (values: number[]) => ({ p50: percentile(values, 50), p99: percentile(values, 99) });
      const row = (what: string, values: number[], against: number[]): BenchRow => {
        const mine = p(values);
        const theirs = p(against);
        return {
          what,
          'p50 ms': mine.p50.toFixed(2),
          'p99 ms': mine.p99.toFixed(2),
          'ratio p50': (mine.p50 / theirs.p50).toFixed(2),
          'ratio p99': (mine.p99 / theirs.p99).toFixed(2),
        };
      };
      const jsonTotal = json.map((t) => t.totalMs);
      return [
        row('JSON first byte (fresh)', json.map((t) => t.firstByteMs), jsonTotal),
        row('JSON whole answer (fresh) = 1.00', jsonTotal, jsonTotal),
        row('stream first byte (meta)', streamed.map((t) => t.firstByteMs), jsonTotal),
        row('stream to done', streamed.map((t) => t.totalMs), jsonTotal),
        row('first question = 1.00', first, first),
        row('follow-up "cheaper"', followUp, first),
      ];
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await container.close();
    }
  },
};
export default suite;
