import { readFileSync } from 'node:fs';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledCatalogPath, loadCatalog, parseCatalog, type Catalog } from '../../src/assistant/catalog/catalog.js';
import { CatalogProvider } from '../../src/assistant/providers/catalog.js';
import { CatalogPoolProvider } from '../../src/assistant/providers/catalog-pool.js';
import { createProvider } from '../../src/assistant/providers/create-provider.js';
import { AssistantTimeoutError } from '../../src/assistant/providers/provider.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { AUTH_SECRET, registeredToken } from '../support/tokens.js';

const QUESTIONS = [
  { query: 'waterproof hiking boots under $150', limit: 5 },
  { query: 'budget laptop', limit: 3 },
  { query: 'gift under $30', limit: 5 },
  { query: 'wireless noise cancelling headphones', limit: 5, filters: { maxPrice: 200 } },
  { query: 'running shoes for women', limit: 8, filters: { category: 'SHOES' } },
  { query: 'zzzz nothing like this', limit: 5 },
];
const signal = () => new AbortController().signal;

describe('the catalog assistant on search threads', () => {
  let catalog: Catalog;
  let pooled: CatalogPoolProvider;

  beforeAll(async () => {
    catalog = await loadCatalog(undefined);
    pooled = new CatalogPoolProvider(catalog, { threads: 2, catalogPath: undefined });
  });
  afterAll(async () => {
    await pooled?.close();
  });

  it('answers exactly as the in-process search does, under the same name, model and catalog version', async () => {
    const inline = new CatalogProvider(catalog);
    expect([pooled.name, pooled.model, pooled.catalogVersion]).toEqual([inline.name, inline.model, inline.catalogVersion]);
    const threaded = await Promise.all(QUESTIONS.map((q) => pooled.answer(q, signal())));
    const direct = await Promise.all(QUESTIONS.map((q) => inline.answer(q, signal())));
    expect(threaded).toEqual(direct);
    expect(threaded[0]!.products.length).toBeGreaterThan(0);
  });

  it('treats an aborted signal as a timeout, not an answer', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(pooled.answer(QUESTIONS[0]!, controller.signal)).rejects.toBeInstanceOf(AssistantTimeoutError);
  });

  it('refuses to answer from a catalog other than the one the API loaded', async () => {
    const file = JSON.parse(readFileSync(bundledCatalogPath(), 'utf8')) as { products: { price: number }[] };
    file.products[0]!.price += 1;
    const other = parseCatalog(file);
    const mismatched = new CatalogPoolProvider(other, { threads: 1, catalogPath: undefined });
    try {
      await expect(mismatched.answer(QUESTIONS[0]!, signal())).rejects.toThrow(/catalog changed/);
    } finally {
      await mismatched.close();
    }
  });

  it('is what CATALOG_SEARCH_THREADS > 0 builds, and 0 keeps the search on the event loop', async () => {
    const settings = { provider: 'catalog' as const, catalogPath: undefined, openai: {}, timeoutMs: 1000 };
    const threaded = createProvider({ assistant: { ...settings, searchThreads: 1 } }, catalog);
    expect(threaded).toBeInstanceOf(CatalogPoolProvider);
    await threaded.close?.();
    expect(createProvider({ assistant: { ...settings, searchThreads: 0 } }, catalog)).toBeInstanceOf(CatalogProvider);
  });
});

describe('an app with search threads', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ STORAGE_BACKEND: 'memory', CACHE_BACKEND: 'memory', CATALOG_SEARCH_THREADS: '1', AUTH_JWT_SECRET: AUTH_SECRET });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers a fresh question, then serves it from the cache', async () => {
    const token = await registeredToken('threads-shopper');
    const auth = { Authorization: `Bearer ${token}` };
    await request(t.app).put('/api/v1/consent').set(auth).send({ termsAccepted: true, marketingConsent: false }).expect(200);
    const fresh = await request(t.app).post('/api/v1/assistant/query').set(auth).send({ query: 'waterproof hiking boots', limit: 3 }).expect(200);
    expect(fresh.headers['x-cache']).toBe('MISS');
    expect(fresh.body.products.length).toBeGreaterThan(0);
    const again = await request(t.app).post('/api/v1/assistant/query').set(auth).send({ query: 'Waterproof  hiking boots', limit: 3 }).expect(200);
    expect(again.headers['x-cache']).toBe('HIT');
    expect(again.body.products).toEqual(fresh.body.products);
  });
});
