import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCatalog, type CatalogProduct } from '../../src/assistant/catalog/catalog.js';
import { CatalogSearch, type CatalogSearchResult } from '../../src/assistant/catalog/catalog-search.js';
import type { SearchIndex } from '../../src/assistant/catalog/search-index.js';
import { parseQueryHints } from '../../src/assistant/catalog/query-hints.js';
import { cheaperFirst, effectiveFilters, HEAD_WEIGHT, headTerm } from '../../src/assistant/catalog/ranking.js';
import { processTerm, tokenize } from '../../src/assistant/catalog/terms.js';
import { blockSize } from '../../src/assistant/catalog/top-matches.js';
import type { ProductFilters } from '../../src/assistant/providers/provider.js';

/**
 * The search's best results are those of scoring every product that holds a word of the question
 * and sorting them all: for random small catalogs full of equal products (the generated catalogs'
 * many equal scores), random questions, filters and single-product changes. The reference below
 * reads the same index exhaustively (no product-number range, every filter checked one by one)
 * and orders every match with the documented tie-break.
 */

const WORDS = ['boot', 'boots', 'hiking', 'waterproof', 'trail', 'gift', 'gifts', 'kettle', 'electric', 'women', 'running', 'shoe', 'shoes', 'bed', 'travel'];
const CATEGORIES = ['shoes', 'gifts', 'home'];
const BRANDS = ['Northpeak', 'Acme'];

const words = (max: number) => fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: max }).map((w) => w.join(' '));
const product = (id: number) =>
  fc.record({
    id: fc.constant(`p-${id}`),
    name: words(3),
    brand: fc.constantFrom(...BRANDS),
    category: fc.constantFrom(...CATEGORIES),
    price: fc.constantFrom(10, 25, 25, 40, 99.99, 150),
    currency: fc.constant('USD'),
    description: fc.oneof(fc.constant(''), words(5)),
    tags: fc.array(fc.constantFrom(...WORDS), { maxLength: 2 }),
    rating: fc.option(fc.constantFrom(3, 4, 4.5, 5), { nil: undefined }),
    inStock: fc.constantFrom(true, true, true, true, false),
  }) as fc.Arbitrary<CatalogProduct>;

const catalogOf = (size: number) => fc.tuple(...Array.from({ length: size }, (_, i) => product(i)));
/** Prices spread wide, for the budget tilt (which reads the lowest and highest price of the best). */
const spreadPrices = (size: number) =>
  fc.tuple(catalogOf(size), fc.array(fc.integer({ min: 1, max: 2000 }), { minLength: size, maxLength: size })).map(([products, prices]) => products.map((p, i) => ({ ...p, price: prices[i] / 4 })));
const question = fc.tuple(words(4), fc.constantFrom('', ' under $50', ' over $20', ' cheap', ' between $20 and $100', ' waterprof'), fc.boolean()).map(([w, hint, typo]) => (typo ? w.replace('o', '') : w) + hint);
const filters: fc.Arbitrary<ProductFilters> = fc.record(
  {
    category: fc.constantFrom(...CATEGORIES, 'Gifts '),
    brand: fc.constantFrom(...BRANDS),
    inStock: fc.boolean(),
    minPrice: fc.constantFrom(0, 20, 25),
    maxPrice: fc.constantFrom(25, 40, 100),
  },
  { requiredKeys: [] },
);

const normalize = (s: string) => s.normalize('NFC').trim().toLowerCase();

/** Every match scored and sorted: what the search must return. */
function exhaustive(search: CatalogSearch, request: { query: string; filters: ProductFilters; limit: number }): { id: string; score: number }[] {
  const internals = search as unknown as { index: SearchIndex; byDoc: CatalogProduct[]; facets: { stock: Uint8Array } };
  const hints = parseQueryHints(request.query);
  const f = effectiveFilters(request.filters, hints);
  const terms = tokenize(hints.text).flatMap((t) => processTerm(t) ?? []);
  if (new Set(terms).size === 0) return [];
  const head = new Set(terms).size > 1 ? headTerm(hints.text) : undefined;
  const live = (doc: number) => internals.facets.stock[doc] !== 2 && search.catalog.byId(internals.byDoc[doc].id) === internals.byDoc[doc];
  const accepts = (doc: number) => {
    const p = internals.byDoc[doc];
    return (
      live(doc) &&
      p.inStock === (f.inStock ?? true) &&
      (f.category === undefined || normalize(p.category) === normalize(f.category)) &&
      (f.brand === undefined || normalize(p.brand) === normalize(f.brand)) &&
      (f.minPrice === undefined || p.price >= f.minPrice) &&
      (f.maxPrice === undefined || p.price <= f.maxPrice)
    );
  };
  const m = internals.index.search(terms, {
    prefix: (t) => t.length >= 4,
    fuzzy: (t) => t.length >= 6 && !internals.index.has(t),
    accepts,
    weight: (t) => (t === head ? HEAD_WEIGHT : 1),
  });
  if (m.count === 0) return [];
  const docs = Array.from(m.docs.subarray(0, m.count));
  const scores = Array.from(m.scores.subarray(0, m.count));
  const covers = Array.from(m.cover.subarray(0, m.count));
  const top = Math.max(...scores);
  const relevance = Float64Array.from(scores, (s, i) => {
    const c = Math.min(1, covers[i]);
    return c * Math.sqrt(c) * (0.4 + (0.6 * s) / top);
  });
  if (hints.preferCheap) cheaperFirst(relevance, (i) => Math.log(internals.byDoc[docs[i]].price + 1));
  const order = docs.map((_, i) => i);
  order.sort((a, b) => {
    if (relevance[a] !== relevance[b]) return relevance[b] - relevance[a];
    const pa = internals.byDoc[docs[a]];
    const pb = internals.byDoc[docs[b]];
    return (pb.rating ?? 0) - (pa.rating ?? 0) || pa.price - pb.price || (pa.id < pb.id ? -1 : 1);
  });
  return order.slice(0, request.limit).map((i) => ({ id: internals.byDoc[docs[i]].id, score: Math.round(Math.min(1, Math.max(0, relevance[i])) * 1000) / 1000 }));
}

const answer = (r: CatalogSearchResult) => (r.fallback ? [] : r.hits.map((h) => ({ id: h.product.id, score: h.score })));

// Read in score order where a question can be (see `inScoreOrder`), or every question's blocks bounded one by one.
describe.each([
  { reading: 'in score order', orderedFrom: 0 },
  { reading: 'block by block', orderedFrom: Infinity },
])('the best results equal an exhaustive scoring, blocks read $reading', ({ orderedFrom }) => {
  // Blocks of 4 products (2 for questions of one word), so small catalogs have many and most are
  // skipped; every pair and group of the question's terms bounds the blocks jointly.
  const settings = { ...blockSize };
  beforeAll(() => Object.assign(blockSize, { bits: 2, fineBits: 1, pruneFrom: 0, orderedFrom, pairsFrom: 0 }));
  afterAll(() => Object.assign(blockSize, settings));

  it('for random catalogs, questions and filters', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }).chain(catalogOf), fc.array(fc.tuple(question, filters, fc.integer({ min: 1, max: 8 })), { minLength: 1, maxLength: 5 }), (products, asks) => {
        const search = new CatalogSearch(makeCatalog([...products], 'h', 'test'));
        for (const [query, f, limit] of asks) expect(answer(search.search({ query, filters: f, limit }))).toEqual(exhaustive(search, { query, filters: f, limit }));
      }),
      { numRuns: 300 },
    );
  });

  it('for the best few of larger catalogs, where many matches are read after the first few are held', () => {
    fc.assert(
      fc.property(fc.integer({ min: 40, max: 120 }).chain(catalogOf), fc.array(fc.tuple(words(3), fc.integer({ min: 1, max: 3 })), { minLength: 1, maxLength: 5 }), (products, asks) => {
        const search = new CatalogSearch(makeCatalog([...products], 'h', 'test'));
        for (const [query, limit] of asks) expect(answer(search.search({ query, filters: {}, limit }))).toEqual(exhaustive(search, { query, filters: {}, limit }));
      }),
      { numRuns: 300 },
    );
  });

  it('for budget questions over catalogs of many prices', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 120 }).chain(spreadPrices), fc.array(fc.tuple(words(3), fc.constantFrom('budget ', 'cheap ', 'affordable '), fc.constantFrom('', ' under $100', ' over $50'), fc.integer({ min: 1, max: 8 })), { minLength: 1, maxLength: 5 }), (products, asks) => {
        const search = new CatalogSearch(makeCatalog([...products], 'h', 'test'));
        for (const [w, budget, hint, limit] of asks) {
          const query = budget + w + hint;
          expect(answer(search.search({ query, filters: {}, limit }))).toEqual(exhaustive(search, { query, filters: {}, limit }));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('after single-product changes (new, replaced and removed products)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 40 }).chain(catalogOf),
        fc.array(fc.tuple(fc.nat(), fc.boolean(), product(1000)), { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(question, filters, fc.integer({ min: 1, max: 8 })), { minLength: 1, maxLength: 4 }),
        (products, changes, asks) => {
          let search = new CatalogSearch(makeCatalog([...products], 'h', 'test'));
          let current = [...products];
          changes.forEach(([pick, remove, fresh], n) => {
            const target = current[pick % current.length];
            if (remove && current.length > 1) {
              current = current.filter((p) => p !== target);
              search = search.withChanges(makeCatalog(current, `h${n}`, 'test'), { put: [], deleted: [target.id] });
            } else {
              // Replaced in place, or (every other change) added under a new id.
              const put = { ...fresh, id: n % 2 ? target.id : `new-${n}` };
              current = [...current.filter((p) => p.id !== put.id), put];
              search = search.withChanges(makeCatalog(current, `h${n}`, 'test'), { put: [put], deleted: [] });
            }
          });
          for (const [query, f, limit] of asks) expect(answer(search.search({ query, filters: f, limit }))).toEqual(exhaustive(search, { query, filters: f, limit }));
        },
      ),
      { numRuns: 200 },
    );
  });
});
