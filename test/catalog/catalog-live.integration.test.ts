import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import pg from 'pg';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCatalog } from '../../src/assistant/catalog/catalog.js';
import { PostgresCatalogStore } from '../../src/catalog/catalog.store.postgres.js';
import { LiveCatalog } from '../../src/catalog/live-catalog.js';
import { seededCatalogDatabase } from '../support/catalog-database.js';
import { createLogger } from '../../src/platform/logger.js';
import { appsSharingDatabase, testConfig, type AppsSharingDatabase, type TestApp } from '../support/app.js';
import { asJson, asNdjson, kettles } from '../support/catalog.js';
import { TEST_DATABASE_URL, type TestDatabase } from '../support/database.js';

const ADMIN_KEY = 'operator-key-'.padEnd(32, 'x');
const REFRESH_SECONDS = 1;

async function eventually<T>(probe: () => Promise<T>, ok: (value: T) => boolean, withinMs: number): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (ok(value)) return { value, ms: Date.now() - started };
    if (Date.now() - started > withinMs) throw new Error(`not within ${withinMs} ms: ${JSON.stringify(value).slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the live catalog across app instances on one database', () => {
  let shared: AppsSharingDatabase;
  let apps: TestApp[] = [];
  let token: string;

  const ask = (app: TestApp, query: string) =>
    request(app.app).post('/api/v1/assistant/query').set('Authorization', `Bearer ${token}`).send({ query, limit: 20 });
  const admin = (r: request.Test) => r.set('X-Admin-Key', ADMIN_KEY);

  beforeAll(async () => {
    shared = await appsSharingDatabase(2, {
      CACHE_BACKEND: 'postgres',
      ADMIN_API_KEY: ADMIN_KEY,
      SESSION_SECRET: 'guest-session-secret-of-at-least-32-bytes!!',
      QUERY_RATE_LIMIT_PER_MINUTE: '0',
      GUEST_CREDITS: '100000',
      CATALOG_REFRESH_SECONDS: String(REFRESH_SECONDS),
    });
    apps = shared.apps;
    token = (await request(apps[0].app).post('/api/v1/sessions/guest')).body.token;
    await request(apps[0].app).put('/api/v1/consent').set('Authorization', `Bearer ${token}`).send({ termsAccepted: true, marketingConsent: false }).expect(200);
    await admin(request(apps[0].app).put('/api/v1/admin/catalog')).set('Content-Type', 'application/json').send(asJson(kettles(5, 'Steady', 30))).expect(200);
    await eventually(() => ask(apps[1], 'electric kettle'), (r) => r.body.products?.[0]?.brand === 'Steady', 10_000);
  });
  afterAll(() => shared?.close());

  it('a new price is answered by both instances within CATALOG_REFRESH_SECONDS, and no cached answer with the old price is served', async () => {
    // Cache an answer with the old price on both instances.
    expect((await ask(apps[0], 'electric kettle')).body.products[0].price).toBe(30);
    const hit = await ask(apps[1], 'electric kettle');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.body.products[0].price).toBe(30);

    const patched = await admin(request(apps[0].app).patch('/api/v1/admin/catalog/products/kettle-00000')).send({ price: 24.99 });
    expect(patched.status).toBe(200);
    const changedAt = Date.now();

    // The writing instance answers from the new version at once: its cached answer is not served.
    const fresh = await ask(apps[0], 'electric kettle');
    expect(fresh.headers['x-cache']).toBe('MISS');
    expect(fresh.body.products.find((p: { id: string }) => p.id === 'kettle-00000').price).toBe(24.99);

    // The other instance follows within the refresh window, and never answers the old price after that.
    const { ms } = await eventually(
      () => ask(apps[1], 'electric kettle'),
      (r) => r.body.products.find((p: { id: string }) => p.id === 'kettle-00000')?.price === 24.99,
      REFRESH_SECONDS * 1000 + 1500,
    );
    expect(Date.now() - changedAt).toBeLessThanOrEqual(REFRESH_SECONDS * 1000 + 1500);
    expect(ms).toBeGreaterThanOrEqual(0);
    for (let i = 0; i < 5; i++) {
      for (const app of apps) {
        const again = await ask(app, 'electric kettle');
        expect(again.body.products.find((p: { id: string }) => p.id === 'kettle-00000').price).toBe(24.99);
      }
    }
  });

  it('a reader during an upload sees the old or the new catalog, never a mix', async () => {
    const oldProducts = kettles(3000, 'Old', 10);
    const newProducts = kettles(3000, 'New', 20);
    await admin(request(apps[0].app).put('/api/v1/admin/catalog')).set('Content-Type', 'application/json').send(asJson(oldProducts)).expect(200);
    const oldVersion = parseCatalog({ products: oldProducts }).hash;
    const newVersion = parseCatalog({ products: newProducts }).hash;
    await eventually(() => admin(request(apps[1].app).get('/api/v1/admin/catalog')), (r) => r.body.version === oldVersion, 5000);
    // The version is the database's; each process answers from it once its index is built (the
    // embedded database builds slower): both answer from the old catalog before the upload starts.
    for (const app of apps) await eventually(() => ask(app, 'electric kettle'), (r) => r.body.products?.[0]?.brand === 'Old', REFRESH_SECONDS * 1000 + 5000);

    // The upload streams in slowly, so readers run while it is being staged and swapped.
    const server: Server = apps[0].app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as AddressInfo).port;
    const body = asNdjson(newProducts);
    const uploaded = new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, method: 'PUT', path: '/api/v1/admin/catalog', headers: { 'Content-Type': 'application/x-ndjson', 'X-Admin-Key': ADMIN_KEY } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      const pieces = 30;
      const size = Math.ceil(body.length / pieces);
      let i = 0;
      const next = () => {
        if (i >= pieces) return void req.end();
        req.write(body.slice(i * size, (i + 1) * size));
        i++;
        setTimeout(next, 40);
      };
      next();
    });

    const db = new pg.Client({ connectionString: shared.url });
    await db.connect();
    const seen = { brands: new Set<string>(), versions: new Set<string>(), answers: 0 };
    let done = false;
    const status = uploaded.finally(() => (done = true));
    const readers = apps.map(async (app) => {
      while (!done) {
        const res = await ask(app, 'electric kettle');
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        const brands = new Set(res.body.products.map((p: { brand: string }) => p.brand));
        // One answer, one catalog: all old or all new, at the price of that catalog.
        expect(brands.size).toBe(1);
        const brand = [...brands][0] as string;
        for (const p of res.body.products) expect(p.price).toBe(brand === 'Old' ? 10 : 20);
        seen.brands.add(brand);
        seen.answers++;
      }
    });
    const dbReader = (async () => {
      while (!done) {
        const { rows } = await db.query<{ n: number; version: string }>(
          'SELECT count(*)::int AS n, max(s.version) AS version FROM catalog_state s JOIN products p ON p.generation = s.generation',
        );
        // The live generation in the database is always whole: 3000 products of one version.
        expect(rows[0].n).toBe(3000);
        seen.versions.add(rows[0].version);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    expect(await status).toBe(200);
    await Promise.all([...readers, dbReader]);
    await db.end();
    await new Promise((r) => server.close(r));

    expect(seen.answers).toBeGreaterThan(10);
    expect(seen.brands.has('Old')).toBe(true);
    expect([...seen.versions].every((v) => v === oldVersion || v === newVersion)).toBe(true);
    const after = await eventually(() => ask(apps[1], 'electric kettle'), (r) => r.body.products[0]?.brand === 'New', REFRESH_SECONDS * 1000 + 2000);
    expect(after.value.body.products.every((p: { brand: string; price: number }) => p.brand === 'New' && p.price === 20)).toBe(true);
  });
});

describe('how a process notices a change', () => {
  let testDb: TestDatabase;
  let writer: PostgresCatalogStore;
  const logger = createLogger({ level: 'silent' });
  const settings = testConfig().database;

  beforeAll(async () => {
    ({ testDb, writer } = await seededCatalogDatabase(logger));
  });
  afterAll(async () => {
    await writer?.close();
    await testDb?.dispose();
  });

  const priceOf = (live: LiveCatalog, id: string) => live.current().catalog.byId(id)?.price;

  // The embedded database's socket server does not pass notifications on; it is one process's
  // database anyway (its files have one owner), and polling finds every change there.
  it.skipIf(!TEST_DATABASE_URL)('by notification alone, long before the polling interval', async () => {
    const reader = new PostgresCatalogStore(testDb.url, settings, logger);
    const live = await LiveCatalog.open(reader, { refreshSeconds: 3600 }, logger);
    try {
      const id = live.current().catalog.products[0].id;
      const before = priceOf(live, id)!;
      await writer.change(id, (p) => ({ put: { ...p!, price: before + 1 } }));
      const { ms } = await eventually(async () => priceOf(live, id), (p) => p === before + 1, 3000);
      expect(ms).toBeLessThan(3000);
    } finally {
      await live.close();
      await reader.close();
    }
  });

  it('by polling alone, when notifications are lost (a pooler that drops them)', async () => {
    const reader = new PostgresCatalogStore(testDb.url, settings, logger);
    const live = await LiveCatalog.open(reader, { refreshSeconds: 1, listen: false }, logger);
    try {
      const id = live.current().catalog.products[1].id;
      const before = priceOf(live, id)!;
      await writer.change(id, (p) => ({ put: { ...p!, price: before + 2 } }));
      await eventually(async () => priceOf(live, id), (p) => p === before + 2, 1000 + 1000);
    } finally {
      await live.close();
      await reader.close();
    }
  });
});
