import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogHash, loadCatalog, normalizeProduct, type CatalogProduct } from '../../src/assistant/catalog/catalog.js';
import { CatalogSearch } from '../../src/assistant/catalog/catalog-search.js';
import { PostgresCatalogStore } from '../../src/catalog/catalog.store.postgres.js';
import { LiveCatalog } from '../../src/catalog/live-catalog.js';
import { seededCatalogDatabase } from '../support/catalog-database.js';
import { createLogger } from '../../src/platform/logger.js';
import { testConfig } from '../support/app.js';
import type { TestDatabase } from '../support/database.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PRODUCTS = 100_000;

/** A single product's change at shop scale updates the live index; it never builds it anew. */
describe(`single-product changes at ${PRODUCTS} products`, () => {
  let testDb: TestDatabase;
  let dir: string;
  let writer: PostgresCatalogStore;
  let reader: PostgresCatalogStore;
  let live: LiveCatalog;
  let products: CatalogProduct[];
  let buildMs: number;
  const logger = createLogger({ level: 'silent' });
  const settings = testConfig().database;

  beforeAll(async () => {
    ({ testDb, writer } = await seededCatalogDatabase(logger));
    dir = mkdtempSync(path.join(tmpdir(), 'shopassist-catalog-incremental-'));
    const file = path.join(dir, 'products.json');
    execFileSync(process.execPath, ['--import', 'tsx', 'scripts/generate-catalog.ts', '--products', String(PRODUCTS), '--out', file], { cwd: ROOT, stdio: 'ignore' });
    products = [...(await loadCatalog(file)).products];
    await writer.replace(async (add) => {
      for (let i = 0; i < products.length; i += 5000) await add(products.slice(i, i + 5000));
      return true;
    });
    reader = new PostgresCatalogStore(testDb.url, settings, logger);
    const started = performance.now();
    live = await LiveCatalog.open(reader, { refreshSeconds: 3600, listen: false }, logger);
    buildMs = performance.now() - started;
  }, 300_000);
  afterAll(async () => {
    await live?.close();
    await reader?.close();
    await writer?.close();
    await testDb?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('create, replace, patch and delete reach the index without a whole build, and answers follow them', async () => {
    const before = live.current();
    const builds = CatalogSearch.wholeBuilds;
    const boot = before.catalog.products.find((p) => p.inStock && p.category === 'shoes' && /boot/i.test(p.name))!;
    const gone = before.search.search({ query: 'electric kettle', limit: 1 }).hits[0].product;
    const created = normalizeProduct({
      id: 'zz-new-kettle',
      name: 'Quasarflux Electric Kettle',
      brand: 'Quasarflux',
      category: 'home & kitchen',
      price: 1.5,
      currency: 'USD',
      description: 'A kettle that boils a cup in a minute.',
      tags: ['kettle'],
      inStock: true,
    });

    await writer.change(boot.id, () => ({ put: { ...boot, price: 0.5 } })); // patch
    await writer.change(created.id, () => ({ put: created })); // create
    await writer.change(gone.id, () => ({ delete: true })); // delete
    const replacedId = before.catalog.products[10].id;
    await writer.change(replacedId, (p) => ({ put: { ...p!, name: `${p!.name} Zephyrine` } })); // replace

    const started = performance.now();
    await live.refresh();
    const changeMs = performance.now() - started;
    const after = live.current();

    // Not built anew: no whole build, and far quicker than one.
    expect(CatalogSearch.wholeBuilds).toBe(builds);
    expect(changeMs, `change ${Math.round(changeMs)} ms, build ${Math.round(buildMs)} ms`).toBeLessThan(buildMs / 5);

    // The version is the store's, as for a whole read, and the old view is left as it was.
    const summary = (await writer.summary())!;
    expect(after.catalog.hash).toBe(summary.version);
    expect(after.catalog.hash).toBe(catalogHash(after.catalog.products));
    expect(after.catalog.products).toHaveLength(PRODUCTS);
    expect(before.catalog.byId(gone.id)).toBeDefined();
    expect(before.search.search({ query: 'Quasarflux', limit: 5 }).hits).toHaveLength(0);

    // Answers after the change.
    expect(after.search.search({ query: 'Quasarflux kettle', limit: 1 }).hits[0].product.id).toBe(created.id);
    expect(after.search.search({ query: 'cheap electric kettle', limit: 1 }).hits[0].product.id).toBe(created.id);
    expect(after.catalog.byId(gone.id)).toBeUndefined();
    for (const q of ['electric kettle', 'kettle', `${gone.name}`]) {
      expect(after.search.search({ query: q, limit: 20 }).hits.map((h) => h.product.id)).not.toContain(gone.id);
    }
    const cheapBoots = after.search.search({ query: 'boots under $1', limit: 5 }).hits;
    expect(cheapBoots.map((h) => [h.product.id, h.product.price])).toEqual([[boot.id, 0.5]]);
    const replaced = after.search.search({ query: 'Zephyrine', limit: 5 }).hits;
    expect(replaced.map((h) => h.product.id)).toEqual([replacedId]);
    expect(after.catalog.byId(replacedId)!.name).toMatch(/Zephyrine$/);

    // A whole-catalog replace is still read and built whole.
    await writer.replace(async (add) => {
      await add(products.slice(0, 1000));
      return true;
    });
    await live.refresh();
    expect(CatalogSearch.wholeBuilds).toBe(builds + 1);
    expect(live.current().catalog.products).toHaveLength(1000);
  }, 120_000);
});
