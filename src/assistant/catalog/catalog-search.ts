import MiniSearch, { type SearchResult } from 'minisearch';
import type { ProductFilters } from '../providers/provider.js';
import type { Catalog, CatalogProduct } from './catalog.js';
import { parseQueryHints } from './query-hints.js';
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

interface IndexedProduct {
  id: string;
  name: string;
  brand: string;
  category: string;
  description: string;
  tags: string;
}

/**
 * Full-text product search over one catalog (MiniSearch, BM25+). The index is built once; a
 * search is in-process and synchronous. Ranking: matches that contain more of the question's
 * words come first, then the BM25 score (name counts most, then tags, category and brand, then
 * the description); a "budget" question tilts the order towards cheaper products.
 */
export class CatalogSearch {
  private readonly index: MiniSearch<IndexedProduct>;
  private readonly labels = new Map<string, { category: string; brand: string }>();
  /** Every term of the catalog: a question's word found here needs no typo tolerance. */
  private readonly vocabulary = new Set<string>();

  /**
   * Builds the whole index synchronously. `deferred`: builds nothing yet (see `CatalogSearch.build`,
   * which fills it in slices).
   */
  constructor(
    readonly catalog: Catalog,
    deferred = false,
  ) {
    this.index = new MiniSearch<IndexedProduct>({
      fields: ['name', 'brand', 'category', 'description', 'tags'],
      tokenize,
      processTerm,
      searchOptions: {
        boost: { name: 3, tags: 2, category: 2, brand: 2, description: 1 },
        // Prefix and typo tolerance only on longer words: "boot" must not find "book". A word the
        // catalog holds is no typo: "hiking" must not also find "biking" (and the fuzzy walk of
        // the index is most of a search's cost).
        prefix: (term) => term.length >= 4,
        fuzzy: (term) => (term.length >= 6 && !this.vocabulary.has(term) ? 0.2 : false),
        maxFuzzy: 1,
        combineWith: 'OR',
      },
    });
    if (!deferred) this.add(catalog.products);
  }

  /**
   * Builds the index a slice of products at a time, yielding to the event loop between slices, so
   * a process keeps answering (from its current index) while the index of a large new catalog is
   * built.
   */
  static async build(catalog: Catalog, sliceSize = 2000): Promise<CatalogSearch> {
    const search = new CatalogSearch(catalog, true);
    for (let i = 0; i < catalog.products.length; i += sliceSize) {
      search.add(catalog.products.slice(i, i + sliceSize));
      await new Promise((resolve) => setImmediate(resolve));
    }
    return search;
  }

  private add(products: readonly CatalogProduct[]): void {
    for (const p of products) {
      for (const text of [p.name, p.brand, p.category, p.description, ...p.tags]) for (const term of termsOf(text)) this.vocabulary.add(term);
      this.labels.set(p.id, { category: normalizeLabel(p.category), brand: normalizeLabel(p.brand) });
    }
    this.index.addAll(
      products.map((p) => ({
        id: p.id,
        name: p.name,
        brand: p.brand,
        category: p.category,
        description: p.description,
        tags: p.tags.join(' '),
      })),
    );
  }

  search(request: { query: string; filters?: ProductFilters; limit: number }): CatalogSearchResult {
    const hints = parseQueryHints(request.query);
    const filters = effectiveFilters(request.filters ?? {}, hints);
    const accepts = this.predicate(filters);
    const terms = termsOf(hints.text);
    const base = { text: hints.text, filters, preferCheap: hints.preferCheap };

    const matches = terms.length
      ? this.index.search(hints.text, { filter: (r) => accepts(this.catalog.byId(String(r.id))!) })
      : [];
    if (matches.length === 0) {
      const narrowed =
        filters.category !== undefined || filters.brand !== undefined || filters.minPrice !== undefined || filters.maxPrice !== undefined || filters.inStock === false;
      if (!narrowed && !(hints.preferCheap && terms.length === 0)) return { ...base, hits: [], total: 0, fallback: false };
      const pool = this.catalog.products.filter(accepts);
      return { ...base, hits: this.fallback(pool, hints.preferCheap, request.limit), total: pool.length, fallback: true };
    }

    return { ...base, hits: this.rank(matches, terms.length, hints.preferCheap, request.limit), total: matches.length, fallback: false };
  }

  private predicate(filters: ProductFilters): (p: CatalogProduct) => boolean {
    const category = filters.category === undefined ? undefined : normalizeLabel(filters.category);
    const brand = filters.brand === undefined ? undefined : normalizeLabel(filters.brand);
    const inStock = filters.inStock ?? true;
    return (p) => {
      const labels = this.labels.get(p.id)!;
      return (
        p.inStock === inStock &&
        (category === undefined || labels.category === category) &&
        (brand === undefined || labels.brand === brand) &&
        (filters.minPrice === undefined || p.price >= filters.minPrice) &&
        (filters.maxPrice === undefined || p.price <= filters.maxPrice)
      );
    };
  }

  /** The best `limit` matches, best first (a partial selection: a large catalog matches thousands). */
  private rank(matches: SearchResult[], termCount: number, preferCheap: boolean, limit: number): CatalogHit[] {
    const top = matches[0].score;
    let scored = matches.map((m) => {
      const coverage = Math.min(1, new Set(m.queryTerms).size / termCount);
      // Covering every word of the question matters more than a high BM25 score on a few.
      const relevance = coverage ** 1.5 * (0.4 + 0.6 * (m.score / top));
      return { product: this.catalog.byId(String(m.id))!, relevance };
    });
    if (preferCheap) scored = cheaperFirst(scored);
    return topK(scored, limit, byRelevance).map((s) => ({ product: s.product, score: round3(s.relevance) }));
  }

  private fallback(pool: CatalogProduct[], preferCheap: boolean, limit: number): CatalogHit[] {
    const ordered = [...pool].sort((a, b) =>
      preferCheap
        ? a.price - b.price || (b.rating ?? 0) - (a.rating ?? 0)
        : (b.rating ?? 0) - (a.rating ?? 0) || a.price - b.price || (a.id < b.id ? -1 : 1),
    );
    return ordered.slice(0, limit).map((product, i) => ({ product, score: round3(FALLBACK_MAX_SCORE * (1 - i / Math.max(limit, ordered.length))) }));
  }
}

type Scored = { product: CatalogProduct; relevance: number };

/** Most relevant first; ties: better rated, then cheaper, then by id (a total order). */
const byRelevance = (a: Scored, b: Scored) =>
  b.relevance - a.relevance || (b.product.rating ?? 0) - (a.product.rating ?? 0) || a.product.price - b.product.price || (a.product.id < b.product.id ? -1 : 1);

/** The first `k` of `items` in `order`, without sorting them all: the same as sort().slice(0, k). */
export function topK<T>(items: readonly T[], k: number, order: (a: T, b: T) => number): T[] {
  if (items.length <= k * 4) return [...items].sort(order).slice(0, k);
  const best: T[] = [];
  for (const item of items) {
    if (best.length === k && order(item, best[k - 1]) >= 0) continue;
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
 * not get pulled up by being cheap.
 */
function cheaperFirst<T extends { product: CatalogProduct; relevance: number }>(scored: T[]): T[] {
  const best = scored.reduce((max, s) => Math.max(max, s.relevance), 0);
  const relevant = new Set(scored.filter((s) => s.relevance >= best * 0.75));
  const logs = [...relevant].map((s) => Math.log(s.product.price + 1));
  const lo = logs.reduce((min, v) => Math.min(min, v), Infinity);
  const span = logs.reduce((max, v) => Math.max(max, v), -Infinity) - lo;
  return scored.map((s) => {
    if (!relevant.has(s)) return { ...s, relevance: s.relevance * 0.6 };
    if (span === 0) return s;
    const expensive = (Math.log(s.product.price + 1) - lo) / span;
    return { ...s, relevance: s.relevance * (1 - 0.4 * expensive) };
  });
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
