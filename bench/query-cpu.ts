/**
 * CPU per request of the query route, the steadier figure on a shared machine (`npx tsx
 * bench/query-cpu.ts`, Linux: it reads /proc): an API process on a fresh database of
 * BENCH_DATABASE_URL's (else TEST_DATABASE_URL's) server, loaded as the http suite loads it
 * (50 shoppers, BENCH_HTTP_SECONDS a row), and the process's CPU time (user + system, from
 * /proc/<pid>/stat) over the row divided by the requests served; the bare Express route's the
 * same way. Requests/s and the ratio to the bare route are printed beside it, and move with
 * whatever else runs on the machine far more than the CPU per request does.
 *
 * By default the route runs as PROFILE_AS_BEFORE runs it (rate limit off, no Idempotency-Key):
 * the request's own work, with the database's share at one batched statement per event-loop
 * turn. QUERY_CPU_AS_PRODUCTION=true runs it as the http suite does (rate limit on, keys on
 * half the requests).
 *
 * BENCH_COMPARE_WITH=<another checkout>: runs that checkout's API (its own src/ and bench
 * helpers) in alternation with this one, QUERY_CPU_ROUNDS (default 2) rounds each.
 * QUERY_CPU_ROWS picks the rows (default bare,cached,fresh).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as freshDatabase from './fresh-database.js';
import type * as httpBench from './http.bench.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SERVER_URL = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL;
if (!SERVER_URL) throw new Error('BENCH_DATABASE_URL or TEST_DATABASE_URL: the PostgreSQL server to make the databases on');
const ROWS = (process.env.QUERY_CPU_ROWS ?? 'bare,cached,fresh').split(',');
const AS_PRODUCTION = process.env.QUERY_CPU_AS_PRODUCTION === 'true';
const OTHER = process.env.BENCH_COMPARE_WITH ? path.resolve(process.env.BENCH_COMPARE_WITH) : undefined;
const ROUNDS = Number(process.env.QUERY_CPU_ROUNDS ?? (OTHER ? 2 : 1));
/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
const TICKS_PER_S = 100;

type HttpBench = typeof httpBench;
type FreshDatabase = typeof freshDatabase;

/** The process's CPU time so far (user + system), in ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_S;
}

/** One checkout's rows: its API process and bench helpers, on a fresh database. */
async function measure(checkout: string): Promise<void> {
  const h = (await import(pathToFileURL(path.join(checkout, 'bench/http.bench.ts')).href)) as HttpBench;
  const { withFreshDatabase } = (await import(pathToFileURL(path.join(checkout, 'bench/fresh-database.ts')).href)) as FreshDatabase;
  await withFreshDatabase(SERVER_URL!, 'shopassist_query_cpu', async (url) => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'shopassist-query-cpu-'));
    const app = await h.startProcess(['src/main.ts'], {
      ...(AS_PRODUCTION ? h.API_AS_PRODUCTION : h.API_UNDER_LOAD),
      STORAGE_BACKEND: 'postgres',
      CACHE_BACKEND: 'postgres',
      CONVERSATION_BACKEND: 'postgres',
      DATA_DIR: dataDir,
      DATABASE_URL: url,
    });
    const base = `http://127.0.0.1:${app.port}`;
    try {
      const tokens = await h.consentedShoppers(base, 'cpu');
      const first = await fetch(`${base}/api/v1/assistant/query`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${tokens[0]}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(h.QUERY),
      });
      if (!first.ok) throw new Error(`query: ${first.status}`);
      const sample = await first.text();
      let bareRps: number | undefined;
      for (const row of ROWS) {
        const bare = row === 'bare' ? await h.startProcess(['bench/bare-server.ts'], { BARE_BODY: sample }) : undefined;
        const pid = (bare ?? app).child.pid!;
        const target = `http://127.0.0.1:${bare ? bare.port : app.port}/api/v1/assistant/query`;
        try {
          const load1 = loadavg()[0]!;
          const before = cpuMs(pid);
          const r =
            row === 'fresh'
              ? await h.load(target, tokens, { 'Cache-Control': 'no-cache' }, h.FRESH_QUESTIONS, AS_PRODUCTION)
              : await h.load(target, tokens, {}, [JSON.stringify(h.QUERY)], row === 'cached' && AS_PRODUCTION);
          const used = cpuMs(pid) - before;
          if (row === 'bare') bareRps = r.rps;
          const ratio = bareRps ? ` (${(r.rps / bareRps).toFixed(2)}× bare)` : '';
          const perRequest = (used * 1000) / (r.rps * h.DURATION_S);
          console.log(
            `| ${path.basename(checkout)} | ${row} | ${Math.round(r.rps)}${ratio} | ${r.p99} | ${Math.round(perRequest)} | ${load1.toFixed(1)} |`,
          );
        } finally {
          if (bare) await h.stop(bare.child);
        }
      }
    } finally {
      await h.stop(app.child);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
}

const checkouts = OTHER ? [OTHER, ROOT] : [ROOT];
for (const checkout of checkouts) if (!existsSync(path.join(checkout, 'bench/http.bench.ts'))) throw new Error(`${checkout}: no bench/http.bench.ts`);
console.log(`${AS_PRODUCTION ? 'As production (rate limit on, keys on half)' : 'Rate limit off, no keys'}; ${ROUNDS} round(s).\n`);
console.log('| checkout | row | req/s | p99 ms | CPU µs per request | load average |\n|---|---|---:|---:|---:|---:|');
for (let round = 0; round < ROUNDS; round++) for (const checkout of checkouts) await measure(checkout);
