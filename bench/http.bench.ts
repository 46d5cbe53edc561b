/**
 * POST /api/v1/assistant/query over HTTP with autocannon (50 connections): a cached answer and a
 * fresh catalog answer (`Cache-Control: no-cache`: no cache read, full search, charge and cache
 * write), side by side with a bare Express route returning the same JSON. Servers run in their
 * own processes, as in production; the load generator shares the machine with them.
 * Targets: cached ≥ 0.5× the bare route's requests/s with p99 ≤ 2× its p99; fresh p99 ≤ 3×.
 *
 * Each connection is a shopper of its own (50 registered users with consent), as on a shop. The
 * fresh answer is also measured with one shopper on all 50 connections: its charges then queue on
 * one credit row, each waiting for its own WAL flush (about 680 commits/s on this machine's disk,
 * whatever the API does), so that row is reported for reference, not held to the target.
 * The request path is production's: the per-user rate limit is on (every request counts its hit)
 * at a limit no bench shopper reaches (QUERY_RATE_LIMIT_PER_MINUTE=1000000; a bench shopper sends
 * far more than a real one would), and half the requests of the cached and fresh rows carry an
 * `Idempotency-Key` (a fresh UUID each, as a client retrying safely sends), so their claim and
 * completion are measured too. The rows keep their names so runs compare across the history;
 * runs before this change measured them with the limit off and without keys. Storage is PostgreSQL (BENCH_DATABASE_URL / TEST_DATABASE_URL, else the
 * embedded one) with the PostgreSQL query cache, the default deployment; BENCH_HTTP_STORAGE and
 * BENCH_HTTP_CACHE pick others.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { SignJWT } from 'jose';
import type { BenchRow, BenchSuite } from './run.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SERVER_URL = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || undefined;
export const CONNECTIONS = 50;
export const DURATION_S = Number(process.env.BENCH_HTTP_SECONDS ?? 10);
export const AUTH_SECRET = 'bench-identity-provider-secret-0123456789';
export const QUERY = { query: 'waterproof hiking boots under $150', limit: 5 };
/**
 * An API process under load as in production (one info line per request, which is also where
 * its 'listening' line is): its shoppers are registered users with credits enough for any run,
 * no per-user rate limit and no cleanup running during the measure.
 */
export const API_UNDER_LOAD: Record<string, string> = {
  NODE_ENV: 'production',
  PORT: '0',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'info',
  SESSION_SECRET: 'bench-session-secret-0123456789abcdef',
  AUTH_JWT_SECRET: AUTH_SECRET,
  REGISTERED_CREDITS: '1000000000',
  QUERY_RATE_LIMIT_PER_MINUTE: '0',
  CLEANUP_INTERVAL_MINUTES: '0',
};
/**
 * Fresh answers: each connection asks a question of its own, so every request runs its own
 * search (identical concurrent misses would share one provider call, as the contract allows).
 */
const TOPICS = ['waterproof hiking boots', 'budget laptop', 'gift', 'wireless noise cancelling headphones', 'running shoes for women',
  'coffee grinder', 'yoga mat', 'travel backpack', 'smart watch', 'toys for kids'];
export const FRESH_QUESTIONS = TOPICS.flatMap((topic) => [30, 60, 100, 150, 250].map((cap) => JSON.stringify({ query: `${topic} under $${cap}`, limit: 5 })));

/**
 * The Node flags `npm start` runs the API with (package.json's `start`), so that the bench runs
 * it as it runs in production.
 */
export const SERVER_FLAGS: string[] = (() => {
  const start = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const flags = /\bnode\s+(.*?)\s*--import tsx src\/main\.ts\b/.exec(start);
  if (!flags) throw new Error(`package.json start: expected "node [flags] --import tsx src/main.ts", got "${start}"`);
  return flags[1]!.split(/\s+/).filter(Boolean);
})();

/** Starts a script under tsx (the API, `src/main.ts`, with the flags `npm start` gives it) and waits until it listens. */
export function startProcess(args: string[], env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const server = args[args.length - 1] === 'src/main.ts';
  const child = spawn(process.execPath, ['--import', 'tsx', ...(server ? SERVER_FLAGS : []), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let found = false;
    child.stdout!.on('data', (chunk: Buffer) => {
      if (found) return; // drained, not kept: request logs flow here under load
      out += chunk.toString('utf8');
      for (const line of out.split('\n')) {
        if (!line.includes('listening')) continue;
        try {
          const { port } = JSON.parse(line) as { port: number };
          found = true;
          resolve({ child, port });
          return;
        } catch {
          // a partial line: wait for the rest
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${out}`)));
  });
}

export async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** One signed-in shopper per connection (subjects `<prefix>-<time>-<i>`), each having accepted the terms. */
export async function consentedShoppers(base: string, prefix: string): Promise<string[]> {
  const tokens = await Promise.all(
    Array.from({ length: CONNECTIONS }, (_, i) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(`${prefix}-${Date.now()}-${i}`)
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(AUTH_SECRET)),
    ),
  );
  for (const token of tokens) {
    const consent = await fetch(`${base}/api/v1/consent`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ termsAccepted: true, marketingConsent: false }),
    });
    if (!consent.ok) throw new Error(`consent: ${consent.status}`);
  }
  return tokens;
}

export interface Result {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
}

/**
 * What the query route's process runs with in this suite: as under load in production, with the
 * per-user rate limit on at a limit no bench shopper reaches (API_UNDER_LOAD, shared with the
 * scale suites, keeps it off).
 */
export const API_AS_PRODUCTION: Record<string, string> = { ...API_UNDER_LOAD, QUERY_RATE_LIMIT_PER_MINUTE: '1000000' };

/**
 * Connection i sends as shopper i and asks question i (each modulo its list). `withKeys`: every
 * other request of each connection carries an `Idempotency-Key` of its own (a fresh UUID).
 */
export async function load(url: string, tokens: string[], extra: Record<string, string>, bodies: string[], withKeys = false, seconds = DURATION_S): Promise<Result> {
  let next = 0;
  const headersOf = (token: string) => ({ Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...extra });
  const r = await autocannon({
    url,
    method: 'POST',
    headers: headersOf(tokens[0]!),
    body: bodies[0],
    connections: CONNECTIONS,
    duration: seconds,
    setupClient: (client) => {
      const i = next++;
      const headers = headersOf(tokens[i % tokens.length]!);
      const body = bodies[i % bodies.length]!;
      if (!withKeys) {
        client.setHeaders(headers);
        client.setBody(body);
        return;
      }
      // Requests alternate: one as it is, one rebuilt with a new key each time it is sent.
      client.setRequests([
        { headers, body },
        { headers, body, setupRequest: (req) => ({ ...req, headers: { ...req.headers, 'Idempotency-Key': randomUUID() } }) },
      ]);
    },
  });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx };
}

const suite: BenchSuite = {
  name: 'http',
  async run(): Promise<BenchRow[]> {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'shopassist-bench-'));
    const app = await startProcess(['src/main.ts'], {
      ...API_AS_PRODUCTION,
      STORAGE_BACKEND: process.env.BENCH_HTTP_STORAGE ?? 'postgres',
      CACHE_BACKEND: process.env.BENCH_HTTP_CACHE ?? 'postgres',
      ...(process.env.BENCH_HTTP_CONVERSATIONS ? { CONVERSATION_BACKEND: process.env.BENCH_HTTP_CONVERSATIONS } : {}),
      DATA_DIR: dataDir,
      ...(SERVER_URL ? { DATABASE_URL: SERVER_URL } : {}),
    }).catch((err: unknown) => {
      rmSync(dataDir, { recursive: true, force: true });
      throw err;
    });
    const base = `http://127.0.0.1:${app.port}`;
    try {
      const tokens = await consentedShoppers(base, 'bench');
      const auth = { Authorization: `Bearer ${tokens[0]}`, 'Content-Type': 'application/json' };
      const first = await fetch(`${base}/api/v1/assistant/query`, { method: 'POST', headers: auth, body: JSON.stringify(QUERY) });
      if (!first.ok) throw new Error(`query: ${first.status} ${await first.text()}`);
      const sample = await first.json();

      const bare = await startProcess(['bench/bare-server.ts'], { BARE_BODY: JSON.stringify(sample) });
      try {
        const body = JSON.stringify(QUERY);
        const url = `${base}/api/v1/assistant/query`;
        const bareResult = await load(`http://127.0.0.1:${bare.port}/api/v1/assistant/query`, tokens, {}, [body]);
        const cached = await load(url, tokens, {}, [body], true);
        const fresh = await load(url, tokens, { 'Cache-Control': 'no-cache' }, FRESH_QUESTIONS, true);
        const freshOneShopper = await load(url, tokens.slice(0, 1), { 'Cache-Control': 'no-cache' }, FRESH_QUESTIONS);
        const row = (name: string, r: Result): BenchRow => ({
          route: name,
          'req/s': Math.round(r.rps),
          'p50 ms': r.p50,
          'p99 ms': r.p99,
          'non-2xx': r.non2xx,
          'req/s vs bare': Number((r.rps / bareResult.rps).toFixed(2)),
          'p99 vs bare': Number((r.p99 / Math.max(1, bareResult.p99)).toFixed(2)),
        });
        return [
          row('bare Express route', bareResult),
          row('query: cached answer', cached),
          row('query: fresh catalog answer', fresh),
          row('fresh, one shopper on all connections (reference)', freshOneShopper),
        ];
      } finally {
        await stop(bare.child);
      }
    } finally {
      await stop(app.child);
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};

export default suite;
