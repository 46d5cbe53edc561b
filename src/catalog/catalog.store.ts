import type { CatalogProduct } from '../assistant/catalog/catalog.js';

/** The live catalog's summary (GET /api/v1/admin/catalog). */
export interface CatalogSummary {
  /** The content hash of the live catalog (sha256 hex). */
  version: string;
  /** How many products it has. */
  products: number;
  updatedAt: Date;
}

/** The live catalog in full, read in one snapshot: `products` are exactly those of `summary.version`. */
export interface CatalogSnapshot {
  summary: CatalogSummary;
  /** In id order (UTF-8 byte order), validated and normalised when they were written. */
  products: CatalogProduct[];
}

/** What a single-product change does, decided from the product as it is (undefined: none). */
export type ProductChange = { put: CatalogProduct } | { delete: true };

/**
 * Where the catalog lives. Rules every backend keeps:
 * - `summary()` and `load()` resolve `undefined` while there is no catalog at all (a new database);
 * - `load()` never mixes two versions: its products are those of its summary's version;
 * - `replace()` is all or nothing: `fill` hands products over in batches while the old catalog
 *   stays live; when `fill` resolves `false` or throws, nothing changes; when it resolves `true`
 *   the new catalog replaces the old in one step (readers see the old or the new, never a mix);
 * - `change()` decides and applies one product's change atomically with the version's move;
 *   an error thrown by `decide` changes nothing and is rethrown;
 * - every change that alters the content gives a new `version`; the same content, the same one;
 * - unreachable storage is `StorageUnavailableError`; a read-only store refuses writes with
 *   `CATALOG_READ_ONLY`.
 */
export interface CatalogStore {
  readonly writable: boolean;
  summary(): Promise<CatalogSummary | undefined>;
  load(): Promise<CatalogSnapshot | undefined>;
  replace(fill: (add: (batch: CatalogProduct[]) => Promise<void>) => Promise<boolean>): Promise<CatalogSummary | undefined>;
  change(id: string, decide: (current: CatalogProduct | undefined) => ProductChange): Promise<{ product: CatalogProduct | undefined; summary: CatalogSummary }>;
  /**
   * Calls `listener` when another process (or this one) may have changed the catalog; resolves a
   * function that stops listening. A store without notifications resolves a no-op: the live
   * catalog polls `summary()` anyway.
   */
  onChange(listener: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
