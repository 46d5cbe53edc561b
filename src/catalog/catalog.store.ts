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
  /**
   * Where the store can tell single-product changes apart (see `changesSince`): the catalog's
   * generation (a whole-catalog upload starts a new one) and each product's content hash by id.
   */
  base?: CatalogBase;
}

/** A catalog as a process last read it: enough to ask the store what changed since. */
export interface CatalogBase {
  generation: string;
  hashes: ReadonlyMap<string, string>;
}

/** The single-product changes from one catalog version to the next, read in one snapshot. */
export interface CatalogDelta {
  summary: CatalogSummary;
  base: CatalogBase;
  /** New and replaced products. */
  put: CatalogProduct[];
  /** Ids of the products gone. */
  deleted: string[];
}

/** What a single-product change does, decided from the product as it is (undefined: none). */
export type ProductChange = { put: CatalogProduct } | { delete: true };

/**
 * `ifEmpty`: replace only while there is no catalog at all (a new database's seed): when a
 * catalog was made meanwhile (another process seeding the same database), it stands and this one
 * is dropped.
 */
export interface ReplaceOptions {
  ifEmpty?: boolean;
}

/**
 * Where the catalog lives. Rules every backend keeps:
 * - `summary()` and `load()` resolve `undefined` while there is no catalog at all (a new database);
 * - `load()` never mixes two versions: its products are those of its summary's version;
 * - `replace()` is all or nothing: `fill` hands products over in batches while the old catalog
 *   stays live; when `fill` resolves `false` or throws, nothing changes; when it resolves `true`
 *   the new catalog replaces the old in one step (readers see the old or the new, never a mix);
 *   with `ifEmpty` it does only when there is no catalog yet, else it resolves `undefined` and
 *   changes nothing;
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
  replace(fill: (add: (batch: CatalogProduct[]) => Promise<void>) => Promise<boolean>, options?: ReplaceOptions): Promise<CatalogSummary | undefined>;
  change(id: string, decide: (current: CatalogProduct | undefined) => ProductChange): Promise<{ product: CatalogProduct | undefined; summary: CatalogSummary }>;
  /**
   * The products changed since `base` (a snapshot's `base`), in one snapshot; `undefined` when
   * the catalog was replaced whole since (another generation) or more than `max` products
   * changed: then `load()` is the cheaper read. A store without it is always read whole.
   */
  changesSince?(base: CatalogBase, max: number): Promise<CatalogDelta | undefined>;
  /**
   * Calls `listener` when another process (or this one) may have changed the catalog; resolves a
   * function that stops listening. A store without notifications resolves a no-op: the live
   * catalog polls `summary()` anyway.
   */
  onChange(listener: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
