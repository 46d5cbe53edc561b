import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogHash, loadCatalog, parseCatalog } from '../../src/assistant/catalog/catalog.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { asCsv, asJson, asNdjson, kettles, type TestProduct } from '../support/catalog.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const ADMIN_KEY = 'operator-key-'.padEnd(32, 'x');

describe('the catalog operator routes (postgres storage)', () => {
  let testDb: TestDatabase;
  let app: TestApp;
  let token: string;

  const admin = (r: request.Test) => r.set('X-Admin-Key', ADMIN_KEY);
  const summary = () => admin(request(app.app).get('/api/v1/admin/catalog'));
  const upload = (body: string, type: string) => admin(request(app.app).put('/api/v1/admin/catalog')).set('Content-Type', type).send(body);
  const ask = (query: string, filters: Record<string, unknown> = {}) =>
    request(app.app).post('/api/v1/assistant/query').set('Authorization', `Bearer ${token}`).send({ query, filters, limit: 20 });

  beforeAll(async () => {
    testDb = await createTestDatabase();
    app = await createTestApp({
      STORAGE_BACKEND: 'postgres',
      CACHE_BACKEND: 'postgres',
      DATABASE_URL: testDb.url,
      ADMIN_API_KEY: ADMIN_KEY,
      QUERY_RATE_LIMIT_PER_MINUTE: '0',
      GUEST_CREDITS: '1000',
      CATALOG_MAX_BYTES: '200000',
    });
    token = (await request(app.app).post('/api/v1/sessions/guest')).body.token;
    await request(app.app).put('/api/v1/consent').set('Authorization', `Bearer ${token}`).send({ termsAccepted: true, marketingConsent: false }).expect(200);
  });
  afterAll(async () => {
    await app?.close();
    await testDb?.dispose();
  });

  it('an empty database is seeded from the bundled sample, with the same version as the file', async () => {
    const bundled = await loadCatalog(undefined);
    const res = await summary();
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ version: bundled.hash, products: bundled.products.length, updatedAt: expect.any(String) });
    expect((await ask('waterproof hiking boots')).body.products.length).toBeGreaterThan(0);
  });

  for (const [format, type, encode] of [
    ['JSON', 'application/json', asJson],
    ['NDJSON', 'application/x-ndjson', asNdjson],
    ['CSV', 'text/csv', asCsv],
  ] as const) {
    it(`replaces the whole catalog from ${format}; the answers come from the new one at once`, async () => {
      const products: TestProduct[] = [
        ...kettles(3, `Brand${format}`, 42.5),
        { id: 'mug-1', name: 'Travel Mug, "Steel"', brand: `Brand${format}`, category: 'kitchen', price: 19.99, currency: 'USD', tags: ['mug', 'travel'], imageUrl: 'https://shop.example/img/mug.jpg', inStock: false },
      ];
      const res = await upload(encode(products), type);
      expect(res.status).toBe(200);
      const expected = parseCatalog({ products });
      expect(res.body).toEqual({ version: expected.hash, products: 4, updatedAt: expect.any(String) });
      expect((await summary()).body.version).toBe(expected.hash);

      const answer = await ask('electric kettle');
      expect(answer.status).toBe(200);
      expect(answer.body.products).toHaveLength(3);
      for (const p of answer.body.products) {
        expect(p).toMatchObject({ brand: `Brand${format}`, price: 42.5, inStock: true, url: expect.stringMatching(/^https:\/\/shop\.example\/p\/kettle-/) });
        expect(p.imageUrl).toBeUndefined();
      }
      // The mug is out of stock: found only when out-of-stock products are asked for.
      expect((await ask('travel mug')).body.products).toEqual([]);
      const mug = await ask('travel mug', { inStock: false });
      expect(mug.body.products).toEqual([expect.objectContaining({ id: 'mug-1', name: 'Travel Mug, "Steel"', inStock: false, imageUrl: 'https://shop.example/img/mug.jpg' })]);
      expect(mug.body.answer).toContain('that are out of stock');
    });
  }

  it('a bad line changes nothing and the answer names the line and field of each bad product', async () => {
    const before = (await summary()).body;
    const good = kettles(30, 'Never', 1);
    const lines = asNdjson(good).split('\n');
    lines[4] = JSON.stringify({ ...good[4], price: -3 });
    lines[9] = '{"id": "broken", ';
    lines[12] = JSON.stringify({ ...good[12], url: 'ftp://shop.example/x' });
    lines[20] = JSON.stringify(good[3]);
    const res = await upload(lines.join('\n'), 'application/x-ndjson');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(res.body.error.details).toEqual([
      { path: 'line 5.price', message: expect.any(String) },
      { path: 'line 10', message: expect.stringMatching(/^not valid JSON/) },
      { path: 'line 13.url', message: 'an absolute http(s) URL' },
      { path: 'line 21.id', message: 'duplicate id "kettle-00003" (first at line 4)' },
    ]);
    expect((await summary()).body).toEqual(before);
    expect((await ask('electric kettle')).body.products.every((p: { brand: string }) => p.brand !== 'Never')).toBe(true);
  });

  it('names the index in JSON and the line in CSV, and at most 20 bad products', async () => {
    const products: unknown[] = kettles(40, 'Never', 1);
    for (let i = 0; i < 30; i++) products[i] = { ...(products[i] as object), currency: 'usd' };
    const json = await upload(JSON.stringify({ products }), 'application/json');
    expect(json.status).toBe(400);
    expect(json.body.error.details).toHaveLength(20);
    expect(json.body.error.details[0]).toEqual({ path: 'products[0].currency', message: 'an ISO 4217 code such as USD' });
    expect(json.body.error.details[19].path).toBe('products[19].currency');

    const csv = asCsv(kettles(3, 'Never', 1)).replace('kettle-00001,Never Electric Kettle 1,Never,kitchen,1,', 'kettle-00001,Never Electric Kettle 1,Never,kitchen,cheap,');
    const bad = await upload(csv, 'text/csv');
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual([{ path: 'line 3.price', message: expect.any(String) }]);

    const unknown = await upload('id,name,colour\n1,a,red\n', 'text/csv');
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details).toEqual([{ path: 'line 1', message: expect.stringContaining('unknown column "colour"') }]);

    const notObject = await upload('[1,2]', 'application/json');
    expect(notObject.status).toBe(400);
    const empty = await upload('{"products": []}', 'application/json');
    expect(empty.status).toBe(400);
    expect(empty.body.error.details).toEqual([{ path: '(body)', message: 'at least one product' }]);
  });

  it('413 over CATALOG_MAX_BYTES (declared or streamed), 415 for another type; the 16 KiB JSON limit does not apply', async () => {
    const big = asJson(kettles(400, 'Big', 5));
    expect(big.length).toBeGreaterThan(16_384);
    expect(big.length).toBeLessThan(200_000);
    const ok = await upload(big, 'application/json');
    expect(ok.status).toBe(200);
    expect(ok.body.products).toBe(400);

    const tooBig = asJson(kettles(2000, 'Big', 5));
    expect(tooBig.length).toBeGreaterThan(200_000);
    const res = await upload(tooBig, 'application/json');
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect((await summary()).body.products).toBe(400);

    const xml = await upload('<products/>', 'application/xml');
    expect(xml.status).toBe(415);
  });

  it('413 for a streamed body (no Content-Length) once it passes CATALOG_MAX_BYTES; nothing changes', async () => {
    const before = (await summary()).body;
    const server = app.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as AddressInfo;
    const lines = kettles(5000, 'Stream', 1).map((p) => `${JSON.stringify(p)}\n`);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, method: 'PUT', path: '/api/v1/admin/catalog', headers: { 'Content-Type': 'application/x-ndjson', 'X-Admin-Key': ADMIN_KEY, 'Transfer-Encoding': 'chunked' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      let sent = 0;
      const next = () => {
        if (sent > 400_000 || lines.length === 0 || req.destroyed) return void req.end();
        const chunk = lines.splice(0, 100).join('');
        sent += chunk.length;
        req.write(chunk, () => setImmediate(next));
      };
      next();
    });
    await new Promise((r) => server.close(r));
    expect(status).toBe(413);
    expect((await summary()).body).toEqual(before);
  });

  it('single products: create, replace, patch, delete; each change gives a new version; unknown is 404', async () => {
    await upload(asJson(kettles(3, 'Single', 10)), 'application/json').expect(200);
    const v0 = (await summary()).body.version;

    const created = await admin(request(app.app).put('/api/v1/admin/catalog/products/lamp-1')).send({
      name: 'Desk Lamp',
      brand: 'Lumo',
      category: 'home',
      price: 35,
      currency: 'USD',
      url: 'https://shop.example/p/lamp-1',
    });
    expect(created.status).toBe(200);
    expect(created.body).toEqual({ id: 'lamp-1', name: 'Desk Lamp', brand: 'Lumo', category: 'home', price: 35, currency: 'USD', description: '', tags: [], url: 'https://shop.example/p/lamp-1', inStock: true });
    const v1 = (await summary()).body;
    expect(v1.version).not.toBe(v0);
    expect(v1.products).toBe(4);

    const patched = await admin(request(app.app).patch('/api/v1/admin/catalog/products/lamp-1')).send({ price: 29.99, inStock: false, url: null });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ price: 29.99, inStock: false });
    expect(patched.body.url).toBeUndefined();
    const v2 = (await summary()).body.version;
    expect(v2).not.toBe(v1.version);

    const replaced = await admin(request(app.app).put('/api/v1/admin/catalog/products/lamp-1')).send({ id: 'lamp-1', name: 'Desk Lamp', brand: 'Lumo', category: 'home', price: 35, currency: 'USD', url: 'https://shop.example/p/lamp-1' });
    expect(replaced.status).toBe(200);
    // The same content as before the patch: the same version (a content hash).
    expect((await summary()).body.version).toBe(v1.version);

    expect((await admin(request(app.app).delete('/api/v1/admin/catalog/products/lamp-1'))).status).toBe(204);
    expect((await summary()).body).toMatchObject({ version: v0, products: 3 });

    for (const res of [
      await admin(request(app.app).patch('/api/v1/admin/catalog/products/nope')).send({ price: 1 }),
      await admin(request(app.app).delete('/api/v1/admin/catalog/products/nope')),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('PRODUCT_NOT_FOUND');
    }
    const mismatch = await admin(request(app.app).put('/api/v1/admin/catalog/products/a')).send({ id: 'b', name: 'x', brand: 'y', category: 'z', price: 1, currency: 'USD' });
    expect(mismatch.status).toBe(400);
    const badPatch = await admin(request(app.app).patch('/api/v1/admin/catalog/products/kettle-00000')).send({ price: -1 });
    expect(badPatch.status).toBe(400);
    const unknownField = await admin(request(app.app).patch('/api/v1/admin/catalog/products/kettle-00000')).send({ colour: 'red' });
    expect(unknownField.status).toBe(400);
    expect((await summary()).body.version).toBe(v0);
    expect(catalogHash(parseCatalog({ products: kettles(3, 'Single', 10) }).products)).toBe(v0);
  });

  it('refuses callers without the operator key', async () => {
    expect((await request(app.app).get('/api/v1/admin/catalog')).status).toBe(401);
    expect((await request(app.app).put('/api/v1/admin/catalog').set('Content-Type', 'application/json').send('{}')).status).toBe(401);
    expect((await request(app.app).delete('/api/v1/admin/catalog/products/x').set('X-Admin-Key', 'wrong-key-wrong-key')).status).toBe(401);
  });
});

describe('the catalog operator routes (memory storage)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ STORAGE_BACKEND: 'memory', CACHE_BACKEND: 'memory', ADMIN_API_KEY: ADMIN_KEY });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('reads the bundled file; changes are refused with 409 CATALOG_READ_ONLY', async () => {
    const bundled = await loadCatalog(undefined);
    const res = await request(app.app).get('/api/v1/admin/catalog').set('X-Admin-Key', ADMIN_KEY);
    expect(res.body).toMatchObject({ version: bundled.hash, products: bundled.products.length });
    const put = await request(app.app).put('/api/v1/admin/catalog').set('X-Admin-Key', ADMIN_KEY).set('Content-Type', 'application/json').send(asJson(kettles(1, 'X', 1)));
    expect(put.status).toBe(409);
    expect(put.body.error.code).toBe('CATALOG_READ_ONLY');
    const patch = await request(app.app).patch('/api/v1/admin/catalog/products/x').set('X-Admin-Key', ADMIN_KEY).send({ price: 1 });
    expect(patch.status).toBe(409);
  });
});
