import { QueryTypes } from 'sequelize';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appsSharingDatabase, type AppsSharingDatabase, type TestApp } from '../support/app.js';
import { AUTH_SECRET, registeredToken, SESSION_SECRET } from '../support/tokens.js';

/**
 * Two API instances (two apps, two pools) on one PostgreSQL, as two processes behind a load
 * balancer: no race between them can overdraw or lose a credit.
 */
describe('two app instances sharing one database', () => {
  let shared: AppsSharingDatabase;
  let apps: TestApp[] = [];

  beforeAll(async () => {
    shared = await appsSharingDatabase(2, {
      CACHE_BACKEND: 'postgres',
      SESSION_SECRET,
      AUTH_JWT_SECRET: AUTH_SECRET,
      REGISTERED_CREDITS: '50',
      QUERY_RATE_LIMIT_PER_MINUTE: '0',
      DB_POOL_SIZE: '2',
      DB_MAX_OVERFLOW: '4',
    });
    apps = shared.apps;
  });
  afterAll(() => shared?.close());

  /** "available = sum of ledger amounts, never negative", for every user. */
  async function expectLedgerInvariantEverywhere(): Promise<void> {
    const broken = await apps[0].database!.sequelize.query(
      `SELECT u.user_id FROM user_credits u
         LEFT JOIN (SELECT user_id, sum(amount) AS total, min(balance_after) AS lowest FROM credit_transactions GROUP BY user_id) t USING (user_id)
        WHERE u.available_credits <> COALESCE(t.total, 0) OR u.available_credits < 0 OR t.lowest < 0`,
      { type: QueryTypes.SELECT },
    );
    expect(broken).toEqual([]);
  }

  it('200 concurrent questions at 1 credit against a balance of 50, split over both: exactly 50 answers, 50 debits, balance 0', async () => {
    const userId = `two-instances-${Date.now()}`;
    const auth = `Bearer ${await registeredToken(userId)}`;
    expect((await request(apps[0].app).put('/api/v1/consent').set('Authorization', auth).send({ termsAccepted: true, marketingConsent: false })).status).toBe(200);

    const all = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        request(apps[i % 2].app).post('/api/v1/assistant/query').set('Authorization', auth).send({ query: `travel mug ${i}` }),
      ),
    );
    const statuses = all.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(50);
    expect(statuses.filter((s) => s === 402)).toHaveLength(150);
    // Both instances answered some of the 50.
    expect(all.filter((r, i) => r.status === 200 && i % 2 === 0).length).toBeGreaterThan(0);
    expect(all.filter((r, i) => r.status === 200 && i % 2 === 1).length).toBeGreaterThan(0);

    const [row] = await apps[1].database!.sequelize.query<{ available: number; debits: number }>(
      `SELECT available_credits AS available,
              (SELECT count(*)::int FROM credit_transactions WHERE user_id = $1 AND transaction_type = 'debit') AS debits
         FROM user_credits WHERE user_id = $1`,
      { bind: [userId], type: QueryTypes.SELECT },
    );
    expect(row).toEqual({ available: 0, debits: 50 });
    await expectLedgerInvariantEverywhere();
  });

  it('a guest session minted by one instance is honoured by the other, and its credits are one balance', async () => {
    const session = await request(apps[0].app).post('/api/v1/sessions/guest');
    const auth = `Bearer ${session.body.token as string}`;
    await request(apps[1].app).put('/api/v1/consent').set('Authorization', auth).send({ termsAccepted: true, marketingConsent: false });
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => request(apps[i % 2].app).post('/api/v1/assistant/query').set('Authorization', auth).send({ query: `rain boots ${i}` })),
    );
    expect(answers.filter((r) => r.status === 200)).toHaveLength(10);
    expect((await request(apps[1].app).get('/api/v1/credits').set('Authorization', auth)).body.available).toBe(0);
    await expectLedgerInvariantEverywhere();
  });
});
