import type { ProductFilters } from '../providers/provider.js';
import type { Catalog, CatalogProduct } from './catalog.js';
import { parseQueryHints } from './query-hints.js';
import { SearchIndex, type Matches } from './search-index.js';
import { processTerm, termsOf, tokenize } from './terms.js';

export interface CatalogHit {
  product: CatalogProduct;
  /** Relevance in [0, 1], rounded to 3 decimals. */
  score: number;
}

export interface CatalogSearchResult {
  /** Best first, at most `limit`. */
  hits: CatalogHit[];
  /** How many products qualified before `limit` was applied. */
  total: number;
  /** The question without its price phrases, for the answer text. */
  text: string;
  /** The filters applied: the explicit ones, completed by price hints from the question. */
  filters: ProductFilters;
  preferCheap: boolean;
  /** No product matched the words; `hits` are the best products that satisfy the filters. */
  fallback: boolean;
}

/** The highest score a product gets when it was chosen by filters alone, not by the words. */
export const FALLBACK_MAX_SCORE = 0.25;

/** Case-insensitive, NFC, trimmed: how `category` and `brand` filters compare. */
export const normalizeLabel = (s: string) => s.normalize('NFC').trim().toLowerCase();

const round3 = (n: number) => Math.round(Math.min(1, Math.max(0, n)) * 1000) / 1000;

/**
 * Full-text product search over one catalog (BM25+, see search-index.ts). The index is built
 * once; a search is in-process and synchronous. Ranking: matches that contain more of the
 * question's words come first, then the BM25 score (name counts most, then tags, category and
 * brand, then the description); a "budget" question tilts the order towards cheaper products.
 */
export class CatalogSearch {
  private readonly index: SearchIndex;
  /** Per product number: price, in stock (1/0), category and brand label numbers. */
  private readonly facets: { prices: Float64Array; stock: Uint8Array; categories: Int32Array; brands: Int32Array };
  /** Normalised category and brand labels, numbered. */
  private readonly labelIds = new Map<string, number>();
  private added = 0;
  /** Each search's relevance per match, reused (a search is synchronous). */
  private readonly relevance: Float64Array;

  /**
   * Builds the whole index synchronously. `deferred`: builds nothing yet (see `CatalogSearch.build`,
   * which fills it in slices).
   */
  constructor(
    readonly catalog: Catalog,
    deferred = false,
  ) {
    const n = catalog.products.length;
    this.index = new SearchIndex(n);
    this.facets = { prices: new Float64Array(n), stock: new Uint8Array(n), categories: new Int32Array(n), brands: new Int32Array(n) };
    this.relevance = new Float64Array(n);
    if (!deferred) {
      this.add(catalog.products);
      this.index.finishNow();
    }
  }

  /**
   * Builds the index a slice of products at a time, yielding to the event loop between slices, so
   * a process keeps answering (from its current index) while the index of a large new catalog is
   * built.
   */
  static async build(catalog: Catalog, sliceSize = 2000): Promise<CatalogSearch> {
    const search = new CatalogSearch(catalog, true);
    const pause = () => new Promise<void>((resolve) => setImmediate(resolve));
    for (let i = 0; i < catalog.products.length; i += sliceSize) {
      search.add(catalog.products.slice(i, i + sliceSize));
      await pause();
    }
    await search.index.finish(pause);
    return search;
  }

  private add(products: readonly CatalogProduct[]): void {
    for (const p of products) {
      this.index.add({ name: p.name, brand: p.brand, category: p.category, description: p.description, tags: p.tags.join(' ') });
      const doc = this.added++;
      this.facets.prices[doc] = p.price;
      this.facets.stock[doc] = p.inStock ? 1 : 0;
      this.facets.categories[doc] = this.labelId(normalizeLabel(p.category));
      this.facets.brands[doc] = this.labelId(normalizeLabel(p.brand));
    }
  }

  private labelId(label: string): number {
    let id = this.labelIds.get(label);
    if (id === undefined) this.labelIds.set(label, (id = this.labelIds.size));
    return id;
  }

  search(request: { query: string; filters?: ProductFilters; limit: number }): CatalogSearchResult {
    const hints = parseQueryHints(request.query);
    const filters = effectiveFilters(request.filters ?? {}, hints);
    const accepts = this.predicate(filters);
    const terms = termsOf(hints.text);
    const base = { text: hints.text, filters, preferCheap: hints.preferCheap };
    const products = this.catalog.products;

    const matches = terms.length
      ? this.index.search(
          tokenize(hints.text).flatMap((t) => processTerm(t) ?? []),
          {
            // Prefix and typo tolerance only on longer words: "boot" must not find "book". A word the
            // catalog holds is no typo: "hiking" must not also find "biking".
            prefix: (term) => term.length >= 4,
            fuzzy: (term) => term.length >= 6 && !this.index.has(term),
            accepts,
          },
        )
      : undefined;
    if (!matches || matches.count === 0) {
      const narrowed =
        filters.category !== undefined || filters.brand !== undefined || filters.minPrice !== undefined || filters.maxPrice !== undefined || filters.inStock === false;
      if (!narrowed && !(hints.preferCheap && terms.length === 0)) return { ...base, hits: [], total: 0, fallback: false };
      const pool = products.filter((_p, i) => accepts(i));
      return { ...base, hits: this.fallback(pool, hints.preferCheap, request.limit), total: pool.length, fallback: true };
    }
    return { ...base, hits: this.rank(matches, terms.length, hints.preferCheap, request.limit), total: matches.count, fallback: false };
  }

  /** Whether product number `doc` passes the filters (read from flat arrays: this runs for every match). */
  private predicate(filters: ProductFilters): (doc: number) => boolean {
    const { prices, stock, categories, brands } = this.facets;
    // A label no product has matches nothing (-2 is no label's number).
    const category = filters.category === undefined ? -1 : (this.labelIds.get(normalizeLabel(filters.category)) ?? -2);
    const brand = filters.brand === undefined ? -1 : (this.labelIds.get(normalizeLabel(filters.brand)) ?? -2);
    const inStock = filters.inStock === false ? 0 : 1;
    const min = filters.minPrice ?? -Infinity;
    const max = filters.maxPrice ?? Infinity;
    return (doc) =>
      stock[doc] === inStock &&
      (category === -1 || categories[doc] === category) &&
      (brand === -1 || brands[doc] === brand) &&
      prices[doc] >= min &&
      prices[doc] <= max;
  }

  /**
   * The best `limit` matches, best first: relevance is the share of the question's words a
   * product covers (to the power 1.5: covering every word matters more than a high score on a
   * few), times its score against the best one. Only the best are put in order.
   */
  private rank(matches: Matches, termCount: number, preferCheap: boolean, limit: number): CatalogHit[] {
    const { count, docs, scores, words } = matches;
    const products = this.catalog.products;
    let top = 0;
    for (let i = 0; i < count; i++) top = Math.max(top, scores[docs[i]]);
    const relevance = this.relevance.subarray(0, count);
    // coverage^1.5 for each possible number of words matched (at most 255 are counted).
    const coverage = Array.from({ length: 256 }, (_, w) => Math.min(1, w / termCount) ** 1.5);
    for (let i = 0; i < count; i++) {
      const d = docs[i];
      relevance[i] = coverage[words[d]] * (0.4 + 0.6 * (scores[d] / top));
    }
    if (preferCheap) cheaperFirst(relevance, (i) => products[docs[i]].price);
    const order = (a: number, b: number) => {
      // Most comparisons are settled by relevance alone: no product is looked at.
      if (relevance[a] !== relevance[b]) return relevance[b] - relevance[a];
      const pa = products[docs[a]];
      const pb = products[docs[b]];
      return relevance[b] - relevance[a] || (pb.rating ?? 0) - (pa.rating ?? 0) || pa.price - pb.price || (pa.id < pb.id ? -1 : 1);
    };
    return topK(count, limit, order, relevance).map((i) => ({ product: products[docs[i]], score: round3(relevance[i]) }));
  }

  private fallback(pool: CatalogProduct[], preferCheap: boolean, limit: number): CatalogHit[] {
    const order = (a: CatalogProduct, b: CatalogProduct) =>
      preferCheap
        ? a.price - b.price || (b.rating ?? 0) - (a.rating ?? 0)
        : (b.rating ?? 0) - (a.rating ?? 0) || a.price - b.price || (a.id < b.id ? -1 : 1);
    // The first `limit` in that order (stable, as a sort would be), without sorting the whole pool.
    const best = topK(pool.length, limit, (i, j) => order(pool[i], pool[j]) || i - j);
    return best.map((index, i) => ({ product: pool[index], score: round3(FALLBACK_MAX_SCORE * (1 - i / Math.max(limit, pool.length))) }));
  }
}

/**
 * The first `k` of the numbers 0…n−1 in `order`, without sorting them all (the same as sorting
 * and slicing, ties kept in their order). `key`, when given, must be the order's first criterion
 * (a higher key first).
 */
export function topK(n: number, k: number, order: (a: number, b: number) => number, key?: Float64Array): number[] {
  const best: number[] = [];
  for (let item = 0; item < n; item++) {
    // `key` (highest first, the order's first criterion) settles most items without a call.
    if (best.length === k && ((key !== undefined && key[item] < key[best[k - 1]]) || order(item, best[k - 1]) >= 0)) continue;
    let lo = 0;
    let hi = best.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (order(item, best[mid]) < 0) hi = mid;
      else lo = mid + 1;
    }
    best.splice(lo, 0, item);
    if (best.length > k) best.pop();
  }
  return best;
}

/**
 * "budget laptop": among the products about as relevant as the best one, cheaper ones gain up
 * to 40% (by log price, so $200 vs $400 counts like $1,000 vs $2,000); less relevant products do
 * not get pulled up by being cheap. Changes `relevance` in place.
 */
function cheaperFirst(relevance: Float64Array, priceOf: (i: number) => number): void {
  let best = 0;
  for (const r of relevance) best = Math.max(best, r);
  const threshold = best * 0.75;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < relevance.length; i++) {
    if (relevance[i] < threshold) continue;
    const log = Math.log(priceOf(i) + 1);
    lo = Math.min(lo, log);
    hi = Math.max(hi, log);
  }
  const span = hi - lo;
  for (let i = 0; i < relevance.length; i++) {
    if (relevance[i] < threshold) relevance[i] *= 0.6;
    else if (span > 0) relevance[i] *= 1 - (0.4 * (Math.log(priceOf(i) + 1) - lo)) / span;
  }
}

/** Explicit filters win; a price hint fills a bound the request left open, unless it contradicts one. */
function effectiveFilters(explicit: ProductFilters, hints: { minPrice?: number; maxPrice?: number }): ProductFilters {
  const out: ProductFilters = {};
  if (explicit.category !== undefined) out.category = explicit.category;
  if (explicit.brand !== undefined) out.brand = explicit.brand;
  if (explicit.inStock !== undefined) out.inStock = explicit.inStock;
  let minPrice = explicit.minPrice ?? hints.minPrice;
  let maxPrice = explicit.maxPrice ?? hints.maxPrice;
  if (minPrice !== undefined && maxPrice !== undefined && minPrice > maxPrice) {
    if (explicit.minPrice === undefined) minPrice = undefined;
    else if (explicit.maxPrice === undefined) maxPrice = undefined;
  }
  if (minPrice !== undefined) out.minPrice = minPrice;
  if (maxPrice !== undefined) out.maxPrice = maxPrice;
  return out;
}
