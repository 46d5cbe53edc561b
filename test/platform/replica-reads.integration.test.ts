import pg from 'pg';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from '../support/database.js';
import { eventually, OUTAGE_BUDGET_MS, timed } from '../support/outage.js';
import { requireScaleService, TEST_REPLICA_URL } from '../support/scale.js';
import { guest } from '../support/shoppers.js';
import { TcpProxy } from '../support/tcp-proxy.js';

/**
 * DATABASE_REPLICA_URLS against a real streaming replica of the TEST_DATABASE_URL server (made by
 * .ci/scale-services with pg_basebackup): ledger pages, the operator's consent list and the cache
 * entry count are read there; balances never are; a replica that stops answering or falls behind
 * sends those reads back to the primary, within the request's budget. The app reaches the replica
 * through a TCP proxy, which plays the stopped (refusing) or hanging replica. Pausing WAL replay
 * on the replica (pg_wal_replay_pause) makes it visibly behind: what a page shows then says where
 * it was read.
 */
const up = requireScaleService('the read replica tests', { TEST_REPLICA_URL, TEST_DATABASE_URL });
const ADMIN_KEY = 'operator-key-0123456789abcdef';
const MAX_LAG_SECONDS = 3;

describe.skipIf(!up)('lag-tolerant reads on a streaming replica', () => {
  let testDb: TestDatabase;
  let replicaUrl: string;
  let replicaAdmin: pg.Client;
  let proxy: TcpProxy;
  let app: TestApp;

  const reads = () => app.database!.replicaReads;
  const usable = () => reads().status()[0]!.usable;
  const adjust = (userId: string, amount: number) =>
    request(app.app).post(`/api/v1/admin/users/${userId}/credits/adjust`).set('X-Admin-Key', ADMIN_KEY).send({ amount, reason: 'replica test' });
  const page = async (auth: string) => {
    const res = await request(app.app).get('/api/v1/credits/transactions').set('Authorization', auth);
    expect(res.status).toBe(200);
    return res.body.items as { amount: number; balanceAfter: number }[];
  };
  const balance = async (auth: string) => {
    const res = await request(app.app).get('/api/v1/credits').set('Authorization', auth);
    expect(res.status).toBe(200);
    return res.body.available as number;
  };
  /** Connections of this test database on the replica, by application name. */
  const replicaConnections = async () => {
    const { rows } = await replicaAdmin.query<{ application_name: string; n: number }>(
      'SELECT application_name, count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 GROUP BY 1',
      [new URL(testDb.url).pathname.slice(1)],
    );
    return Object.fromEntries(rows.map((r) => [r.application_name, r.n]));
  };

  beforeAll(async () => {
    testDb = await createTestDatabase();
    const url = new URL(TEST_REPLICA_URL!);
    url.pathname = new URL(testDb.url).pathname;
    replicaUrl = url.toString();
    replicaAdmin = new pg.Client({ connectionString: TEST_REPLICA_URL });
    await replicaAdmin.connect();
    await replicaAdmin.query('SELECT pg_wal_replay_resume()');
    proxy = await TcpProxy.forUrl(replicaUrl).start();
    app = await createTestApp({
      STORAGE_BACKEND: 'postgres',
      CACHE_BACKEND: 'postgres',
      DATABASE_URL: testDb.url,
      DATABASE_REPLICA_URLS: proxy.rewrite(replicaUrl),
      DB_REPLICA_MAX_LAG_SECONDS: String(MAX_LAG_SECONDS),
      ADMIN_API_KEY: ADMIN_KEY,
      SESSION_SECRET: 'guest-session-secret-of-at-least-32-bytes!!',
      GUEST_SESSIONS_PER_IP_PER_HOUR: '100000',
      GUEST_CREDITS: '100',
    });
    // The replica has replayed the new database and its tables, and the app measured its lag.
    await eventually('the replica serves', async () => usable(), (ok) => ok, 30_000);
  }, 60_000);
  afterEach(async () => {
    proxy.setMode('pass');
    await replicaAdmin.query('SELECT pg_wal_replay_resume()');
  });
  afterAll(async () => {
    await replicaAdmin?.query('SELECT pg_wal_replay_resume()').catch(() => {});
    await replicaAdmin?.end();
    await app?.close();
    await proxy?.stop();
    await testDb?.dispose();
  });

  it('reads ledger pages from the replica and balances from the primary', async () => {
    const u = await guest(app);
    expect((await adjust(u.userId, -1)).status).toBe(200);
    // Caught up: the replica's page shows the adjustment.
    await eventually('the replica has the adjustment', () => page(u.auth), (items) => items.length === 2);
    const before = reads().counts();

    await replicaAdmin.query('SELECT pg_wal_replay_pause()');
    expect((await adjust(u.userId, -2)).status).toBe(200);
    // The balance is the primary's (97); the page, read on the paused replica, still ends at 99.
    expect(await balance(u.auth)).toBe(97);
    const stale = await page(u.auth);
    expect(stale.map((e) => e.amount)).toEqual([-1, 100]);
    expect(stale[0]!.balanceAfter).toBe(99);
    const after = reads().counts();
    expect(after.replica - before.replica).toBe(1);
    expect(after.primary - before.primary).toBe(0);

    // On the replica only the replica pool's connections exist: no balance ever went there.
    const apps = await replicaConnections();
    expect(apps['shopassist-api-replica-reads']).toBeGreaterThan(0);
    expect(apps['shopassist-api']).toBeUndefined();

    await replicaAdmin.query('SELECT pg_wal_replay_resume()');
    await eventually('the page catches up', () => page(u.auth), (items) => items.length === 3 && items[0]!.balanceAfter === 97);
  });

  it('reads the operator consent list and the cache entry count on the replica', async () => {
    await guest(app); // records consent
    await eventually('the replica serves', async () => usable(), (ok) => ok);
    const before = reads().counts();
    const list = await request(app.app).get('/api/v1/admin/consents').set('X-Admin-Key', ADMIN_KEY);
    expect(list.status).toBe(200);
    const stats = await request(app.app).get('/api/v1/admin/cache/stats').set('X-Admin-Key', ADMIN_KEY);
    expect(stats.status).toBe(200);
    expect(reads().counts().replica - before.replica).toBe(2);
  });

  it('sends the reads to the primary while the replica lags past DB_REPLICA_MAX_LAG_SECONDS', async () => {
    const u = await guest(app);
    await eventually('the replica has the new account', () => page(u.auth), (items) => items.length === 1);
    await replicaAdmin.query('SELECT pg_wal_replay_pause()');
    expect((await adjust(u.userId, -5)).status).toBe(200);
    await eventually('the replica counts as behind', async () => usable(), (ok) => !ok, (MAX_LAG_SECONDS + 5) * 1000);
    const before = reads().counts();
    const fresh = await page(u.auth);
    expect(fresh.map((e) => e.amount)).toEqual([-5, 100]);
    expect(reads().counts().primary - before.primary).toBe(1);
    expect(reads().status()[0]!.lagSeconds).toBeGreaterThan(MAX_LAG_SECONDS);

    await replicaAdmin.query('SELECT pg_wal_replay_resume()');
    await eventually('the replica serves again', async () => usable(), (ok) => ok);
  });

  for (const mode of ['refuse', 'blackhole'] as const) {
    it(`${mode === 'refuse' ? 'a stopped replica (refusing connections)' : 'a hanging replica'}: pages come from the primary within the budget, then from the replica again`, async () => {
      const u = await guest(app);
      await eventually('the replica has the new account', () => page(u.auth), (items) => items.length === 1);
      expect((await adjust(u.userId, -3)).status).toBe(200);
      const before = reads().counts();
      proxy.setMode(mode);
      for (let i = 0; i < 4; i++) {
        const { value: items, ms } = await timed(() => page(u.auth));
        expect(items.map((e) => e.amount)).toEqual([-3, 100]);
        expect(ms).toBeLessThan(OUTAGE_BUDGET_MS);
      }
      const during = reads().counts();
      expect(during.primary - before.primary).toBe(4);
      // One failed attempt at most: after it the replica is skipped until a probe answers.
      expect(during.fallbacks - before.fallbacks).toBeLessThanOrEqual(1);
      expect(usable()).toBe(false);

      proxy.setMode('pass');
      await eventually('the replica serves again', async () => usable(), (ok) => ok);
      const healed = reads().counts();
      await page(u.auth);
      expect(reads().counts().replica - healed.replica).toBe(1);
    });
  }
});
