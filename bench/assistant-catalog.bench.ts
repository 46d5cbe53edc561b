/**
 * The built-in catalog assistant per question against the bare library call doing the core
 * work: one MiniSearch `search` of the same words over the same index (no price hints, filters,
 * re-ranking or answer text). Reported as µs per question and the ratio provider / bare; plus
 * the one-off index build time at startup.
 */
import MiniSearch from 'minisearch';
import { loadCatalog } from '../src/assistant/catalog/catalog.js';
import { CatalogProvider } from '../src/assistant/providers/catalog.js';
import type { BenchRow, BenchSuite } from './run.js';

const QUESTIONS = [
  'waterproof hiking boots under $150',
  'budget laptop',
  'gift under $30',
  'wireless noise cancelling headphones',
  'running shoes for women',
];
const ROUND_MS = 500;
const ROUNDS = 3;

/** Mean µs per call of a synchronous-ish op, best of ROUNDS rounds of ROUND_MS. */
async function microsPerOp(op: () => unknown | Promise<unknown>): Promise<number> {
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    let n = 0;
    const start = performance.now();
    while (performance.now() - start < ROUND_MS) {
      await op();
      n++;
    }
    best = Math.min(best, ((performance.now() - start) * 1000) / n);
  }
  return best;
}

const suite: BenchSuite = {
  name: 'assistant-catalog',
  async run() {
    const catalog = await loadCatalog(undefined);
    const buildStart = performance.now();
    const provider = new CatalogProvider(catalog);
    const buildMs = performance.now() - buildStart;

    const bare = new MiniSearch({ fields: ['name', 'brand', 'category', 'description', 'tags'] });
    bare.addAll(catalog.products.map((p) => ({ ...p, tags: p.tags.join(' ') })));
    const signal = new AbortController().signal;

    const rows: BenchRow[] = [{ question: `(index build, ${catalog.products.length} products)`, 'provider µs': Math.round(buildMs * 1000), 'bare µs': '', ratio: '' }];
    for (const question of QUESTIONS) {
      const providerUs = await microsPerOp(() => provider.answer({ query: question, limit: 5 }, signal));
      const bareUs = await microsPerOp(() => bare.search(question, { prefix: true }).slice(0, 5));
      rows.push({ question, 'provider µs': Math.round(providerUs), 'bare µs': Math.round(bareUs), ratio: (providerUs / bareUs).toFixed(2) });
    }
    return rows;
  },
};
export default suite;
