import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundledCatalogPath, CatalogError, loadCatalog, parseCatalog, type Catalog } from '../../src/assistant/catalog/catalog.js';
import { FALLBACK_MAX_SCORE } from '../../src/assistant/catalog/catalog-search.js';
import { CatalogProvider } from '../../src/assistant/providers/catalog.js';
import { assistantProvider } from '../../src/container/backends.js';
import { AssistantTimeoutError, type AssistantAnswer, type AssistantRequest } from '../../src/assistant/providers/provider.js';

let catalog: Catalog;
let provider: CatalogProvider;
const rawFile = () => JSON.parse(readFileSync(bundledCatalogPath(), 'utf8')) as { products: Record<string, unknown>[] };

beforeAll(async () => {
  catalog = await loadCatalog(undefined);
  provider = new CatalogProvider(catalog);
});

const ask = (query: string, extra: Partial<AssistantRequest> = {}) => provider.answer({ query, limit: 5, ...extra }, new AbortController().signal);
const full = (id: string) => catalog.byId(id)!;

function expectWellFormed(result: AssistantAnswer, limit: number) {
  expect(result.answer.length).toBeGreaterThan(0);
  expect(result.products.length).toBeLessThanOrEqual(limit);
  const scores = result.products.map((p) => p.score);
  for (const s of scores) {
    expect(s).toBeGreaterThanOrEqual(0);
    expect(s).toBeLessThanOrEqual(1);
  }
  expect(scores).toEqual([...scores].sort((a, b) => b - a));
  for (const p of result.products) {
    expect(p.currency).toMatch(/^[A-Z]{3}$/);
    const keys = Object.keys(p).filter((k) => k !== 'url' && k !== 'imageUrl');
    expect(keys.sort()).toEqual(['brand', 'category', 'currency', 'id', 'inStock', 'name', 'price', 'score']);
    // Out-of-stock products only when the question asks for them.
    expect(p.inStock).toBe(true);
  }
}

describe('the bundled catalog', () => {
  it('has at least 500 distinct products across at least 10 categories, priced in USD with 2 decimals', () => {
    expect(catalog.products.length).toBeGreaterThanOrEqual(500);
    expect(new Set(catalog.products.map((p) => p.id)).size).toBe(catalog.products.length);
    expect(new Set(catalog.products.map((p) => p.name)).size).toBe(catalog.products.length);
    expect(new Set(catalog.products.map((p) => p.category)).size).toBeGreaterThanOrEqual(10);
    for (const p of catalog.products) {
      expect(p.currency).toBe('USD');
      expect(Math.round(p.price * 100) / 100).toBe(p.price);
      expect(p.description.length).toBeGreaterThan(20);
    }
  });
});

describe('catalog provider relevance on real questions', () => {
  it('"waterproof hiking boots under $150": every result is a waterproof hiking boot within budget', async () => {
    const result = await ask('waterproof hiking boots under $150');
    expectWellFormed(result, 5);
    expect(result.products).toHaveLength(5);
    for (const p of result.products) {
      expect(p.name).toMatch(/Waterproof.*Hiking Boot/);
      expect(p.price).toBeLessThanOrEqual(150);
    }
    expect(result.answer).toMatch(/I found 5 matches for “waterproof hiking boots” under \$150/);
    expect(result.answer).toContain(result.products[0].name);
  });

  it('"waterproof boots": the top results are waterproof boots', async () => {
    const result = await ask('waterproof boots');
    expectWellFormed(result, 5);
    for (const p of result.products) {
      expect(full(p.id).tags).toEqual(expect.arrayContaining(['boots', 'waterproof']));
      expect(p.category).toBe('shoes');
    }
  });

  it('"budget laptop": laptops only, cheaper than the typical laptop, cheapest-first-ish', async () => {
    const result = await ask('budget laptop');
    expectWellFormed(result, 5);
    expect(result.products).toHaveLength(5);
    const laptops = catalog.products.filter((p) => p.category === 'laptops').map((p) => p.price).sort((a, b) => a - b);
    const median = laptops[Math.floor(laptops.length / 2)];
    for (const p of result.products) {
      expect(p.category).toBe('laptops');
      expect(p.price).toBeLessThan(median);
    }
    // Without the budget hint the same words rank pricier laptops too.
    const plain = await ask('laptop', { limit: 20 });
    expect(Math.max(...plain.products.map((p) => p.price))).toBeGreaterThan(median);
    expect(result.answer).toMatch(/cheaper options first/);
  });

  it('"gift under $30": every result is a gift idea at or below $30', async () => {
    const result = await ask('gift under $30', { limit: 10 });
    expectWellFormed(result, 10);
    expect(result.products).toHaveLength(10);
    for (const p of result.products) {
      expect(p.price).toBeLessThanOrEqual(30);
      expect(full(p.id).tags).toContain('gift');
    }
  });

  it('"wireless noise cancelling headphones": wireless noise-cancelling headphones first', async () => {
    const result = await ask('wireless noise cancelling headphones');
    for (const p of result.products) {
      expect(p.name).toMatch(/Wireless Noise Cancelling (Headphones|Earbuds)/);
      expect(p.category).toBe('audio');
    }
    expect(result.products[0].name).toMatch(/Headphones/);
  });

  it('"running shoes for women": women\'s running shoes', async () => {
    const result = await ask('running shoes for women');
    expect(result.products).toHaveLength(5);
    for (const p of result.products) expect(p.name).toMatch(/Women's .*Running Shoe/);
  });

  it('a question that matches nothing gives an empty list and says so', async () => {
    const result = await ask('xylophone quasar zeppelin');
    expect(result.products).toEqual([]);
    expect(result.answer).toMatch(/couldn't find any products/);
  });
});

describe('catalog provider filters', () => {
  it('category and brand filters match case-insensitively, trimmed and NFC', async () => {
    const brand = full((await ask('hiking boots')).products[0].id).brand;
    const result = await ask('boots', { filters: { category: '  SHOES ', brand: ` ${brand.toUpperCase()} ` }, limit: 20 });
    expect(result.products.length).toBeGreaterThan(0);
    for (const p of result.products) {
      expect(p.category).toBe('shoes');
      expect(p.brand).toBe(brand);
    }
    // "Lumière Skin" written with a combining accent (NFD) still matches.
    const nfd = await ask('moisturizer', { filters: { brand: 'lumie\u0300re skin' } });
    expect(nfd.products.length).toBeGreaterThan(0);
    for (const p of nfd.products) expect(p.brand).toBe('Lumière Skin');
  });

  it('minPrice and maxPrice are inclusive bounds', async () => {
    const some = catalog.products.find((p) => p.category === 'audio' && /Headphones/.test(p.name))!;
    const exact = await ask('headphones', { filters: { minPrice: some.price, maxPrice: some.price }, limit: 20 });
    expect(exact.products.map((p) => p.id)).toContain(some.id);
    for (const p of exact.products) expect(p.price).toBe(some.price);

    const band = await ask('headphones', { filters: { minPrice: 50, maxPrice: 100 }, limit: 20 });
    expect(band.products.length).toBeGreaterThan(0);
    for (const p of band.products) expect(p.price >= 50 && p.price <= 100).toBe(true);
  });

  it('explicit price filters win over price words in the question', async () => {
    const result = await ask('headphones under $500', { filters: { maxPrice: 60 }, limit: 20 });
    expect(result.products.length).toBeGreaterThan(0);
    for (const p of result.products) expect(p.price).toBeLessThanOrEqual(60);
  });

  it('limit is honoured', async () => {
    for (const limit of [1, 3, 20]) {
      const result = await ask('shoes', { limit });
      expectWellFormed(result, limit);
      expect(result.products).toHaveLength(limit);
    }
  });

  it('words that match nothing within the filters fall back to the best products that fit them, with low scores', async () => {
    const result = await ask('waterproof boots', { filters: { category: 'books', maxPrice: 20 } });
    expectWellFormed(result, 5);
    expect(result.products).toHaveLength(5);
    for (const p of result.products) {
      expect(p.category).toBe('books');
      expect(p.price).toBeLessThanOrEqual(20);
      expect(p.score).toBeLessThanOrEqual(FALLBACK_MAX_SCORE);
    }
    expect(result.answer).toMatch(/couldn't find an exact match/);
  });

  it('filters that nothing satisfies give an empty list', async () => {
    const result = await ask('boots', { filters: { category: 'no such category' } });
    expect(result.products).toEqual([]);
    expect(result.answer).toMatch(/couldn't find any products/);
  });
});

describe('catalog provider contract', () => {
  it('an aborted signal is a timeout, not an answer', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(provider.answer({ query: 'boots', limit: 5 }, controller.signal)).rejects.toBeInstanceOf(AssistantTimeoutError);
  });

  it('names itself, its engine version and the catalog hash', () => {
    const made = assistantProvider({ provider: 'catalog', openai: {} }, catalog);
    expect(made.name).toBe('catalog');
    expect(made.model).toMatch(/^catalog-search-v\d+$/);
    expect(made.catalogVersion).toBe(catalog.hash);
  });
});

describe('catalog content hash and validation', () => {
  it('the hash is stable across loads and ignores key order and product order', async () => {
    const again = await loadCatalog(bundledCatalogPath());
    expect(again.hash).toBe(catalog.hash);
    expect(catalog.hash).toMatch(/^[0-9a-f]{64}$/);
    const file = rawFile();
    const shuffled = {
      products: [...file.products].reverse().map((p) => Object.fromEntries(Object.entries(p).reverse())),
    };
    expect(parseCatalog(shuffled).hash).toBe(catalog.hash);
  });

  it('the hash changes when a price changes', () => {
    const file = rawFile();
    file.products[7] = { ...file.products[7], price: (file.products[7].price as number) + 1 };
    expect(parseCatalog(file).hash).not.toBe(catalog.hash);
  });

  it('a bad catalog is rejected with a message naming the product and field', () => {
    const file = rawFile();
    file.products[3] = { ...file.products[3], price: -5 };
    expect(() => parseCatalog(file, 'bad.json')).toThrow(CatalogError);
    expect(() => parseCatalog(file, 'bad.json')).toThrow(/Invalid product catalog bad\.json: products\[3\]\.price/);

    const dup = rawFile();
    dup.products[1] = { ...dup.products[1], id: dup.products[0].id };
    expect(() => parseCatalog(dup)).toThrow(/products\[1\]\.id: duplicate id/);

    const currency = rawFile();
    currency.products[0] = { ...currency.products[0], currency: 'dollars' };
    expect(() => parseCatalog(currency)).toThrow(/products\[0\]\.currency: an ISO 4217 code/);

    expect(() => parseCatalog({ products: [] })).toThrow(/at least one product/);
    expect(() => parseCatalog([])).toThrow(CatalogError);
  });

  it('a missing or non-JSON catalog file is a CatalogError naming the file', async () => {
    await expect(loadCatalog('/nonexistent/products.json')).rejects.toThrow(/Cannot read the product catalog \/nonexistent\/products\.json: ENOENT/);
    await expect(loadCatalog(new URL(import.meta.url).pathname)).rejects.toThrow(/is not valid JSON/);
  });
});

describe('typo tolerance', () => {
  const text = (id: string) => {
    const p = full(id);
    return [p.name, p.description, ...p.tags].join(' ').toLowerCase();
  };

  it('forgives a one-letter typo in a word the catalog does not hold', async () => {
    const { products } = await ask('waterprof boots', { limit: 3 });
    expect(products.length).toBeGreaterThan(0);
    for (const p of products) expect(text(p.id)).toContain('waterproof');
  });

  it('takes a word the catalog holds as meant: "racket" finds rackets, not jackets', async () => {
    const { products } = await ask('racket', { limit: 20 });
    expect(products.length).toBeGreaterThan(0);
    for (const p of products) expect(text(p.id)).toContain('racket');
  });
});

describe('questions that are names of built-in object properties', () => {
  // Each of these once reached a plain object used as a synonym map and threw inside the search.
  const words = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'prototype', '__defineGetter__', 'toLocaleString'];

  it.each(words)('"%s" is answered like any other word', async (word) => {
    const result = await ask(word);
    expectWellFormed(result, 5);
    const inSentence = await ask(`waterproof ${word} boots`);
    expectWellFormed(inSentence, 5);
    expect(inSentence.products.length).toBeGreaterThan(0);
  });
});
