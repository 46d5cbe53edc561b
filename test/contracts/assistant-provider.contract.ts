import { describe, expect, it } from 'vitest';
import type { Catalog } from '../../src/assistant/catalog/catalog.js';
import { AssistantTimeoutError, type AssistantAnswer, type AssistantProvider, type AssistantRequest } from '../../src/assistant/providers/provider.js';
import { suiteHarness } from './harness.js';

export interface AssistantProviderHarness {
  provider: AssistantProvider;
  catalog: Catalog;
  dispose(): Promise<void>;
}

/** The rules of `AssistantProvider` (src/assistant/providers/provider.ts), run against every provider. */
export function assistantProviderContract(name: string, make: () => Promise<AssistantProviderHarness>): void {
  describe(`${name} assistant provider`, () => {
    const h = suiteHarness(make);

    const ask = (request: AssistantRequest) => h.provider.answer(request, new AbortController().signal);

    function expectValid(result: AssistantAnswer, limit: number) {
      expect(result.answer.trim().length).toBeGreaterThan(0);
      expect(result.products.length).toBeLessThanOrEqual(limit);
      expect(new Set(result.products.map((p) => p.id)).size).toBe(result.products.length);
      for (const p of result.products) {
        const real = h.catalog.byId(p.id);
        expect(real, `${p.id} is a catalog product`).toBeDefined();
        expect(p).toEqual({
          id: real!.id,
          name: real!.name,
          brand: real!.brand,
          category: real!.category,
          price: real!.price,
          currency: real!.currency,
          score: p.score,
          // The product's link, picture and stock, where the catalog has them.
          ...(real!.url !== undefined ? { url: real!.url } : {}),
          ...(real!.imageUrl !== undefined ? { imageUrl: real!.imageUrl } : {}),
          inStock: real!.inStock,
        });
        expect(p.score).toBeGreaterThanOrEqual(0);
        expect(p.score).toBeLessThanOrEqual(1);
      }
      const scores = result.products.map((p) => p.score);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
    }

    it('answers with real catalog products, at most limit, scores in [0, 1] highest first', async () => {
      for (const limit of [1, 4]) {
        const result = await ask({ query: 'waterproof hiking boots', limit });
        expectValid(result, limit);
        expect(result.products.length).toBeGreaterThan(0);
      }
    });

    it('every product satisfies the filters: category and brand case-insensitively, prices inclusive', async () => {
      const sample = h.catalog.products.find((p) => p.category === 'shoes' && /Running Shoe/.test(p.name))!;
      const filters = { category: ' SHOES', brand: sample.brand.toLowerCase(), minPrice: sample.price, maxPrice: sample.price + 50 };
      const result = await ask({ query: 'running shoes', filters, limit: 20 });
      expectValid(result, 20);
      expect(result.products.map((p) => p.id)).toContain(sample.id);
      for (const p of result.products) {
        expect(p.category).toBe('shoes');
        expect(p.brand).toBe(sample.brand);
        expect(p.price).toBeGreaterThanOrEqual(sample.price);
        expect(p.price).toBeLessThanOrEqual(sample.price + 50);
      }
    });

    it('price words in the question act as filters', async () => {
      const result = await ask({ query: 'gift under $30', limit: 10 });
      expectValid(result, 10);
      expect(result.products.length).toBeGreaterThan(0);
      for (const p of result.products) expect(p.price).toBeLessThanOrEqual(30);
    });

    it('nothing found is an empty list with an answer that says so', async () => {
      const result = await ask({ query: 'boots', filters: { brand: 'No Such Brand' }, limit: 5 });
      expect(result.products).toEqual([]);
      expect(result.answer).toMatch(/couldn't find/i);
    });

    it('a fired signal settles with AssistantTimeoutError', async () => {
      const controller = new AbortController();
      controller.abort();
      await expect(h.provider.answer({ query: 'boots', limit: 5 }, controller.signal)).rejects.toBeInstanceOf(AssistantTimeoutError);
    });

    it('names its provider, model and the catalog version it answers from', () => {
      expect(['catalog', 'openai']).toContain(h.provider.name);
      expect(h.provider.model.length).toBeGreaterThan(0);
      expect(h.provider.catalogVersion).toBe(h.catalog.hash);
    });
  });
}
