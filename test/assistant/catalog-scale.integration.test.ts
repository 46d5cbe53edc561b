import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JUDGED_QUESTIONS, isRight, precisionAt } from '../../bench/catalog-questions.js';
import { loadCatalog, type Catalog } from '../../src/assistant/catalog/catalog.js';
import { CatalogSearch } from '../../src/assistant/catalog/catalog-search.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PRODUCTS = 100_000;

/** Real questions against the generated catalog of 100k products (seeded: the same every run). */
describe(`search relevance at ${PRODUCTS} products`, () => {
  let dir: string;
  let catalog: Catalog;
  let search: CatalogSearch;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'shopassist-catalog-scale-'));
    const file = path.join(dir, 'products.json');
    execFileSync(process.execPath, ['--import', 'tsx', 'scripts/generate-catalog.ts', '--products', String(PRODUCTS), '--out', file], { cwd: ROOT, stdio: 'ignore' });
    catalog = await loadCatalog(file);
    search = await CatalogSearch.build(catalog);
  }, 240_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the generated catalog has the asked size, links, pictures and some products out of stock', () => {
    expect(catalog.products).toHaveLength(PRODUCTS);
    const out = catalog.products.filter((p) => !p.inStock).length;
    expect(out / PRODUCTS).toBeGreaterThan(0.03);
    expect(out / PRODUCTS).toBeLessThan(0.15);
    expect(catalog.products.every((p) => p.url?.startsWith('https://'))).toBe(true);
    expect(catalog.products.filter((p) => p.imageUrl).length / PRODUCTS).toBeGreaterThan(0.7);
  });

  for (const q of JUDGED_QUESTIONS.filter((j) => !j.knownMiss)) {
    it(`"${q.query}": the right category and price band in the top results`, () => {
      const { hits } = search.search({ query: q.query, limit: 5 });
      expect(hits).toHaveLength(5);
      const products = hits.map((h) => h.product);
      expect(precisionAt(5, q, products), products.map((p) => `${p.name} (${p.category}, ${p.price})`).join('; ')).toBeGreaterThanOrEqual(0.8);
      expect(isRight(q, products[0])).toBe(true);
    });
  }

  it('out-of-stock products are never recommended unless asked for, and then only they are', () => {
    for (const q of JUDGED_QUESTIONS) {
      for (const p of search.search({ query: q.query, limit: 20 }).hits) expect(p.product.inStock).toBe(true);
      expect(search.search({ query: q.query, limit: 20, filters: { inStock: true } }).hits.every((h) => h.product.inStock)).toBe(true);
    }
    const sold = search.search({ query: 'waterproof hiking boots', limit: 10, filters: { inStock: false } }).hits;
    expect(sold).toHaveLength(10);
    for (const h of sold) {
      expect(h.product.inStock).toBe(false);
      expect(h.product.category).toBe('shoes');
    }
  });
});
