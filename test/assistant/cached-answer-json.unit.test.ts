import express from 'express';
import fc from 'fast-check';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import type { QueryResult } from '../../src/assistant/assistant.service.js';
import { queryResultJson } from '../../src/assistant/query-response-json.js';
import { answerToJson, jsonEqual, StoredAnswers } from '../../src/assistant/stored-answer.js';
import type { JsonValue } from '../../src/cache/cache.store.js';
import { sendJsonText } from '../../src/http/json-text.js';

const product = fc.record(
  {
    id: fc.string(),
    name: fc.string(),
    brand: fc.string(),
    category: fc.string(),
    price: fc.double({ noNaN: true, noDefaultInfinity: true }),
    currency: fc.string(),
    score: fc.double({ min: 0, max: 1, noNaN: true }),
    url: fc.webUrl(),
    imageUrl: fc.webUrl(),
    inStock: fc.boolean(),
  },
  { requiredKeys: ['id', 'name', 'brand', 'category', 'price', 'currency', 'score', 'inStock'] },
);

const body: fc.Arbitrary<QueryResult> = fc.record({
  answer: fc.string({ unit: 'binary' }),
  products: fc.array(product, { maxLength: 6 }),
  cached: fc.boolean(),
  creditsCharged: fc.nat(),
  credits: fc.record({ available: fc.nat(), max: fc.nat(), resetsAt: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()) }),
  conversationId: fc.string(),
  resolvedQuery: fc.record(
    {
      query: fc.string({ unit: 'binary' }),
      filters: fc.record({ category: fc.string(), brand: fc.string(), minPrice: fc.nat(), maxPrice: fc.nat(), inStock: fc.boolean() }, { requiredKeys: [] }),
      offset: fc.nat(),
    },
    { requiredKeys: ['query', 'filters'] },
  ),
});

describe("a cached answer's JSON", () => {
  it('is the bytes JSON.stringify makes of the body, with the products given or not', () => {
    fc.assert(
      fc.property(body, (b) => {
        expect(queryResultJson(b)).toBe(JSON.stringify(b));
        expect(queryResultJson(b, JSON.stringify(b.products))).toBe(JSON.stringify(b));
      }),
      { numRuns: 500 },
    );
  });

  it('goes out with the headers and bytes res.json sends', async () => {
    const value = { answer: 'é'.repeat(600), products: [], cached: true, creditsCharged: 0 };
    const app = express();
    app.set('etag', false);
    app.post('/json', (_req, res) => {
      res.set('X-Cache', 'HIT').json(value);
    });
    app.post('/text', (_req, res) => {
      res.set('X-Cache', 'HIT');
      sendJsonText(res, JSON.stringify(value));
    });
    const [viaJson, viaText] = await Promise.all([request(app).post('/json'), request(app).post('/text')]);
    const strip = (h: Record<string, string>) => Object.entries(h).filter(([name]) => name !== 'date');
    expect(viaText.status).toBe(200);
    expect(strip(viaText.headers)).toEqual(strip(viaJson.headers));
    expect(viaText.text).toBe(viaJson.text);
  });
});

describe('StoredAnswers', () => {
  const answer = {
    answer: 'Two boots.',
    products: [{ id: 'p1', name: 'Boot', brand: 'B', category: 'Shoes', price: 10, currency: 'EUR', score: 0.5, url: 'https://x.test/p1', inStock: true }],
  };
  const entry = () => JSON.parse(JSON.stringify(answerToJson(answer))) as JsonValue;

  it('validates and serialises an entry once, and serves it again while it reads the same', () => {
    const stored = new StoredAnswers();
    const first = stored.read('k', entry())!;
    expect(first.answer).toEqual(answer);
    expect(first.productsJson).toBe(JSON.stringify(first.answer.products));
    expect(Object.isFrozen(first.answer.products[0])).toBe(true);
    expect(stored.read('k', entry())).toBe(first);
  });

  it('validates an entry rewritten under the same key afresh', () => {
    const stored = new StoredAnswers();
    const first = stored.read('k', entry())!;
    const rewritten = { ...answer, products: [{ ...answer.products[0]!, price: 12 }] };
    const second = stored.read('k', answerToJson(rewritten))!;
    expect(second).not.toBe(first);
    expect(second.answer.products[0]!.price).toBe(12);
    expect(JSON.parse(second.productsJson)).toEqual([expect.objectContaining({ price: 12 })]);
  });

  it('never serves an entry without an answer\'s shape, even under a key served before', () => {
    const stored = new StoredAnswers();
    stored.read('k', entry());
    expect(stored.read('k', { answer: 'x' })).toBeUndefined();
    expect(stored.read('k', 'text')).toBeUndefined();
  });

  it('compares JSON values by value, objects whatever their key order', () => {
    expect(jsonEqual({ a: 1, b: [1, { c: null }] }, { b: [1, { c: null }], a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(jsonEqual({ a: 1, b: undefined as unknown as JsonValue }, { a: 1, c: 2 })).toBe(false);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual([], {})).toBe(false);
    expect(jsonEqual('1', 1)).toBe(false);
    expect(jsonEqual(null, {})).toBe(false);
  });
});
