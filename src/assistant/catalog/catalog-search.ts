// Over 300 lines: one immutable search holds the product numbering (with its tie-break ranks), the flat filter arrays and
// the index together, and both of its ways to be made (whole, or from the last one and a change)
// must keep them in step; the ranking's helpers are apart in ranking.ts.
import type { ProductFilters } from '../providers/provider.js';
import type { Catalog, CatalogProduct } from './catalog.js';
import { parseQueryHints } from './query-hints.js';
import type { IndexedFields, Matches, Plan, SearchIndex, SearchOptions } from './search-index.js';
import { SearchIndexBuilder } from './search-index-builder.js';
import { blockSize } from './top-matches.js';
import { cheaperFirst, effectiveFilters, HEAD_WEIGHT, headTerm, topK } from './ranking.js';
import { processTerm, tokenize } from './terms.js';

export interface CatalogHit {
  product: CatalogProduct;
  /** Relevance in [0, 1], rounded to 3 decimals. */
  score: number;
}

export interface CatalogSearchResult {
  /** Best first, at most `limit`. */
  hits: CatalogHit[];
  /** How many products qualified before `limit` was applied (counted when first read). */
  readonly total: number;
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

/** Among equally relevant products: the higher rated first, then the cheaper, then by id. */
const tieOrder = (a: CatalogProduct, b: CatalogProduct) => (b.rating ?? 0) - (a.rating ?? 0) || a.price - b.price || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

const round3 = (n: number) => Math.round(Math.min(1, Math.max(0, n)) * 1000) / 1000;

/** A product's stock value once it left the catalog (never equal to a filter's 0 or 1). */
const GONE = 2;

/** A search's result with its total counted (see `CatalogSearch.search` for why it is spelled out). */
function resultOf(hints: { text: string; preferCheap: boolean }, filters: ProductFilters, hits: CatalogHit[], total: number, fallback: boolean): CatalogSearchResult {
  return { text: hints.text, filters, preferCheap: hints.preferCheap, hits, total, fallback };
}

interface Facets {
  prices: Float64Array;
  /** log(1 + price): what the budget tilt compares, worked out once per product. */
  logPrices: Float64Array;
  stock: Uint8Array;
  categories: Int32Array;
  brands: Int32Array;
}

function growFacets(from: Facets | undefined, capacity: number): Facets {
  const to: Facets = { prices: new Float64Array(capacity), logPrices: new Float64Array(capacity), stock: new Uint8Array(capacity), categories: new Int32Array(capacity), brands: new Int32Array(capacity) };
  if (from) {
    const n = Math.min(capacity, from.prices.length);
    to.prices.set(from.prices.subarray(0, n));
    to.logPrices.set(from.logPrices.subarray(0, n));
    to.stock.set(from.stock.subarray(0, n));
    to.categories.set(from.categories.subarray(0, n));
    to.brands.set(from.brands.subarray(0, n));
  }
  return to;
}

const fieldsOf = (p: CatalogProduct): IndexedFields => ({ name: p.name, brand: p.brand, category: p.category, description: p.description, tags: p.tags.join(' ') });

/** Per block of the whole build's product numbers, at one block size: the lowest tie-break rank, the lowest and highest price. */
interface BlockSet {
  bits: number;
  tie: Int32Array;
  min: Float64Array;
  max: Float64Array;
}

/** What changed in a catalog since the one a search was built over: products put (new or replaced) and ids gone. */
export interface CatalogChanges {
  put: readonly CatalogProduct[];
  deleted: readonly string[];
}

/**
 * Full-text product search over one catalog (BM25+, see search-index.ts). A search is in-process
 * and synchronous, and a CatalogSearch never changes once made: `withChanges` makes the search
 * of the next catalog sharing all it can, while this one keeps answering. Ranking: matches that
 * cover more of the question come first (the thing asked for counts double, a word found only in
 * a description a quarter), then the BM25 score (name counts most, then tags, category and brand,
 * then the description); a "budget" question tilts the order towards cheaper products.
 */
export class CatalogSearch {
  /** How many searches were built whole from a catalog (the rest were made by `withChanges`). */
  static wholeBuilds = 0;

  private index!: SearchIndex;
  /** Per product number: price, in stock (1/0, GONE once removed), category and brand label numbers. */
  private facets: Facets;
  /** Normalised category and brand labels, numbered. */
  private labelIds = new Map<string, number>();
  /** Product number → product (removed and replaced products stay, marked GONE in the facets). */
  private byDoc: CatalogProduct[] = [];
  /** Id → product number: as built, then the changes since. */
  private docOfBuilt = new Map<string, number>();
  private docOfChanged = new Map<string, number>();
  /** Products added or marked gone since the last whole build (their scores use its statistics). */
  private drifted = 0;
  /**
   * The whole build numbers products in stock first, each part by price, so a question's stock
   * and price filters are one range of product numbers: [0, inStock) in stock, [inStock, sorted)
   * sold out. Products added since are numbered from `sorted` on and checked one by one.
   */
  private sorted = 0;
  private inStock = 0;
  /**
   * Per product number of the whole build: its place in the tie-break order (higher rating, then
   * lower price, then id), so equal relevance is settled by one comparison of numbers. Products
   * added by changes are compared field by field.
   */
  private tieRank = new Int32Array(0);
  /**
   * Per block of product numbers (see top-matches.ts), the lowest `tieRank` in it and its lowest
   * and highest price: for blocks of 2^`blockSize.bits` products, then of 2^`blockSize.fineBits`.
   */
  private blockSets: BlockSet[] = [];
  /** Each search's relevance per match, shared by one lineage (a search is synchronous). */
  private relevance: { values: Float64Array };

  /**
   * Builds the whole index synchronously. `deferred`: builds nothing yet (see `CatalogSearch.build`,
   * which fills it in slices).
   */
  constructor(
    readonly catalog: Catalog,
    deferred = false,
  ) {
    const n = catalog.products.length;
    this.facets = growFacets(undefined, n);
    this.relevance = { values: new Float64Array(n) };
    if (!deferred) {
      const builder = new SearchIndexBuilder();
      this.add(builder, this.ordered());
      this.index = builder.finishNow();
      this.rankTies();
      CatalogSearch.wholeBuilds++;
    }
  }

  /**
   * Builds the index a slice of products at a time, yielding to the event loop between slices, so
   * a process keeps answering (from its current index) while the index of a large new catalog is
   * built.
   */
  static async build(catalog: Catalog, sliceSize = 2000): Promise<CatalogSearch> {
    const search = new CatalogSearch(catalog, true);
    const builder = new SearchIndexBuilder();
    const pause = () => new Promise<void>((resolve) => setImmediate(resolve));
    const ordered = search.ordered();
    for (let i = 0; i < ordered.length; i += sliceSize) {
      search.add(builder, ordered.slice(i, i + sliceSize));
      await pause();
    }
    search.index = await builder.finish(pause);
    search.rankTies();
    CatalogSearch.wholeBuilds++;
    return search;
  }

  /** Share of this search's products added or removed since its last whole build. */
  get drift(): number {
    return this.drifted / Math.max(1, this.catalog.products.length);
  }

  /**
   * The search over `catalog`, which is this one's catalog with `changes` applied: it shares the
   * index of every term the changed products do not hold, the products and the labels; only the
   * flat per-product arrays are copied. This search is left as it was.
   */
  withChanges(catalog: Catalog, changes: CatalogChanges): CatalogSearch {
    const next = Object.create(CatalogSearch.prototype) as CatalogSearch;
    const mutable = next as unknown as { catalog: Catalog };
    mutable.catalog = catalog;
    const first = this.byDoc.length;
    const needed = first + changes.put.length;
    next.facets = growFacets(this.facets, needed <= this.facets.prices.length ? this.facets.prices.length : Math.ceil(needed * 1.25));
    next.labelIds = new Map(this.labelIds);
    next.byDoc = [...this.byDoc];
    next.docOfBuilt = this.docOfBuilt;
    next.docOfChanged = new Map(this.docOfChanged);
    next.drifted = this.drifted;
    next.sorted = this.sorted;
    next.inStock = this.inStock;
    next.tieRank = this.tieRank;
    next.blockSets = this.blockSets;
    next.relevance = this.relevance;
    for (const id of [...changes.deleted, ...changes.put.map((p) => p.id)]) {
      const doc = this.docOf(id);
      if (doc === undefined || next.facets.stock[doc] === GONE) continue;
      next.facets.stock[doc] = GONE;
      next.docOfChanged.set(id, -1);
      next.drifted++;
    }
    const added = changes.put.map((p) => {
      const doc = next.place(p);
      next.docOfChanged.set(p.id, doc);
      next.drifted++;
      return { doc, fields: fieldsOf(p) };
    });
    next.index = this.index.withProducts(added);
    return next;
  }

  private docOf(id: string): number | undefined {
    const changed = this.docOfChanged.get(id);
    if (changed !== undefined) return changed < 0 ? undefined : changed;
    return this.docOfBuilt.get(id);
  }

  /** The catalog's products in the order of their numbers: in stock first, then by price. */
  private ordered(): CatalogProduct[] {
    const products = this.catalog.products;
    this.sorted = products.length;
    this.inStock = products.reduce((n, p) => n + (p.inStock ? 1 : 0), 0);
    return [...products].sort((a, b) => Number(b.inStock) - Number(a.inStock) || a.price - b.price);
  }

  private add(builder: SearchIndexBuilder, products: readonly CatalogProduct[]): void {
    for (const p of products) {
      builder.add(fieldsOf(p));
      this.docOfBuilt.set(p.id, this.place(p));
    }
  }

  /** Fills `tieRank` for the whole build's products. */
  private rankTies(): void {
    const order = Array.from({ length: this.sorted }, (_, doc) => doc);
    order.sort((a, b) => tieOrder(this.byDoc[a], this.byDoc[b]));
    this.tieRank = new Int32Array(this.sorted);
    order.forEach((doc, rank) => (this.tieRank[doc] = rank));
    this.blockSets = [blockSize.bits, blockSize.fineBits].map((bits) => {
      const blocks = Math.ceil(this.sorted / (1 << bits));
      const set: BlockSet = { bits, tie: new Int32Array(blocks).fill(this.sorted), min: new Float64Array(blocks).fill(Infinity), max: new Float64Array(blocks).fill(-Infinity) };
      this.tieRank.forEach((rank, doc) => {
        const block = doc >> bits;
        if (rank < set.tie[block]) set.tie[block] = rank;
        const price = this.facets.prices[doc];
        if (price < set.min[block]) set.min[block] = price;
        if (price > set.max[block]) set.max[block] = price;
      });
      return set;
    });
  }

  /** The numbers of the whole build's products that pass the stock and price filters (see `sorted`). */
  private range(filters: ProductFilters, accepts: (doc: number) => boolean): SearchOptions['range'] {
    const prices = this.facets.prices;
    let from = filters.inStock === false ? this.inStock : 0;
    let to = filters.inStock === false ? this.sorted : this.inStock;
    // The first product of [from, to) priced above `bound` (at or above it when `inclusive`).
    const cut = (bound: number, inclusive: boolean) => {
      let lo = from;
      let hi = to;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (prices[mid] < bound || (!inclusive && prices[mid] === bound)) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    if (filters.maxPrice !== undefined) to = cut(filters.maxPrice, false);
    if (filters.minPrice !== undefined) from = cut(filters.minPrice, true);
    // Removed products and label filters are checked one by one.
    const residual = this.drifted > 0 || filters.category !== undefined || filters.brand !== undefined ? accepts : undefined;
    return { from, to, tail: this.sorted, residual };
  }

  /** Gives `p` the next product number and its facets. */
  private place(p: CatalogProduct): number {
    const doc = this.byDoc.length;
    this.byDoc.push(p);
    this.facets.prices[doc] = p.price;
    this.facets.logPrices[doc] = Math.log(p.price + 1);
    this.facets.stock[doc] = p.inStock ? 1 : 0;
    this.facets.categories[doc] = this.labelId(normalizeLabel(p.category));
    this.facets.brands[doc] = this.labelId(normalizeLabel(p.brand));
    return doc;
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
    const words = tokenize(hints.text).flatMap((t) => processTerm(t) ?? []);
    const distinct = new Set(words).size;

    const head = distinct > 1 ? headTerm(hints.text) : undefined;
    const options: SearchOptions = {
      // Prefix and typo tolerance only on longer words: "boot" must not find "book". A word the
      // catalog holds is no typo: "hiking" must not also find "biking".
      prefix: (term) => term.length >= 4,
      fuzzy: (term) => term.length >= 6 && !this.index.has(term),
      accepts,
      range: this.range(filters, accepts),
      weight: (term) => (term === head ? HEAD_WEIGHT : 1),
    };
    let plan: Plan | undefined;
    if (distinct && request.limit > 0) {
      // Only the best are scored.
      const { tieRank, sorted, byDoc } = this;
      const set = this.blockSets[distinct === 1 ? 1 : 0];
      const tie = (a: number, b: number) => (a < sorted && b < sorted ? tieRank[a] - tieRank[b] : tieOrder(byDoc[a], byDoc[b]));
      const cheap = hints.preferCheap ? { logPrices: this.facets.logPrices, blockMin: set.min, blockMax: set.max } : undefined;
      const ranking = { limit: request.limit, pruneFrom: blockSize.pruneFrom, orderedFrom: blockSize.orderedFrom, tieRank, blockTie: set.tie, bits: set.bits, ranked: sorted, tie, cheap };
      const top = this.index.top((plan = this.index.parts(words, options)), ranking);
      if (top && top.docs.length > 0) {
        const hits = top.docs.map((doc, i) => ({ product: byDoc[doc], score: round3(top.relevance[i]) }));
        // Results are spelled out, not spread from a common part: a spread followed by more
        // properties, or a property defined after, makes V8 build the object on its slow path
        // (about 3 µs). This one counts its total only when read.
        return {
          text: hints.text,
          filters,
          preferCheap: hints.preferCheap,
          hits,
          fallback: false,
          get total() {
            return top.total;
          },
        };
      }
    }
    const matches = distinct ? this.index.search(words, options, plan) : undefined;
    if (!matches || matches.count === 0) {
      const narrowed =
        filters.category !== undefined || filters.brand !== undefined || filters.minPrice !== undefined || filters.maxPrice !== undefined || filters.inStock === false;
      if (!narrowed && !(hints.preferCheap && distinct === 0)) return resultOf(hints, filters, [], 0, false);
      const pool = this.byDoc.filter((_p, i) => accepts(i));
      return resultOf(hints, filters, this.fallback(pool, hints.preferCheap, request.limit), pool.length, true);
    }
    return resultOf(hints, filters, this.rank(matches, hints.preferCheap, request.limit), matches.count, false);
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
   * The best `limit` matches, best first: relevance is the share of the question a product
   * covers (to the power 1.5: covering every word matters more than a high score on a few),
   * times its score against the best one. Only the best are put in order.
   */
  private rank(matches: Matches, preferCheap: boolean, limit: number): CatalogHit[] {
    const { count, docs, scores, cover } = matches;
    const products = this.byDoc;
    const logPrices = this.facets.logPrices;
    let top = 0;
    for (let i = 0; i < count; i++) if (scores[i] > top) top = scores[i];
    if (this.relevance.values.length < count) this.relevance.values = new Float64Array(Math.ceil(count * 1.25));
    const relevance = this.relevance.values.subarray(0, count);
    for (let i = 0; i < count; i++) {
      const c = Math.min(1, cover[i]);
      relevance[i] = c * Math.sqrt(c) * (0.4 + (0.6 * scores[i]) / top);
    }
    if (preferCheap) cheaperFirst(relevance, (i) => logPrices[docs[i]]);
    const { tieRank, sorted } = this;
    const order = (a: number, b: number) => {
      // Most comparisons are settled by relevance alone, most ties by the tie-break rank.
      if (relevance[a] !== relevance[b]) return relevance[b] - relevance[a];
      const da = docs[a];
      const db = docs[b];
      return da < sorted && db < sorted ? tieRank[da] - tieRank[db] : tieOrder(products[da], products[db]);
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
