import { loadCatalog, type CatalogProduct } from '../assistant/catalog/catalog.js';
import type { Logger } from '../platform/logger.js';
import type { CatalogStore } from './catalog.store.js';

/**
 * Fills an empty catalog store from CATALOG_PATH (or the bundled sample), once: several
 * processes starting at once on one empty database seed it one time between them.
 */
export async function seedCatalogIfEmpty(store: CatalogStore, catalogPath: string | undefined, logger: Logger): Promise<void> {
  if (await store.summary()) return;
  const file = await loadCatalog(catalogPath);
  const summary = await store.replace(async (add) => {
    // Under the upload lock: another process may have seeded meanwhile.
    if (await store.summary()) return false;
    const products: readonly CatalogProduct[] = file.products;
    for (let i = 0; i < products.length; i += 1000) await add(products.slice(i, i + 1000));
    return true;
  }, { ifEmpty: true });
  if (summary) logger.info({ source: file.source, products: summary.products, catalogVersion: summary.version }, 'empty catalog seeded from the catalog file');
}
