import { QueryTypes } from 'sequelize';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { TcpProxy, type ProxyMode } from '../support/tcp-proxy.js';
import { OUTAGE_BUDGET_MS, RECOVERY_MS, closeCutSuite, eventually } from '../support/outage.js';

/**
 * PostgreSQL cut for real: the app reaches its database only through a TCP proxy that refuses
 * or blackholes connections. Every request that needs the database answers 503 with Retry-After
 * within 2 s, readiness says unavailable, and once the cut heals the app recovers by itself
 * within 15 s, with every balance exactly as it was.
 */


describe('the API with its PostgreSQL cut', () => {
  let testDb: TestDatabase;
  let proxy: TcpProxy;
  let app: TestApp;
  let token: string;
  let userId: string;

  const credits = () => request(app.app).get('/api/v1/credits').set('Authorization', `Bearer ${token}`);
  const ledger = async () =>
    app.database!.sequelize.query<{ available: number; total: number; entries: number }>(
      `SELECT c.available_credits AS available,
              (SELECT COALESCE(SUM(amount), 0)::int FROM credit_transactions t WHERE t.user_id = c.user_id) AS total,
              (SELECT count(*)::int FROM credit_transactions t WHERE t.user_id = c.user_id) AS entries
         FROM user_credits c WHERE c.user_id = $1`,
      { type: QueryTypes.SELECT, bind: [userId] },
    );

  beforeAll(async () => {
    testDb = await createTestDatabase();
    proxy = await TcpProxy.forUrl(testDb.url).start();
    app = await createTestApp({ STORAGE_BACKEND: 'postgres', CACHE_BACKEND: 'postgres', DATABASE_URL: proxy.rewrite(testDb.url) });
    const session = await request(app.app).post('/api/v1/sessions/guest');
    expect(session.status).toBe(201);
    token = session.body.token;
    userId = session.body.userId;
    const first = await credits();
    expect(first.status).toBe(200);
  });
  afterAll(() => closeCutSuite(proxy, [app], testDb));

  for (const mode of ['refuse', 'blackhole'] as ProxyMode[]) {
    it(`${mode}: every request answers 503 SERVICE_UNAVAILABLE with Retry-After within ${OUTAGE_BUDGET_MS} ms, readiness 503, and all recovers within ${RECOVERY_MS / 1000} s with no credit lost or given`, async () => {
      const before = await credits();
      expect(before.status).toBe(200);
      const [ledgerBefore] = await ledger();

      proxy.setMode(mode);

      for (let i = 0; i < 6; i++) {
        const started = performance.now();
        const res = await credits();
        const ms = performance.now() - started;
        expect(res.status).toBe(503);
        expect(res.body.error.code).toBe('SERVICE_UNAVAILABLE');
        expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
        expect(ms).toBeLessThan(OUTAGE_BUDGET_MS);
        expect(JSON.stringify(res.body)).not.toMatch(/postgres:|SELECT|ECONN|at .*\.ts/);
      }

      const started = performance.now();
      const ready = await request(app.app).get('/health/ready');
      expect(performance.now() - started).toBeLessThan(OUTAGE_BUDGET_MS);
      expect(ready.status).toBe(503);
      expect(ready.body.status).toBe('unavailable');
      expect(ready.body.checks.database.status).toBe('down');

      proxy.setMode('pass');

      const after = await eventually('credits answer again', credits, (r) => r.status === 200);
      await eventually('readiness ready', () => request(app.app).get('/health/ready'), (r) => r.status === 200);
      expect(after.body.available).toBe(before.body.available);
      expect(after.body.max).toBe(before.body.max);
      const [ledgerAfter] = await ledger();
      expect(ledgerAfter).toEqual(ledgerBefore);
      expect(ledgerAfter!.total).toBe(ledgerAfter!.available);
    });
  }
});
