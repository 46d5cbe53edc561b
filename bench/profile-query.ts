/**
 * `npx tsx bench/profile-query.ts`: profiles the query route under the http suite's load, one
 * row at a time (PROFILE_ROWS, default `bare,cached,fresh`). Each row gets an API process of its
 * own on a fresh database (created on BENCH_DATABASE_URL's / TEST_DATABASE_URL's server, dropped
 * afterwards), run with `--cpu-prof` and bench/statement-timing.ts preloaded, set up as the http
 * suite sets it up (50 shoppers with consent, the rate limit on, keys on half the requests) and
 * loaded for BENCH_HTTP_SECONDS by the same autocannon helper. Prints, per row, requests/s, the
 * ten functions with the most self time (by function and file) and the statements by total time
 * (calls, mean ms), as Markdown; the .cpuprofile files stay in PROFILE_DIR (default a new
 * directory under the system's tmp) for Chrome DevTools or speedscope.
 *
 * PROFILE_AS_BEFORE=true measures the route as the http suite did before it ran as production
 * does: the rate limit off and no Idempotency-Key, for comparison.
 *
 * PROFILE_CATALOG_PRODUCTS=<n> answers from the first n products of the generated catalog
 * (`catalog/generated/products-100000.json`, `npm run catalog:generate -- --products 100000`)
 * instead of the bundled one, seeded into the fresh database at start, so the fresh row can be
 * profiled at 1k and at 100k products (the catalog-scale suite's sizes).
 *
 * PROFILE_STORAGE=embedded runs the API process on the embedded database instead (no
 * DATABASE_URL: PGlite in the API's own process, files under a temporary DATA_DIR), with
 * bench/pglite-timing.ts preloaded: it adds the time spent inside PostgreSQL (PGlite's backend) by
 * wire-protocol message, and the busy time by area (PostgreSQL, socket server, `pg`, the rest).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { withFreshDatabase } from './fresh-database.js';
import { API_AS_PRODUCTION, API_UNDER_LOAD, CONNECTIONS, consentedShoppers, DURATION_S, FRESH_QUESTIONS, load, QUERY, startProcess, stop } from './http.bench.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SERVER_URL = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL;
const EMBEDDED = process.env.PROFILE_STORAGE === 'embedded';
if (!SERVER_URL && !EMBEDDED) throw new Error('BENCH_DATABASE_URL or TEST_DATABASE_URL: the PostgreSQL server to make the profile databases on');
const ROWS = (process.env.PROFILE_ROWS ?? 'bare,cached,fresh').split(',');
const AS_BEFORE = process.env.PROFILE_AS_BEFORE === 'true';
const OUT = process.env.PROFILE_DIR ?? mkdtempSync(path.join(tmpdir(), 'shopassist-profile-'));
const CATALOG_PRODUCTS = process.env.PROFILE_CATALOG_PRODUCTS ? Number(process.env.PROFILE_CATALOG_PRODUCTS) : undefined;

/** The first `n` products of the generated catalog, as a catalog file in `dir`. */
function generatedSlice(dir: string, n: number): string {
  const source = path.join(ROOT, 'catalog', 'generated', 'products-100000.json');
  if (!existsSync(source)) throw new Error(`${source} is missing: npm run catalog:generate -- --products 100000`);
  const { products } = JSON.parse(readFileSync(source, 'utf8')) as { products: unknown[] };
  const file = path.join(dir, `products-${n}.json`);
  writeFileSync(file, JSON.stringify({ products: products.slice(0, n) }));
  return file;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  /** µs on the system's monotonic clock, as process.hrtime reads it in any process. */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Now on the monotonic clock a profile's timestamps use, in µs. */
const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

/**
 * Self time per function (name, file and line), in ms, largest first, of the samples taken within
 * `window` (µs, monotonic; the whole profile when unset); `(idle)` is left out and reported apart.
 */
export function selfTimes(profile: CpuProfile, window?: [number, number]): { frames: { frame: string; ms: number; share: number }[]; busyMs: number; idleMs: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  let idleMs = 0;
  let busyMs = 0;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    if (window && (at < window[0] || at > window[1])) return;
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const f = byId.get(id)!.callFrame;
    if (f.functionName === '(idle)') {
      idleMs += ms;
      return;
    }
    busyMs += ms;
    const file = f.url.replace(/^file:\/\//, '').replace(`${ROOT}/`, '');
    const frame = file ? `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}` : f.functionName;
    totals.set(frame, (totals.get(frame) ?? 0) + ms);
  });
  const frames = [...totals]
    .map(([frame, ms]) => ({ frame, ms, share: ms / busyMs }))
    .sort((a, b) => b.ms - a.ms);
  return { frames, busyMs, idleMs };
}

/** The database's commits and row changes so far, and the server's WAL flushes (every database's). */
async function databaseStats(url: string): Promise<{ commits: number; walSyncs: number; rows: Map<string, number> }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    // The statistics a transaction reads are a snapshot taken at its first read: read them afresh.
    await c.query('SELECT pg_stat_clear_snapshot()');
    const db = await c.query<{ commits: string; wal_syncs: string }>(
      'SELECT xact_commit AS commits, (SELECT wal_sync FROM pg_stat_wal) AS wal_syncs FROM pg_stat_database WHERE datname = current_database()',
    );
    const tables = await c.query<{ relname: string; changed: string }>('SELECT relname, n_tup_ins + n_tup_upd + n_tup_del AS changed FROM pg_stat_user_tables');
    return {
      commits: Number(db.rows[0]!.commits),
      walSyncs: Number(db.rows[0]!.wal_syncs),
      rows: new Map(tables.rows.map((r) => [r.relname, Number(r.changed)])),
    };
  } finally {
    await c.end();
  }
}

function shoppers(base: string): Promise<string[]> {
  return consentedShoppers(base, 'profile');
}

/**
 * The main thread's profile of the run: every thread writes one (tsx's module loader runs in a
 * thread of its own), and the main thread is the one that served the requests, with the most
 * busy samples.
 */
function mainThreadProfile(dir: string, before: Set<string>): CpuProfile {
  return threadProfiles(dir, before)[0]!;
}

/** Every thread's profile of the run, the busiest first. */
function threadProfiles(dir: string, before: Set<string>): CpuProfile[] {
  const written = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile') && !before.has(f))
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as CpuProfile);
  if (written.length === 0) throw new Error(`no .cpuprofile written in ${dir}`);
  return written
    .map((p) => ({ p, busy: selfTimes(p).busyMs }))
    .sort((a, b) => b.busy - a.busy)
    .map(({ p }) => p);
}

/**
 * Busy time by area, from each sample's frame: PostgreSQL itself (WebAssembly frames, PGlite's
 * backend), PGlite's JavaScript, its socket server, `pg`, Sequelize, the garbage collector, and
 * the rest (the API, Express, Node).
 */
export function areaOf(frame: string): string {
  if (frame.startsWith('(garbage collector)')) return 'garbage collector';
  if (/wasm|^\$|^js-to-wasm|^wasm-to-js/.test(frame)) return 'PostgreSQL (WebAssembly)';
  if (frame.includes('@electric-sql/pglite-socket') || frame.includes('pglite-socket-queue')) return 'socket server';
  if (frame.includes('@electric-sql/pglite')) return 'PGlite JavaScript';
  if (/node_modules\/(pg|pg-protocol|pg-pool|pg-types)\//.test(frame)) return 'pg (client)';
  if (frame.includes('node_modules/sequelize/')) return 'Sequelize';
  if (/^(writev|writeBuffer|writeUtf8String|writeString|readStream|onStreamRead) /.test(frame) || /^(writev|writeBuffer|writeUtf8String|writeString)$/.test(frame))
    return 'socket writes and reads (both ends)';
  return 'API, Express, Node and the rest';
}

async function profileRow(row: string): Promise<void> {
  const profiled = ['--cpu-prof', `--cpu-prof-dir=${OUT}`];
  const before = new Set(readdirSync(OUT));
  const timingFile = path.join(OUT, `${row}-statements.json`);
  const pgliteFile = path.join(OUT, `${row}-pglite.json`);
  const load1 = loadavg()[0]!;
  let rps = 0;
  let non2xx = 0;
  let window: [number, number] = [0, 0];
  let stats: { requests: number; commits: number; walSyncs: number; rows: [string, number][] } | undefined;
  const onDatabase = (run: (url?: string) => Promise<void>) => (EMBEDDED ? run() : withFreshDatabase(SERVER_URL!, 'shopassist_profile', run));
  await onDatabase(async (url) => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'shopassist-profile-data-'));
    try {
      const preload = ['--import', './bench/statement-timing.ts', ...(EMBEDDED ? ['--import', './bench/pglite-timing.ts'] : [])];
      const app = await startProcess([...preload, ...(row === 'bare' ? [] : profiled), 'src/main.ts'], {
        ...(AS_BEFORE ? API_UNDER_LOAD : API_AS_PRODUCTION),
        STORAGE_BACKEND: 'postgres',
        CACHE_BACKEND: 'postgres',
        CONVERSATION_BACKEND: process.env.BENCH_HTTP_CONVERSATIONS ?? 'postgres',
        DATA_DIR: dataDir,
        ...(CATALOG_PRODUCTS ? { CATALOG_PATH: generatedSlice(dataDir, CATALOG_PRODUCTS) } : {}),
        ...(url ? { DATABASE_URL: url } : {}),
        STATEMENT_TIMING_FILE: timingFile,
        PGLITE_TIMING_FILE: pgliteFile,
      });
      const base = `http://127.0.0.1:${app.port}`;
      try {
        const tokens = await shoppers(base);
        const first = await fetch(`${base}/api/v1/assistant/query`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${tokens[0]}`, 'Content-Type': 'application/json' },
          body: JSON.stringify(QUERY),
        });
        if (!first.ok) throw new Error(`query: ${first.status}`);
        const sample = await first.text();
        if (row === 'bare') {
          const bare = await startProcess([...profiled, 'bench/bare-server.ts'], { BARE_BODY: sample });
          try {
            window = [monotonicUs(), 0];
            ({ rps, non2xx } = await load(`http://127.0.0.1:${bare.port}/api/v1/assistant/query`, tokens, {}, [JSON.stringify(QUERY)]));
            window[1] = monotonicUs();
          } finally {
            await stop(bare.child);
          }
        } else {
          const target = `${base}/api/v1/assistant/query`;
          const before = url ? await databaseStats(url) : undefined;
          window = [monotonicUs(), 0];
          const r =
            row === 'cached'
              ? await load(target, tokens, {}, [JSON.stringify(QUERY)], !AS_BEFORE)
              : await load(target, tokens, { 'Cache-Control': 'no-cache' }, FRESH_QUESTIONS, !AS_BEFORE);
          window[1] = monotonicUs();
          ({ rps, non2xx } = r);
          const after = url ? await databaseStats(url) : undefined;
          if (before && after) stats = {
            requests: Math.round(r.rps * DURATION_S),
            commits: after.commits - before.commits,
            walSyncs: after.walSyncs - before.walSyncs,
            rows: [...after.rows].map(([table, n]): [string, number] => [table, n - (before.rows.get(table) ?? 0)]).filter(([, n]) => n > 0),
          };
        }
      } finally {
        await stop(app.child);
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
  const { frames, busyMs, idleMs } = selfTimes(mainThreadProfile(OUT, before), window);
  console.log(`\n### ${row}: ${Math.round(rps)} req/s, ${non2xx} non-2xx, ${DURATION_S} s, load average ${load1.toFixed(2)} → ${loadavg()[0]!.toFixed(2)}`);
  console.log(`\nCPU while loaded: ${Math.round(busyMs)} ms busy, ${Math.round(idleMs)} ms idle in the profiled process's busiest thread (its main thread, or the embedded database's).\n`);
  console.log('| self ms | share of busy | function and file |\n|---:|---:|---|');
  for (const f of frames.slice(0, 10)) console.log(`| ${Math.round(f.ms)} | ${(f.share * 100).toFixed(1)} % | \`${f.frame}\` |`);
  if (EMBEDDED && row !== 'bare') {
    // The main thread's areas, then those of the database's thread when PGlite runs on one of its own.
    const threads = threadProfiles(OUT, before).map((p) => selfTimes(p, window));
    const wasmShare = (t: (typeof threads)[number]) => t.frames.filter((f) => areaOf(f.frame) === 'PostgreSQL (WebAssembly)').reduce((n, f) => n + f.ms, 0) / t.busyMs;
    // PGlite on a thread of its own: the thread whose time is mostly PostgreSQL's; the main thread the busiest other.
    const dbThread = threads.find((t) => wasmShare(t) > 0.3 && threads.some((o) => o !== t && o.busyMs > 0.2 * t.busyMs && wasmShare(o) < 0.05));
    const main = threads.find((t) => t !== dbThread)!;
    for (const [name, t] of [['main thread', main], ...(dbThread ? [['database thread', dbThread] as const] : [])] as const) {
      const areas = new Map<string, number>();
      for (const f of t.frames) areas.set(areaOf(f.frame), (areas.get(areaOf(f.frame)) ?? 0) + f.ms);
      console.log(`\n${name}: ${Math.round(t.busyMs)} ms busy, ${Math.round(t.idleMs)} ms idle\n\n| area | self ms | share of busy |\n|---|---:|---:|`);
      for (const [area, ms] of [...areas].sort((a, b) => b[1] - a[1])) console.log(`| ${area} | ${Math.round(ms)} | ${((ms / t.busyMs) * 100).toFixed(1)} % |`);
    }
    const calls = Object.entries(JSON.parse(existsSync(pgliteFile) ? readFileSync(pgliteFile, 'utf8') : '{}') as Record<string, { calls: number; totalMs: number; bytesIn: number }>).sort((a, b) => b[1].totalMs - a[1].totalMs);
    const inside = calls.reduce((sum, [, t]) => sum + t.totalMs, 0);
    if (calls.length > 0) {
      console.log(`\nInside PGlite's backend (the whole run, set-up included): ${Math.round(inside)} ms in ${calls.reduce((n, [, t]) => n + t.calls, 0)} calls.\n`);
      console.log('| message | calls | mean ms | total ms |\n|---|---:|---:|---:|');
      for (const [type, t] of calls) console.log(`| ${type} | ${t.calls} | ${(t.totalMs / t.calls).toFixed(3)} | ${Math.round(t.totalMs)} |`);
    }
  }
  if (stats) {
    const per = (n: number) => (n / stats!.requests).toFixed(2);
    console.log(
      `\nDatabase while loaded, per request (≈${stats.requests} requests): ${per(stats.commits)} commits, ${per(stats.walSyncs)} WAL flushes (the whole server's, other databases included); rows changed: ${stats.rows.map(([t, n]) => `${t} ${per(n)}`).join(', ')}`,
    );
  }
  if (row === 'bare') return;
  const timings = Object.entries(JSON.parse(readFileSync(timingFile, 'utf8')) as Record<string, { calls: number; totalMs: number }>)
    .map(([statement, t]) => ({ statement, ...t }))
    .sort((a, b) => b.totalMs - a.totalMs);
  console.log('\n| statement | calls | mean ms (client side) | total ms |\n|---|---:|---:|---:|');
  for (const t of timings.slice(0, 12)) {
    console.log(`| \`${t.statement.replace(/\|/g, '\\|')}\` | ${t.calls} | ${(t.totalMs / t.calls).toFixed(2)} | ${Math.round(t.totalMs)} |`);
  }
}

console.log(`Profiles in ${OUT}; ${EMBEDDED ? 'embedded database; ' : ''}${CATALOG_PRODUCTS ? `${CATALOG_PRODUCTS} generated products; ` : ''}${CONNECTIONS} connections; ${AS_BEFORE ? 'rate limit off, no keys' : 'rate limit on, keys on half the requests'}.`);
for (const row of ROWS) await profileRow(row);
process.exit(0);
