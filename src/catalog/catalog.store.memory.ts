import type { Catalog } from '../assistant/catalog/catalog.js';
import { AppError } from '../platform/errors.js';
import type { CatalogSnapshot, CatalogStore, CatalogSummary } from './catalog.store.js';

const readOnly = () =>
  new AppError('CATALOG_READ_ONLY', 'On memory storage the catalog is the file loaded at start (CATALOG_PATH or the bundled one) and cannot be changed; use postgres storage to manage it here.');

/** Memory storage: the catalog file loaded at start, read-only. */
export class MemoryCatalogStore implements CatalogStore {
  readonly writable = false;
  private readonly snapshot: CatalogSnapshot;

  constructor(catalog: Catalog, loadedAt = new Date()) {
    const summary: CatalogSummary = { version: catalog.hash, products: catalog.products.length, updatedAt: loadedAt };
    this.snapshot = { summary, products: [...catalog.products] };
  }

  summary(): Promise<CatalogSummary> {
    return Promise.resolve(this.snapshot.summary);
  }

  load(): Promise<CatalogSnapshot> {
    return Promise.resolve(this.snapshot);
  }

  replace(): Promise<never> {
    return Promise.reject(readOnly());
  }

  change(): Promise<never> {
    return Promise.reject(readOnly());
  }

  onChange(): Promise<() => Promise<void>> {
    return Promise.resolve(async () => {});
  }

  async close(): Promise<void> {}
}
