/**
 * CPU per catalog search, the steadier figure on a shared machine (`npx tsx
 * bench/catalog-search-cpu.ts`): the in-process search over the generated catalog (cut to its
 * first 1k, 10k and 100k products), the judged questions (bench/catalog-questions.ts) and the
 * http bench's fresh-answer questions, `process.cpuUsage()` over ROUNDS rounds after WARM_UP,
 * and p50/p99 of each search's wall-clock time.
 *
 * BENCH_COMPARE_WITH=<another checkout>: builds that checkout's search too (same process, same
 * catalog), measures the two in alternation, round by round, and fails when any question's
 * results differ (products and scores). BENCH_PER_QUESTION=1 prints each question's CPU.
 * Settings: BENCH_CATALOG_SIZES (default 1000,10000,100000), BENCH_ROUNDS (60), BENCH_WARM_UP (20).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { catalogHash, makeCatalog, type CatalogProduct } from '../src/assistant/catalog/catalog.js';
import { CatalogSearch } from '../src/assistant/catalog/catalog-search.js';
import { JUDGED_QUESTIONS } from './catalog-questions.js';
import { FRESH_QUESTIONS } from './http.bench.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SIZES = (process.env.BENCH_CATALOG_SIZES ?? '1000,10000,100000').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 60);
const WARM_UP = Number(process.env.BENCH_WARM_UP ?? 20);
const PER_QUESTION = process.env.BENCH_PER_QUESTION === '1';

interface Searcher {
  search(request: { query: string; limit: number }): { hits: { product: { id: string }; score: number }[] };
}
interface Engine {
  name: string;
  build(products: CatalogProduct[]): Promise<Searcher>;
}

const here: Engine = { name: 'this checkout', build: (products) => CatalogSearch.build(makeCatalog(products, catalogHash(products), 'bench')) };

async function engineAt(dir: string): Promise<Engine> {
  const load = async <T>(file: string) => (await import(pathToFileURL(path.join(dir, file)).href)) as T;
  const cat = await load<{ makeCatalog: typeof makeCatalog; catalogHash: typeof catalogHash }>('src/assistant/catalog/catalog.ts');
  const cs = await load<{ CatalogSearch: { build(c: unknown): Promise<Searcher> } }>('src/assistant/catalog/catalog-search.ts');
  return { name: dir, build: (products) => cs.CatalogSearch.build(cat.makeCatalog(products, cat.catalogHash(products), 'bench')) };
}

function products(): CatalogProduct[] {
  const file = path.join(ROOT, 'catalog', 'generated', 'products-100000.json');
  if (!existsSync(file)) throw new Error('run `npm run catalog:generate -- --products 100000` first');
  const data = JSON.parse(readFileSync(file, 'utf8')) as { products: (Omit<CatalogProduct, 'inStock'> & { inStock?: boolean })[] };
  return data.products.map((p) => ({ ...p, inStock: p.inStock ?? true }));
}

const SETS = {
  judged: JUDGED_QUESTIONS.map((q) => q.query),
  fresh: FRESH_QUESTIONS.map((q) => (JSON.parse(q) as { query: string }).query),
};

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
const fingerprint = (s: Searcher, q: string) => JSON.stringify(s.search({ query: q, limit: 5 }).hits.map((h) => [h.product.id, h.score]));

/** One round of a question set: CPU µs in total, and each search's wall-clock µs. */
function round(s: Searcher, questions: string[], perQuestion?: Map<string, number>): { cpu: number; times: number[] } {
  const times: number[] = [];
  const before = process.cpuUsage();
  for (const q of questions) {
    const c = perQuestion ? process.cpuUsage() : undefined;
    const started = performance.now();
    s.search({ query: q, limit: 5 });
    times.push((performance.now() - started) * 1000);
    if (c && perQuestion) {
      const u = process.cpuUsage(c);
      perQuestion.set(q, (perQuestion.get(q) ?? 0) + u.user + u.system);
    }
  }
  const used = process.cpuUsage(before);
  return { cpu: used.user + used.system, times };
}

const all = products();
const engines = [here];
if (process.env.BENCH_COMPARE_WITH) engines.push(await engineAt(path.resolve(process.env.BENCH_COMPARE_WITH)));
const rows: Record<string, string | number>[] = [];
for (const size of SIZES) {
  const slice = all.slice(0, size);
  const searchers: Searcher[] = [];
  for (const e of engines) searchers.push(await e.build(slice));
  if (searchers.length > 1) {
    for (const q of [...SETS.judged, ...SETS.fresh]) {
      const [a, b] = searchers.map((s) => fingerprint(s, q));
      if (a !== b) throw new Error(`${size} products, "${q}": results differ\n${a}\n${b}`);
    }
  }
  for (const [set, questions] of Object.entries(SETS)) {
    const cpu = engines.map(() => 0);
    const times: number[][] = engines.map(() => []);
    const perQuestion = engines.map(() => new Map<string, number>());
    for (let r = 0; r < WARM_UP + ROUNDS; r++) {
      // Alternate which engine goes first, so neither always follows the other's garbage.
      for (let k = 0; k < engines.length; k++) {
        const e = (k + r) % engines.length;
        const result = round(searchers[e]!, questions, PER_QUESTION && r >= WARM_UP ? perQuestion[e] : undefined);
        if (r < WARM_UP) continue;
        cpu[e] += result.cpu;
        times[e]!.push(...result.times);
      }
    }
    engines.forEach((e, i) => {
      const sorted = times[i]!.sort((a, b) => a - b);
      rows.push({
        engine: e.name,
        products: size,
        questions: set,
        'CPU µs/search': Math.round(cpu[i]! / (ROUNDS * questions.length)),
        'p50 µs': Math.round(percentile(sorted, 0.5)),
        'p99 µs': Math.round(percentile(sorted, 0.99)),
      });
      if (PER_QUESTION) {
        for (const [q, us] of perQuestion[i]!) console.log(`${e.name} ${size} ${q}: ${Math.round(us / ROUNDS)} µs`);
      }
    });
  }
}
console.table(rows);
