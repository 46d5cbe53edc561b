import MiniSearch from 'minisearch';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog, type Catalog } from '../../src/assistant/catalog/catalog.js';
import type { SearchIndex } from '../../src/assistant/catalog/search-index.js';
import { SearchIndexBuilder } from '../../src/assistant/catalog/search-index-builder.js';
import { processTerm, termsOf, tokenize } from '../../src/assistant/catalog/terms.js';

/**
 * The catalog's index scores as MiniSearch (the library it replaced) did with the same options:
 * the same products match every question, with the same scores, so answers rank as before.
 */
let catalog: Catalog;
let library: MiniSearch;
let index: SearchIndex;
let vocabulary: Set<string>;

beforeAll(async () => {
  catalog = await loadCatalog(undefined);
  vocabulary = new Set(catalog.products.flatMap((p) => [p.name, p.brand, p.category, p.description, ...p.tags].flatMap(termsOf)));
  library = new MiniSearch({
    fields: ['name', 'brand', 'category', 'description', 'tags'],
    tokenize,
    processTerm,
    searchOptions: {
      boost: { name: 3, tags: 2, category: 2, brand: 2, description: 1 },
      prefix: (term) => term.length >= 4,
      fuzzy: (term) => (term.length >= 6 && !vocabulary.has(term) ? 0.2 : false),
      maxFuzzy: 1,
      combineWith: 'OR',
    },
  });
  library.addAll(catalog.products.map((p) => ({ ...p, tags: p.tags.join(' ') })));
  const builder = new SearchIndexBuilder();
  for (const p of catalog.products) builder.add({ name: p.name, brand: p.brand, category: p.category, description: p.description, tags: p.tags.join(' ') });
  index = builder.finishNow();
});

const QUESTIONS = [
  'waterproof hiking boots',
  'boots boots',
  'budget laptop',
  'wireless noise cancelling headphones',
  'gift for a runner',
  'waterprof boots',
  'headphonez',
  // Typos that trade one letter for another the word lacks.
  'hikimg boots',
  'budget laptip',
  'wireless headphomes',
  'kettle',
  'yoga mat for women',
  'usb-c charger',
  'the',
  'zzzz nothing here',
];

describe('the catalog index against MiniSearch', () => {
  for (const question of QUESTIONS) {
    it(`"${question}": the same products, with the same scores`, () => {
      const expected = new Map(library.search(question).map((r) => [String(r.id), r.score]));
      const terms = tokenize(question).flatMap((t) => processTerm(t) ?? []);
      const matches = index.search(terms, { prefix: (t) => t.length >= 4, fuzzy: (t) => t.length >= 6 && !index.has(t), accepts: () => true });
      const actual = new Map<string, number>();
      for (let i = 0; i < matches.count; i++) actual.set(catalog.products[matches.docs[i]].id, matches.scores[i]);
      expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
      for (const [id, score] of expected) expect(actual.get(id)).toBeCloseTo(score, 9);
    });
  }
});
