import type { Router } from 'express';
import type { Config } from '../config.js';
import { loadCatalog, type CatalogProduct } from '../assistant/catalog/catalog.js';
import type { CatalogIndex } from '../assistant/catalog/catalog-index.js';
import { requireAdminKey } from '../identity/admin.middleware.js';
import type { Database } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import { catalogAdminRoutes } from './catalog.admin.routes.js';
import { CatalogService } from './catalog.service.js';
import type { CatalogStore } from './catalog.store.js';
import { MemoryCatalogStore } from './catalog.store.memory.js';
import { PostgresCatalogStore } from './catalog.store.postgres.js';
import { LiveCatalog } from './live-catalog.js';

export interface CatalogFeatures {
  /** The live catalog and its search index, for the assistant's providers. */
  index: CatalogIndex;
  live: LiveCatalog;
  service: CatalogService;
  routers: Router[];
  close(): Promise<void>;
}

export interface CatalogModuleDeps {
  config: Config;
  database: Database | undefined;
  logger: Logger;
}

/**
 * The shop's catalog: in the database on postgres storage (an empty database is seeded from
 * CATALOG_PATH or the bundled sample, once, whichever process starts first), or the file itself,
 * read-only, on memory storage.
 */
export async function createCatalogFeatures({ config, database, logger }: CatalogModuleDeps): Promise<CatalogFeatures> {
  const { catalogPath, catalogRefreshSeconds, catalogMaxBytes } = config.assistant;
  let store: CatalogStore;
  if (config.storageBackend === 'postgres') {
    if (!database) throw new Error('STORAGE_BACKEND=postgres needs a database');
    store = new PostgresCatalogStore(database.url, config.database, logger);
    try {
      await seedIfEmpty(store, catalogPath, logger);
    } catch (err) {
      await store.close();
      throw err;
    }
  } else {
    store = new MemoryCatalogStore(await loadCatalog(catalogPath));
  }
  let live: LiveCatalog;
  try {
    live = await LiveCatalog.open(store, { refreshSeconds: catalogRefreshSeconds }, logger, config.storageBackend === 'postgres' ? 'database' : (catalogPath ?? 'bundled catalog'));
  } catch (err) {
    await store.close();
    throw err;
  }
  const service = new CatalogService(store, live);
  return {
    index: live,
    live,
    service,
    routers: [catalogAdminRoutes(service, { requireAdmin: requireAdminKey(config.adminApiKey) }, catalogMaxBytes)],
    close: async () => {
      await live.close();
      await store.close();
    },
  };
}

async function seedIfEmpty(store: CatalogStore, catalogPath: string | undefined, logger: Logger): Promise<void> {
  if (await store.summary()) return;
  const file = await loadCatalog(catalogPath);
  const summary = await store.replace(async (add) => {
    // Under the upload lock: another process may have seeded meanwhile.
    if (await store.summary()) return false;
    const products: readonly CatalogProduct[] = file.products;
    for (let i = 0; i < products.length; i += 1000) await add(products.slice(i, i + 1000));
    return true;
  });
  if (summary) logger.info({ source: file.source, products: summary.products, catalogVersion: summary.version }, 'empty catalog seeded from the catalog file');
}
