import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from '../support/database.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

const ADMIN_KEY = 'operator-key-'.padEnd(32, 'x');
const REFRESH_SECONDS = 1;

// Two API processes (as `npm start` runs them) on one PostgreSQL server: a price changed through
// one is answered by the other within CATALOG_REFRESH_SECONDS. The embedded database belongs to
// one process, so this needs a server.
describe.skipIf(!TEST_DATABASE_URL)('two API processes on one database', () => {
  let testDb: TestDatabase;
  let servers: ServerProcess[] = [];
  let bases: string[] = [];
  let token: string;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    const env = {
      DATABASE_URL: testDb.url,
      STORAGE_BACKEND: 'postgres',
      CACHE_BACKEND: 'postgres',
      ADMIN_API_KEY: ADMIN_KEY,
      SESSION_SECRET: 'guest-session-secret-of-at-least-32-bytes!!',
      QUERY_RATE_LIMIT_PER_MINUTE: '0',
      GUEST_CREDITS: '1000',
      CATALOG_REFRESH_SECONDS: String(REFRESH_SECONDS),
    };
    servers = [startServerProcess(env)];
    // The second starts once the first has migrated and seeded the catalog.
    const first = await servers[0].listening;
    servers.push(startServerProcess(env));
    bases = [first, await servers[1].listening].map((port) => `http://127.0.0.1:${port}`);
    token = ((await (await fetch(`${bases[0]}/api/v1/sessions/guest`, { method: 'POST' })).json()) as { token: string }).token;
    const consent = await fetch(`${bases[0]}/api/v1/consent`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ termsAccepted: true, marketingConsent: false }),
    });
    expect(consent.status).toBe(200);
  });
  afterAll(async () => {
    for (const s of servers) s.child.kill('SIGTERM');
    await Promise.all(servers.map((s) => s.exited));
    await testDb?.dispose();
  });

  const priceAt = async (base: string, id: string): Promise<number | undefined> => {
    const res = await fetch(`${base}/api/v1/assistant/query`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ query: 'electric kettle', limit: 20 }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { products: { id: string; price: number }[] };
    return body.products.find((p) => p.id === id)?.price;
  };

  it('a new price set through one process is answered by both within CATALOG_REFRESH_SECONDS', async () => {
    const before = await priceAt(bases[1], 'home-and-kitchen-050');
    expect(before).toBeDefined();
    // Both have the old price cached now.
    expect(await priceAt(bases[0], 'home-and-kitchen-050')).toBe(before);

    const patched = await fetch(`${bases[0]}/api/v1/admin/catalog/products/home-and-kitchen-050`, {
      method: 'PATCH',
      headers: { 'X-Admin-Key': ADMIN_KEY, 'Content-Type': 'application/json' },
      body: JSON.stringify({ price: 11.11 }),
    });
    expect(patched.status).toBe(200);
    const changedAt = Date.now();
    expect(await priceAt(bases[0], 'home-and-kitchen-050')).toBe(11.11);

    let price = await priceAt(bases[1], 'home-and-kitchen-050');
    while (price !== 11.11 && Date.now() - changedAt < REFRESH_SECONDS * 1000 + 1500) {
      await new Promise((r) => setTimeout(r, 50));
      price = await priceAt(bases[1], 'home-and-kitchen-050');
    }
    expect(price).toBe(11.11);
    expect(servers[1].output()).toContain('catalog refreshed');
  });
});
