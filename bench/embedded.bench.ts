/**
 * The embedded PostgreSQL (`npm start` without DATABASE_URL: PGlite behind its socket server, in
 * the API's own process, files under DATA_DIR) against the PostgreSQL server
 * (BENCH_DATABASE_URL / TEST_DATABASE_URL), in one run:
 *
 * - charges/s and p50/p99 at 32 in flight of the PostgreSQL credit repository on each, its pool
 *   as the app sizes it (EMBEDDED_POOL_MAX on the embedded one), rounds interleaved (the
 *   credits suite's helpers). Target: embedded ≥ 0.2× the server. For reference, the bare
 *   charge statement on each (one charge a statement, where the repository batches concurrent
 *   ones): the cost of one statement through the embedded database's single backend.
 * - the query route's cached answer over HTTP (the http suite's load: 50 connections, a shopper
 *   each, rate limit on, a key on half the requests) with an API process on embedded storage,
 *   beside the bare Express route. Target: ≥ 0.3× the bare route's requests/s. For reference, the
 *   same cached answer on the server and a fresh answer on embedded storage.
 *
 * Needs the server for the server rows (each gets a fresh database, dropped afterwards); without
 * one only the embedded rows run. BENCH_HTTP_SECONDS sets each HTTP row's length.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { connectionOptions, EMBEDDED_POOL_MAX } from '../src/platform/db.js';
import { startEmbeddedPostgres } from '../src/platform/embedded-postgres.js';
import { bareChargeOn, benchUsers, charge, compare, creditRepositoryOn, IN_FLIGHT, ms, USERS } from './credits.bench.js';
import { withFreshDatabase } from './fresh-database.js';
import { API_AS_PRODUCTION, CONNECTIONS, consentedShoppers, DURATION_S, FRESH_QUESTIONS, load, QUERY, startProcess, stop, type Result } from './http.bench.js';
import type { BenchRow, BenchSuite } from './run.js';

const SERVER_URL = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || undefined;

/** Runs `run` with a temporary DATA_DIR, removed afterwards. */
async function withDataDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(tmpdir(), 'shopassist-bench-embedded-'));
  try {
    return await run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function creditRows(): Promise<BenchRow[]> {
  return withDataDir(async (dataDir) => {
    const embedded = await startEmbeddedPostgres({ dataDir });
    try {
      const onEmbedded = await creditRepositoryOn(embedded.url, EMBEDDED_POOL_MAX);
      try {
        // The bare statement too, one charge a statement (the repository batches concurrent charges):
        // what a statement costs on each, one at a time through the embedded database's one backend.
        const pools: pg.Pool[] = [];
        const bare = (url: string, max: number) => {
          const pool = new pg.Pool({ connectionString: url, ...connectionOptions(onEmbedded.settings), max });
          pools.push(pool);
          return bareChargeOn(pool);
        };
        const run = async (server?: Awaited<ReturnType<typeof creditRepositoryOn>>, serverUrl?: string) => {
          const contenders: Record<string, (userId: string) => Promise<unknown>> = { embedded: charge(onEmbedded.repo) };
          if (server) contenders.server = charge(server.repo);
          contenders['embedded, bare statement'] = bare(embedded.url, EMBEDDED_POOL_MAX);
          if (server && serverUrl) contenders['server, bare statement'] = bare(serverUrl, server.poolMax);
          try {
            return await compare(contenders, benchUsers());
          } finally {
            await Promise.all(pools.splice(0).map((p) => p.end()));
          }
        };
        let serverPool = 0;
        const m = SERVER_URL
          ? await withFreshDatabase(SERVER_URL, 'shopassist_bench', async (url) => {
              const onServer = await creditRepositoryOn(url, 0);
              serverPool = onServer.poolMax;
              try {
                return await run(onServer, url);
              } finally {
                await onServer.close();
              }
            })
          : await run();
        const row = (name: string, pool: number, ratio: string): BenchRow => ({
          row: `credits: ${name.includes('bare') ? '' : 'charge on '}${name} (pool ${pool})`,
          'per s': Math.round(m[name]!.perSecond),
          'p50 ms': ms(m[name]!.p50),
          'p99 ms': ms(m[name]!.p99),
          ratio,
        });
        const rows: BenchRow[] = [];
        if (m.server) {
          rows.push(row('embedded', EMBEDDED_POOL_MAX, `${(m.embedded!.perSecond / m.server!.perSecond).toFixed(2)}× server (target ≥ 0.2×)`));
          rows.push(row('server', serverPool, '1.00×'));
          rows.push(row('embedded, bare statement', EMBEDDED_POOL_MAX, `${(m['embedded, bare statement']!.perSecond / m['server, bare statement']!.perSecond).toFixed(2)}× server's (reference)`));
          rows.push(row('server, bare statement', serverPool, '1.00×'));
        } else {
          rows.push(row('embedded', EMBEDDED_POOL_MAX, '(no server to compare)'));
          rows.push(row('embedded, bare statement', EMBEDDED_POOL_MAX, '(reference)'));
        }
        rows.push({ row: `(${IN_FLIGHT} in flight, ${USERS} users, best of 3 interleaved rounds)`, 'per s': '', 'p50 ms': '', 'p99 ms': '', ratio: '' });
        return rows;
      } finally {
        await onEmbedded.close();
      }
    } finally {
      await embedded.stop();
    }
  });
}

/** An API process on `storage` ('embedded' or a database URL) with everything in PostgreSQL. */
async function withApi<T>(storage: string, run: (base: string, tokens: string[]) => Promise<T>): Promise<T> {
  return withDataDir(async (dataDir) => {
    const app = await startProcess(['src/main.ts'], {
      ...API_AS_PRODUCTION,
      STORAGE_BACKEND: 'postgres',
      CACHE_BACKEND: 'postgres',
      CONVERSATION_BACKEND: 'postgres',
      DATA_DIR: dataDir,
      ...(storage === 'embedded' ? {} : { DATABASE_URL: storage }),
    });
    try {
      const base = `http://127.0.0.1:${app.port}`;
      const tokens = await consentedShoppers(base, 'bench-embedded');
      return await run(base, tokens);
    } finally {
      await stop(app.child);
    }
  });
}

async function firstAnswer(base: string, token: string): Promise<string> {
  const r = await fetch(`${base}/api/v1/assistant/query`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(QUERY),
  });
  if (!r.ok) throw new Error(`query: ${r.status} ${await r.text()}`);
  return r.text();
}

async function httpRows(): Promise<BenchRow[]> {
  const body = JSON.stringify(QUERY);
  const results: Record<string, Result> = {};
  await withApi('embedded', async (base, tokens) => {
    const sample = await firstAnswer(base, tokens[0]!);
    const bare = await startProcess(['bench/bare-server.ts'], { BARE_BODY: sample });
    try {
      const url = `${base}/api/v1/assistant/query`;
      results.bare = await load(`http://127.0.0.1:${bare.port}/api/v1/assistant/query`, tokens, {}, [body]);
      results.embedded = await load(url, tokens, {}, [body], true);
      results.fresh = await load(url, tokens, { 'Cache-Control': 'no-cache' }, FRESH_QUESTIONS, true);
    } finally {
      await stop(bare.child);
    }
  });
  if (SERVER_URL) {
    await withFreshDatabase(SERVER_URL, 'shopassist_bench', (url) =>
      withApi(url, async (base, tokens) => {
        await firstAnswer(base, tokens[0]!);
        results.server = await load(`${base}/api/v1/assistant/query`, tokens, {}, [body], true);
      }),
    );
  }
  const bare = results.bare!;
  const row = (name: string, r: Result, target = ''): BenchRow => ({
    row: name,
    'per s': Math.round(r.rps),
    'p50 ms': r.p50,
    'p99 ms': r.p99,
    ratio: `${(r.rps / bare.rps).toFixed(2)}× bare${target}, p99 ${(r.p99 / Math.max(1, bare.p99)).toFixed(2)}×${r.non2xx ? `, ${r.non2xx} non-2xx` : ''}`,
  });
  return [
    row('http: bare Express route', bare),
    row('http: cached answer, embedded storage', results.embedded!, ' (target ≥ 0.3×)'),
    ...(results.server ? [row('http: cached answer, server storage (reference)', results.server)] : []),
    row('http: fresh answer, embedded storage (reference)', results.fresh!),
    { row: `(${CONNECTIONS} connections, ${DURATION_S} s a row, rate limit on, keys on half the requests)`, 'per s': '', 'p50 ms': '', 'p99 ms': '', ratio: '' },
  ];
}

const suite: BenchSuite = {
  name: 'embedded',
  async run() {
    return [...(await creditRows()), ...(await httpRows())];
  },
};
export default suite;
