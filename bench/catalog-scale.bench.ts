/**
 * The catalog at shop scale, on the generated catalog (`npm run catalog:generate -- --products
 * 100000`, made here when missing), cut to its first 1k, 10k and 100k products:
 *
 * 1. Search engines side by side: the in-process index (src/assistant/catalog, as the provider runs
 *    it) and PostgreSQL full-text search (a weighted `tsvector` with a GIN index, `pg_trgm` for
 *    typos when no word matches). Per size: build time, memory (the process heap for the index;
 *    the table and index size for PostgreSQL), p50/p99 per search over the judged questions
 *    (bench/catalog-questions.ts; 25 rounds after 5 of warm-up in process, 5 after 1 for
 *    PostgreSQL), and relevance (precision of the first 5 results).
 * 2. The live pipeline in real API processes: the upload of the whole catalog through
 *    PUT /api/v1/admin/catalog (seconds, the process's peak RSS), then the query route's fresh
 *    answer against the bare route at 1k and at 100k products (two processes, one per size):
 *    the bare route before and after, and between them BENCH_PIPELINE_ROUNDS rounds (8) of
 *    BENCH_PIPELINE_SECONDS (5) per size, which size goes first alternating; the ratio at 100k
 *    against the ratio at 1k is the median of the rounds' ratios, with their spread; beside it,
 *    the same from each API process's CPU time per answer (Linux), which other work on a shared
 *    machine moves less than the rate.
 *    Targets: search p50 < 1 ms at 100k; the fresh answer's req/s ratio to the bare route at 100k
 *    within 20 % of its ratio at 1k.
 *
 * Settings: BENCH_DATABASE_URL / TEST_DATABASE_URL (a fresh database is made there and dropped),
 * else an embedded PostgreSQL; BENCH_CATALOG_SIZES (default 1000,10000,100000).
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import pg from 'pg';
import { makeCatalog, catalogHash, type CatalogProduct } from '../src/assistant/catalog/catalog.js';
import { CatalogSearch } from '../src/assistant/catalog/catalog-search.js';
import { parseQueryHints } from '../src/assistant/catalog/query-hints.js';
import { termsOf } from '../src/assistant/catalog/terms.js';
import { startEmbeddedPostgres } from '../src/platform/embedded-postgres.js';
import { JUDGED_QUESTIONS, precisionAt } from './catalog-questions.js';
import { API_UNDER_LOAD, AUTH_SECRET, DURATION_S, FRESH_QUESTIONS, load, startProcess, stop, type Result } from './http.bench.js';
import type { BenchRow, BenchSuite } from './run.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LARGEST = 100_000;
const SIZES = (process.env.BENCH_CATALOG_SIZES ?? '1000,10000,100000').split(',').map(Number);
const ROUNDS = 5;
const IN_PROCESS_ROUNDS = 25;
const ADMIN_KEY = 'bench-operator-key-0123456789';

function generatedCatalog(): { file: string; products: CatalogProduct[] } {
  const file = path.join(ROOT, 'catalog', 'generated', `products-${LARGEST}.json`);
  if (!existsSync(file)) execFileSync(process.execPath, ['--import', 'tsx', 'scripts/generate-catalog.ts', '--products', String(LARGEST)], { cwd: ROOT, stdio: 'inherit' });
  const data = JSON.parse(readFileSync(file, 'utf8')) as { products: (Omit<CatalogProduct, 'inStock'> & { inStock?: boolean })[] };
  return { file, products: data.products.map((p) => ({ ...p, inStock: p.inStock ?? true })) };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
const ms = (n: number) => Number(n.toFixed(n < 10 ? 3 : 1));

/** p50/p99 over `rounds` of the judged questions, after `warmUp` unmeasured rounds. */
async function timeSearches(search: (q: string) => Promise<unknown> | unknown, rounds = ROUNDS, warmUp = 1): Promise<{ p50: number; p99: number }> {
  for (let r = 0; r < warmUp; r++) for (const q of JUDGED_QUESTIONS) await search(q.query);
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const q of JUDGED_QUESTIONS) {
      const started = performance.now();
      await search(q.query);
      times.push(performance.now() - started);
    }
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99) };
}

/** The heap and the typed arrays' buffers, after a collection when `node --expose-gc` allows one. */
function heapMb(): number {
  (globalThis as { gc?: () => void }).gc?.();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return (heapUsed + arrayBuffers) / 1e6;
}

async function inProcessRow(products: CatalogProduct[]): Promise<BenchRow> {
  const before = heapMb();
  const catalog = makeCatalog(products, catalogHash(products), 'bench');
  const started = performance.now();
  const search = await CatalogSearch.build(catalog);
  const buildMs = performance.now() - started;
  const memory = heapMb() - before;
  const relevance = JUDGED_QUESTIONS.reduce((sum, q) => sum + precisionAt(5, q, search.search({ query: q.query, limit: 5 }).hits.map((h) => h.product)), 0) / JUDGED_QUESTIONS.length;
  // A search costs well under a millisecond: more rounds, so the p99 is not one stall of the machine.
  const { p50, p99 } = await timeSearches((q) => search.search({ query: q, limit: 5 }), IN_PROCESS_ROUNDS, 5);
  return { engine: 'in-process index', products: products.length, 'build ms': Math.round(buildMs), 'memory MB': Math.round(memory), 'search p50 ms': ms(p50), 'search p99 ms': ms(p99), 'precision@5': Number(relevance.toFixed(2)) };
}

const PG_SEARCH = `
  SELECT id, name, category, price::float8 AS price, tags FROM bench_products
   WHERE tsv @@ to_tsquery('simple', $1) AND in_stock
     AND ($2::numeric IS NULL OR price <= $2) AND ($3::numeric IS NULL OR price >= $3)
   ORDER BY ts_rank_cd(tsv, to_tsquery('simple', $1)) DESC, rating DESC NULLS LAST, price
   LIMIT 5`;
const PG_TYPO = `
  SELECT id, name, category, price::float8 AS price, tags FROM bench_products
   WHERE name % $1 AND in_stock ORDER BY similarity(name, $1) DESC LIMIT 5`;

/** The question as PostgreSQL searches it: the same words and price hints as the built-in search, any word (OR), prefixes for longer words. */
async function pgSearch(client: pg.Client, query: string): Promise<{ name: string; category: string; price: number; tags: string[] }[]> {
  const hints = parseQueryHints(query);
  const terms = termsOf(hints.text);
  if (terms.length === 0) return [];
  const tsquery = terms.map((t) => (t.length >= 4 ? `${t.replace(/[^\p{L}\p{N}]/gu, '')}:*` : t.replace(/[^\p{L}\p{N}]/gu, ''))).filter((t) => t && t !== ':*').join(' | ');
  const { rows } = await client.query(PG_SEARCH, [tsquery, hints.maxPrice ?? null, hints.minPrice ?? null]);
  if (rows.length > 0) return rows;
  return (await client.query(PG_TYPO, [hints.text])).rows;
}

async function postgresRow(client: pg.Client, products: CatalogProduct[]): Promise<BenchRow> {
  await client.query('DROP TABLE IF EXISTS bench_products');
  await client.query(`CREATE TABLE bench_products (id text PRIMARY KEY, name text, brand text, category text, price numeric(12,2), description text, tags text[], rating float8, in_stock boolean)`);
  const started = performance.now();
  for (let i = 0; i < products.length; i += 2000) {
    const batch = products.slice(i, i + 2000).map((p) => ({ id: p.id, name: p.name, brand: p.brand, category: p.category, price: p.price, description: p.description, tags: p.tags, rating: p.rating ?? null, in_stock: p.inStock }));
    await client.query(
      `INSERT INTO bench_products SELECT r.id, r.name, r.brand, r.category, r.price, r.description, ARRAY(SELECT jsonb_array_elements_text(r.tags)), r.rating, r.in_stock
         FROM jsonb_to_recordset($1::jsonb) AS r(id text, name text, brand text, category text, price numeric, description text, tags jsonb, rating float8, in_stock boolean)`,
      [JSON.stringify(batch)],
    );
  }
  // Name counts most, then tags, category and brand, then the description (as the in-process boosts).
  await client.query('ALTER TABLE bench_products ADD COLUMN tsv tsvector');
  await client.query(`UPDATE bench_products SET tsv =
      setweight(to_tsvector('simple', coalesce(name, '')), 'A') ||
      setweight(to_tsvector('simple', array_to_string(tags, ' ') || ' ' || category || ' ' || brand), 'B') ||
      setweight(to_tsvector('simple', coalesce(description, '')), 'D')`);
  await client.query('CREATE INDEX bench_products_tsv ON bench_products USING gin (tsv)');
  await client.query('CREATE INDEX bench_products_trgm ON bench_products USING gin (name gin_trgm_ops)');
  await client.query('ANALYZE bench_products');
  const buildMs = performance.now() - started;
  const size = Number((await client.query<{ bytes: string }>("SELECT pg_total_relation_size('bench_products') AS bytes")).rows[0]!.bytes) / 1e6;
  let relevance = 0;
  for (const q of JUDGED_QUESTIONS) relevance += precisionAt(5, q, await pgSearch(client, q.query));
  const { p50, p99 } = await timeSearches((q) => pgSearch(client, q));
  return {
    engine: 'PostgreSQL tsvector + pg_trgm',
    products: products.length,
    'build ms': Math.round(buildMs),
    'memory MB': `${Math.round(size)} (in the database)`,
    'search p50 ms': ms(p50),
    'search p99 ms': ms(p99),
    'precision@5': Number((relevance / JUDGED_QUESTIONS.length).toFixed(2)),
  };
}

/** A database of its own for this bench: on the bench server (dropped after) or embedded. */
async function benchDatabase(): Promise<{ url: string; dispose(): Promise<void> }> {
  const server = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL;
  if (!server) {
    const embedded = await startEmbeddedPostgres({ maxConnections: 64 });
    return { url: embedded.url, dispose: () => embedded.stop() };
  }
  const name = `shopassist_bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(server);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async dispose() {
      const c = new pg.Client({ connectionString: server });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Where a long run is (stderr, beside the tables). */
const progress = (what: string) => console.error(`catalog-scale: ${what}…`);

/** The peak resident memory of a process so far (Linux), in MB. */
function peakRssMb(pid: number): number | string {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
    return line ? Math.round(Number(line.replace(/\D+/g, '')) / 1024) : 'n/a';
  } catch {
    return 'n/a';
  }
}

/**
 * CPU seconds (user + system) a process has used so far (Linux, 100 clock ticks a second), or
 * undefined elsewhere.
 */
function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the name: state is field 3, utime 14 and stime 15 (1-based over the whole line).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

async function upload(base: string, file: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(`${base}/api/v1/admin/catalog`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json', 'X-Admin-Key': ADMIN_KEY },
    body: createReadStream(file) as never,
    duplex: 'half',
  } as RequestInit);
  if (!res.ok) throw new Error(`upload: ${res.status} ${(await res.text()).slice(0, 500)}`);
  return (performance.now() - started) / 1000;
}

/**
 * Rounds of the fresh answer at both sizes, alternated (BENCH_PIPELINE_ROUNDS), each size loaded
 * for BENCH_PIPELINE_SECONDS a round: many short rounds, so the machine's drift (other work on a
 * shared machine) lands on both sizes alike and a stalled round moves the median little.
 */
const PIPELINE_ROUNDS = Number(process.env.BENCH_PIPELINE_ROUNDS ?? 8);
const PIPELINE_SECONDS = Number(process.env.BENCH_PIPELINE_SECONDS ?? 5);

/** The median and the quartiles of `values` (linear between neighbours). */
function spread(values: number[]): { median: number; q1: number; q3: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => {
    const i = (sorted.length - 1) * p;
    const lo = Math.floor(i);
    return sorted[lo]! + (sorted[Math.ceil(i)]! - sorted[lo]!) * (i - lo);
  };
  return { median: at(0.5), q1: at(0.25), q3: at(0.75), min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

async function startApi(db: string, dataDir: string, catalogFile: string): Promise<{ child: ChildProcess; port: number; base: string }> {
  mkdirSync(dataDir, { recursive: true });
  const app = await startProcess(['src/main.ts'], { ...API_UNDER_LOAD, ADMIN_API_KEY: ADMIN_KEY, DATABASE_URL: db, DATA_DIR: dataDir, CATALOG_PATH: catalogFile });
  return { ...app, base: `http://127.0.0.1:${app.port}` };
}

/**
 * Two API processes, one answering from the small catalog and one from the largest (uploaded
 * whole), each on a database of its own, and the bare route beside them; then the bare route,
 * rounds of the fresh answer at each size (which size first alternates: 1k, 100k | 100k, 1k | …)
 * and the bare route again. The sizes are compared within each round, seconds apart, so the
 * machine's drift between rounds does not land on one size only; the bare route divides both
 * sizes' rates alike, so a round's ratio of ratios is the rate at 100k over the rate at 1k.
 */
async function pipelineRows(dbs: [string, string], catalogFile: string, small: CatalogProduct[]): Promise<BenchRow[]> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'shopassist-bench-catalog-'));
  const smallFile = path.join(dataDir, 'products-small.json');
  writeFileSync(smallFile, JSON.stringify({ products: small }));
  const apps: { child: ChildProcess; port: number; base: string }[] = [];
  const rows: BenchRow[] = [];
  try {
    apps.push(await startApi(dbs[0], path.join(dataDir, 'small'), smallFile));
    apps.push(await startApi(dbs[1], path.join(dataDir, 'large'), smallFile));
    const [smallApp, largeApp] = apps as [(typeof apps)[0], (typeof apps)[0]];
    progress('shoppers and their consent');
    const tokens = await Promise.all(
      Array.from({ length: 50 }, (_, i) => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(`bench-catalog-${i}`).setExpirationTime('1h').sign(new TextEncoder().encode(AUTH_SECRET))),
    );
    for (const { base } of apps) {
      for (const token of tokens) {
        await fetch(`${base}/api/v1/consent`, { method: 'PUT', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ termsAccepted: true, marketingConsent: false }) });
      }
    }
    progress(`uploading ${LARGEST} products`);
    const seconds = await upload(largeApp.base, catalogFile);
    rows.push({ step: `upload of ${LARGEST} products (PUT /api/v1/admin/catalog, JSON, until this process answers from it)`, value: `${seconds.toFixed(1)} s, peak RSS ${peakRssMb(largeApp.child.pid!)} MB`, 'vs bare': '' });
    const auth = { Authorization: `Bearer ${tokens[0]}`, 'Content-Type': 'application/json' };
    const sample = await (await fetch(`${smallApp.base}/api/v1/assistant/query`, { method: 'POST', headers: auth, body: FRESH_QUESTIONS[0] })).json();
    const bare = await startProcess(['bench/bare-server.ts'], { BARE_BODY: JSON.stringify(sample) });
    try {
      const bareUrl = `http://127.0.0.1:${bare.port}/api/v1/assistant/query`;
      const fresh = (app: (typeof apps)[0], seconds = PIPELINE_SECONDS) => load(`${app.base}/api/v1/assistant/query`, tokens, { 'Cache-Control': 'no-cache' }, FRESH_QUESTIONS, false, seconds);
      // Unmeasured: the first fresh answers pay for compiling the search and filling the pools.
      progress('warming both sizes up');
      await fresh(smallApp, DURATION_S);
      await fresh(largeApp, DURATION_S);
      const label = (r: Result) => `${Math.round(r.rps)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms${r.non2xx ? `, ${r.non2xx} non-2xx` : ''}`;
      progress('the bare route');
      const bareBefore = await load(bareUrl, tokens, {}, [FRESH_QUESTIONS[0]!]);
      const atSmall: Result[] = [];
      const atLarge: Result[] = [];
      const ratios: number[] = [];
      const cpuRatios: number[] = [];
      for (let round = 1; round <= PIPELINE_ROUNDS; round++) {
        progress(`round ${round} of ${PIPELINE_ROUNDS}`);
        const order = round % 2 === 1 ? [smallApp, largeApp] : [largeApp, smallApp];
        const results = new Map<(typeof apps)[0], Result>();
        // The API process's CPU per answer beside its rate: less moved by other work on the machine.
        const cpu = new Map<(typeof apps)[0], number>();
        for (const app of order) {
          const before = cpuSeconds(app.child.pid!);
          const result = await fresh(app);
          const after = cpuSeconds(app.child.pid!);
          results.set(app, result);
          if (before !== undefined && after !== undefined && result.rps > 0) cpu.set(app, ((after - before) * 1000) / (result.rps * PIPELINE_SECONDS));
        }
        const one = results.get(smallApp)!;
        const other = results.get(largeApp)!;
        atSmall.push(one);
        atLarge.push(other);
        ratios.push(other.rps / one.rps);
        const cpuOne = cpu.get(smallApp);
        const cpuOther = cpu.get(largeApp);
        if (cpuOne !== undefined && cpuOther !== undefined) cpuRatios.push(cpuOne / cpuOther);
        const cpuLabel = cpuOne !== undefined && cpuOther !== undefined ? `; CPU ${cpuOne.toFixed(2)} / ${cpuOther.toFixed(2)} ms an answer, ratio ${(cpuOne / cpuOther).toFixed(2)}` : '';
        rows.push({
          step: `round ${round} (${round % 2 === 1 ? small.length : LARGEST} first, ${PIPELINE_SECONDS} s each): fresh answer at ${small.length} / at ${LARGEST} products`,
          value: `${Math.round(one.rps)} / ${Math.round(other.rps)} req/s, ratio ${(other.rps / one.rps).toFixed(2)} (p99 ${one.p99} / ${other.p99} ms)${one.non2xx + other.non2xx ? `, ${one.non2xx + other.non2xx} non-2xx` : ''}${cpuLabel}`,
          'vs bare': '',
        });
      }
      progress('the bare route again');
      const bareAfter = await load(bareUrl, tokens, {}, [FRESH_QUESTIONS[0]!]);
      // The bare route before and after the rounds, averaged: the machine's load drifts.
      const bareRps = (bareBefore.rps + bareAfter.rps) / 2;
      const median = (results: Result[]) => spread(results.map((r) => r.rps)).median;
      rows.push(
        { step: `bare Express route (${DURATION_S} s before and after the rounds)`, value: `${label(bareBefore)}; ${label(bareAfter)}`, 'vs bare': 1 },
        { step: `query: fresh catalog answer (${small.length} products), median of ${PIPELINE_ROUNDS} rounds`, value: `${Math.round(median(atSmall))} req/s`, 'vs bare': Number((median(atSmall) / bareRps).toFixed(3)) },
        { step: `query: fresh catalog answer (${LARGEST} products), median of ${PIPELINE_ROUNDS} rounds`, value: `${Math.round(median(atLarge))} req/s`, 'vs bare': Number((median(atLarge) / bareRps).toFixed(3)) },
      );
      progress(`single-product changes at ${LARGEST} products`);
      // PATCH answers once this process answers from the change (the service waits for it).
      const changes: number[] = [];
      for (const p of small.slice(0, 5)) {
        const started = performance.now();
        const res = await fetch(`${largeApp.base}/api/v1/admin/catalog/products/${encodeURIComponent(p.id)}`, {
          method: 'PATCH',
          headers: { 'Content-Type': 'application/json', 'X-Admin-Key': ADMIN_KEY },
          body: JSON.stringify({ price: p.price + 1 }),
        });
        if (!res.ok) throw new Error(`patch: ${res.status} ${(await res.text()).slice(0, 500)}`);
        changes.push(performance.now() - started);
      }
      changes.sort((a, b) => a - b);
      rows.push({ step: `one product's price at ${LARGEST} products (PATCH, until this process answers from it; median of 5)`, value: `${Math.round(changes[2]!)} ms`, 'vs bare': '' });
      const r = spread(ratios);
      rows.push({
        step: `fresh answer's ratio at ${LARGEST} against its ratio at ${small.length}: median of ${ratios.length} rounds' ratios (quartiles; range) (target ≥ 0.8)`,
        value: `${r.median.toFixed(2)} (${r.q1.toFixed(2)}–${r.q3.toFixed(2)}; ${r.min.toFixed(2)}–${r.max.toFixed(2)}), ratio of the medians ${(median(atLarge) / median(atSmall)).toFixed(2)}`,
        'vs bare': '',
      });
      if (cpuRatios.length > 0) {
        const c = spread(cpuRatios);
        rows.push({
          step: `the same from the API processes' CPU per answer (at ${small.length} over at ${LARGEST}): median of ${cpuRatios.length} rounds (quartiles; range)`,
          value: `${c.median.toFixed(2)} (${c.q1.toFixed(2)}–${c.q3.toFixed(2)}; ${c.min.toFixed(2)}–${c.max.toFixed(2)})`,
          'vs bare': '',
        });
      }
    } finally {
      await stop(bare.child);
    }
  } finally {
    for (const app of apps) await stop(app.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
  return rows;
}

const suite: BenchSuite = {
  name: 'catalog-scale',
  async run(): Promise<BenchRow[]> {
    const { file, products } = generatedCatalog();
    const engines: BenchRow[] = [];
    const db = await benchDatabase();
    const second = await benchDatabase().catch(async (err: unknown) => {
      await db.dispose();
      throw err;
    });
    try {
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        // The embedded database is built without pg_trgm's extension files: compare on a server.
        const trgm = await client.query('CREATE EXTENSION IF NOT EXISTS pg_trgm').then(() => true, () => false);
        for (const size of SIZES) {
          progress(`search engines at ${size} products`);
          const slice = products.slice(0, size);
          engines.push(await inProcessRow(slice));
          if (trgm) engines.push(await postgresRow(client, slice));
          else engines.push({ engine: 'PostgreSQL tsvector + pg_trgm', products: size, 'build ms': 'skipped: set BENCH_DATABASE_URL (pg_trgm)' });
        }
        await client.query('DROP TABLE IF EXISTS bench_products');
      } finally {
        await client.end();
      }
      console.table(engines);
      return await pipelineRows([db.url, second.url], file, products.slice(0, 1000));
    } finally {
      await db.dispose();
      await second.dispose();
    }
  },
};

export default suite;
