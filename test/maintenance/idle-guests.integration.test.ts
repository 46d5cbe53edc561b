import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { guest } from '../support/shoppers.js';
import { registeredToken, AUTH_SECRET, SESSION_SECRET } from '../support/tokens.js';

const ADMIN_KEY = 'operator-key-0123456789abcdef';
const DAY = 86_400_000;

describe('the cleanup deletes guest accounts unused for GUEST_SESSION_TTL_DAYS', () => {
  let db: TestDatabase;
  let app: TestApp;
  beforeAll(async () => {
    db = await createTestDatabase();
    app = await createTestApp({
      STORAGE_BACKEND: 'postgres',
      CACHE_BACKEND: 'memory',
      DATABASE_URL: db.url,
      SESSION_SECRET,
      AUTH_JWT_SECRET: AUTH_SECRET,
      ADMIN_API_KEY: ADMIN_KEY,
      GUEST_SESSION_TTL_DAYS: '30',
    });
  });
  afterAll(async () => {
    await app?.close();
    await db?.dispose();
  });

  const sql = <T>(query: string, bind: unknown[] = []) => app.database!.sequelize.query(query, { bind, type: 'SELECT' }) as Promise<T[]>;
  const rowsOf = async (userId: string) => {
    const [counts] = await sql<{ accounts: number; entries: number; consents: number }>(
      `SELECT (SELECT count(*) FROM user_credits WHERE user_id = $1)::int AS accounts,
              (SELECT count(*) FROM credit_transactions WHERE user_id = $1)::int AS entries,
              (SELECT count(*) FROM user_consents WHERE user_id = $1)::int AS consents`,
      [userId],
    );
    return counts;
  };
  /** The ledger invariant of every account left: available = sum of its entries. */
  const brokenInvariants = () =>
    sql<{ user_id: string }>(
      `SELECT c.user_id FROM user_credits c
         LEFT JOIN (SELECT user_id, sum(amount) AS s FROM credit_transactions GROUP BY user_id) t USING (user_id)
        WHERE c.available_credits <> COALESCE(t.s, 0)`,
    );
  const ageBy = (userId: string, days: number) =>
    app.database!.sequelize.query(`UPDATE user_credits SET updated_at = now() - $2 * interval '1 millisecond', created_at = now() - $2 * interval '1 millisecond' WHERE user_id = $1`, {
      bind: [userId, days * DAY],
    });
  const ask = (auth: string, query: string) => request(app.app).post('/api/v1/assistant/query').set('Authorization', auth).send({ query });

  it('deletes the idle guest with its ledger and consent, and keeps everyone else as they were', async () => {
    const idle = await guest(app);
    const recent = await guest(app);
    const almost = await guest(app);
    const member = `member-${Date.now()}`;
    const memberAuth = `Bearer ${await registeredToken(member)}`;
    for (const u of [idle, recent, almost]) expect((await ask(u.auth, `a warm scarf for ${u.userId}`)).status).toBe(200);
    expect((await request(app.app).put('/api/v1/consent').set('Authorization', memberAuth).send({ termsAccepted: true, marketingConsent: false })).status).toBe(200);
    await ageBy(idle.userId, 32);
    await ageBy(almost.userId, 29);
    await ageBy(member, 400);
    const before = await Promise.all([recent, almost].map((u) => rowsOf(u.userId)));

    expect((await rowsOf(idle.userId)).entries).toBe(2);
    const res = await request(app.app).post('/api/v1/admin/maintenance/cleanup').set('X-Admin-Key', ADMIN_KEY).send({ transactionsOlderThanDays: 90 });
    expect(res.status).toBe(200);

    expect(await rowsOf(idle.userId)).toEqual({ accounts: 0, entries: 0, consents: 0 });
    expect(await Promise.all([recent, almost].map((u) => rowsOf(u.userId)))).toEqual(before);
    expect(await rowsOf(member)).toEqual({ accounts: 1, entries: 1, consents: 1 });
    expect(await brokenInvariants()).toEqual([]);
    expect(app.logs.find((l) => l.event === 'cleanup')).toMatchObject({ guestAccountsDeleted: 1 });
  });
});
