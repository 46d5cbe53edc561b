import type { Catalog } from './catalog.js';
import { CatalogSearch } from './catalog-search.js';

/** One catalog and the search index built over it: what one answer is written from. */
export interface CatalogView {
  readonly catalog: Catalog;
  readonly search: CatalogSearch;
}

/**
 * Where the providers find the catalog to answer from. `current()` is cheap and synchronous; a
 * live index (src/catalog/live-catalog.ts) swaps its view atomically when a new catalog version is
 * ready, so one answer always sees one whole catalog, old or new, never a mix.
 */
export interface CatalogIndex {
  current(): CatalogView;
}

/** A catalog that never changes (a file given to a provider directly, in tests and benches). */
export function fixedIndex(catalog: Catalog): CatalogIndex {
  const view: CatalogView = { catalog, search: new CatalogSearch(catalog) };
  return { current: () => view };
}

export function isCatalogIndex(source: Catalog | CatalogIndex): source is CatalogIndex {
  return typeof (source as Partial<CatalogIndex>).current === 'function';
}
