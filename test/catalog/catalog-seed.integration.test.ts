import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog, type CatalogProduct } from '../../src/assistant/catalog/catalog.js';
import { PostgresCatalogStore } from '../../src/catalog/catalog.store.postgres.js';
import { createDatabase } from '../../src/platform/db.js';
import { createLogger } from '../../src/platform/logger.js';
import { Migrator } from '../../src/platform/migrator.js';
import { testConfig } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

// Two processes seeding one new database: on a server the upload lock makes the second wait and
// find the catalog made; on the embedded database, whose one session every connection shares,
// that lock is re-entrant, and both may stage. Either way one seed stands, whole.
describe('two seeds of one empty catalog at once', () => {
  const logger = createLogger({ level: 'silent' });
  let testDb: TestDatabase;
  let stores: PostgresCatalogStore[] = [];
  let products: CatalogProduct[];

  beforeAll(async () => {
    testDb = await createTestDatabase();
    const db = await createDatabase({ ...testConfig().database, url: testDb.url }, logger);
    try {
      await new Migrator(db.sequelize).up();
    } finally {
      await db.close();
    }
    stores = [0, 1].map(() => new PostgresCatalogStore(testDb.url, testConfig().database, logger));
    products = (await loadCatalog(undefined)).products.slice(0, 3);
  });
  afterAll(async () => {
    for (const store of stores) await store.close();
    await testDb?.dispose();
  });

  it('keeps the first seed whole: a second one that staged beside it changes nothing', async () => {
    const [slow, fast] = stores as [PostgresCatalogStore, PostgresCatalogStore];
    // The slow seed stages its products, then waits: until the fast one has finished (where both
    // stage at once), or a moment (where the lock holds the fast one back until it is done).
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
      setTimeout(resolve, 2_000);
    });
    let staged = () => {};
    const slowStaged = new Promise<void>((resolve) => (staged = resolve));
    const slowSeed = slow.replace(
      async (add) => {
        await add(products);
        staged();
        await gate;
        return true;
      },
      { ifEmpty: true },
    );
    await Promise.race([slowStaged, gate]);
    const fastSeed = fast.replace(
      async (add) => {
        await add(products);
        return true;
      },
      { ifEmpty: true },
    );
    // Released however the fast seed ends (its failure is the assertion's below, not unhandled).
    fastSeed.then(release, release);
    const results = await Promise.all([slowSeed, fastSeed]);

    // One of them made the catalog; the other made nothing.
    expect(results.filter((r) => r !== undefined)).toHaveLength(1);
    for (const store of stores) {
      const snapshot = await store.load();
      expect(snapshot?.summary.products).toBe(products.length);
      expect(snapshot?.products.map((p) => p.id)).toEqual(products.map((p) => p.id).sort());
    }
  });

  it('refuses to seed a catalog that exists', async () => {
    const before = await stores[0]!.summary();
    const result = await stores[1]!.replace(
      async (add) => {
        await add(products.slice(0, 1));
        return true;
      },
      { ifEmpty: true },
    );
    expect(result).toBeUndefined();
    expect(await stores[0]!.summary()).toEqual(before);
    expect((await stores[0]!.load())?.products).toHaveLength(products.length);
  });
});
