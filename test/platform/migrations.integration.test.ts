import { QueryTypes, Sequelize } from 'sequelize';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator } from '../../src/platform/migrator.js';
import { cacheModel } from '../../src/cache/cache.models.js';
import { catalogModels } from '../../src/catalog/catalog.models.js';
import { consentModel } from '../../src/consent/consent.models.js';
import { conversationModel } from '../../src/conversations/conversation.models.js';
import { creditModels } from '../../src/credits/credit.models.js';
import { idempotencyModel } from '../../src/idempotency/idempotency.models.js';
import { rateLimitModel } from '../../src/rate-limit/rate-limit.models.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let testDb: TestDatabase;
let sequelize: Sequelize;
let migrator: Migrator;

beforeAll(async () => {
  testDb = await createTestDatabase();
  sequelize = new Sequelize(testDb.url, { dialect: 'postgres', dialectModule: pg, logging: false, pool: { max: 2 } });
  migrator = new Migrator(sequelize);
});

afterAll(async () => {
  await sequelize?.close();
  await testDb?.dispose();
});

/** Tables, columns, constraints and indexes of the public schema, in a stable order. */
async function schemaSnapshot() {
  const columns = await sequelize.query(
    `SELECT table_name, column_name, data_type, is_nullable, column_default
       FROM information_schema.columns WHERE table_schema = 'public'
      ORDER BY table_name, column_name`,
    { type: QueryTypes.SELECT },
  );
  const constraints = await sequelize.query(
    `SELECT conrelid::regclass::text AS table_name, conname, contype, pg_get_constraintdef(oid) AS definition
       FROM pg_constraint WHERE connamespace = 'public'::regnamespace
      ORDER BY 1, 2`,
    { type: QueryTypes.SELECT },
  );
  const indexes = await sequelize.query(
    `SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2`,
    { type: QueryTypes.SELECT },
  );
  return { columns, constraints, indexes };
}

async function sqlState(statement: string): Promise<string | undefined> {
  try {
    await sequelize.query(statement);
    return undefined;
  } catch (err) {
    return (err as { parent?: { code?: string } }).parent?.code;
  }
}

describe('migrations', () => {
  it('up → down to 0 → up leaves the expected schema', async () => {
    await migrator.up();
    const first = await schemaSnapshot();
    const tables = new Set(first.columns.map((c) => (c as { table_name: string }).table_name));
    expect([...tables].sort()).toEqual(
      expect.arrayContaining(['credit_transactions', 'query_cache', 'user_consents', 'user_credits']),
    );

    await migrator.down({ to: 0 });
    const empty = await schemaSnapshot();
    expect(empty.columns.map((c) => (c as { table_name: string }).table_name).filter((t) => t !== 'shopassist_migrations')).toEqual([]);
    expect(await migrator.executed()).toEqual([]);

    await migrator.up();
    expect(await schemaSnapshot()).toEqual(first);
    expect((await migrator.pending()).length).toBe(0);
  });

  it('creates the columns and types of the storage design (docs/storage.md)', async () => {
    const columns = await sequelize.query<{ table_name: string; column_name: string; data_type: string; is_nullable: string }>(
      `SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name <> 'shopassist_migrations' ORDER BY table_name, ordinal_position`,
      { type: QueryTypes.SELECT },
    );
    const shape = Object.fromEntries(columns.map((c) => [`${c.table_name}.${c.column_name}`, `${c.data_type}${c.is_nullable === 'NO' ? ' not null' : ''}`]));
    expect(shape).toMatchObject({
      'user_credits.user_id': 'character varying not null',
      'user_credits.is_guest': 'boolean not null',
      'user_credits.available_credits': 'integer not null',
      'user_credits.max_credits': 'integer not null',
      'user_credits.last_reset_timestamp': 'timestamp with time zone not null',
      'user_credits.created_at': 'timestamp with time zone not null',
      'user_credits.updated_at': 'timestamp with time zone not null',
      'credit_transactions.id': 'bigint not null',
      'credit_transactions.user_id': 'character varying not null',
      'credit_transactions.transaction_type': 'character varying not null',
      'credit_transactions.amount': 'integer not null',
      'credit_transactions.timestamp': 'timestamp with time zone not null',
      'credit_transactions.description': 'text',
      'credit_transactions.balance_after': 'integer not null',
      'credit_transactions.idempotency_key': 'character varying',
      'user_consents.user_id': 'character varying not null',
      'user_consents.terms_accepted': 'boolean not null',
      'user_consents.marketing_consent': 'boolean not null',
      'user_consents.timestamp': 'timestamp with time zone not null',
      'user_consents.updated_at': 'timestamp with time zone not null',
      'query_cache.query_hash': 'character varying not null',
      'query_cache.result': 'jsonb not null',
      'query_cache.cached_at': 'timestamp with time zone not null',
      'query_cache.expires_at': 'timestamp with time zone not null',
    });
  });

  it('indexes the ledger by (user_id, timestamp) and the cache by expires_at', async () => {
    const defs = (await sequelize.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'`, {
      type: QueryTypes.SELECT,
    })).map((r) => r.indexdef);
    expect(defs).toContainEqual(expect.stringMatching(/ON public\.credit_transactions USING btree \(user_id, "timestamp"\)$/));
    expect(defs).toContainEqual(expect.stringMatching(/ON public\.query_cache USING btree \(expires_at\)$/));
    expect(defs).toContainEqual(expect.stringMatching(/UNIQUE INDEX .* ON public\.credit_transactions USING btree \(user_id, idempotency_key\)$/));
  });

  describe('CHECK constraints reject a violating row with SQLSTATE 23514', () => {
    it('available_credits >= 0', async () => {
      expect(await sqlState(`INSERT INTO user_credits (user_id, is_guest, available_credits, max_credits, last_reset_timestamp) VALUES ('u-neg', true, -1, 10, now())`)).toBe('23514');
    });
    it('max_credits > 0', async () => {
      expect(await sqlState(`INSERT INTO user_credits (user_id, is_guest, available_credits, max_credits, last_reset_timestamp) VALUES ('u-max', true, 0, 0, now())`)).toBe('23514');
    });
    it('amount <> 0', async () => {
      expect(await sqlState(`INSERT INTO credit_transactions (user_id, transaction_type, amount, balance_after) VALUES ('u', 'debit', 0, 0)`)).toBe('23514');
    });
    it('balance_after >= 0', async () => {
      expect(await sqlState(`INSERT INTO credit_transactions (user_id, transaction_type, amount, balance_after) VALUES ('u', 'debit', -1, -1)`)).toBe('23514');
    });
    it('transaction_type is one of the ledger types', async () => {
      expect(await sqlState(`INSERT INTO credit_transactions (user_id, transaction_type, amount, balance_after) VALUES ('u', 'gift', 5, 5)`)).toBe('23514');
    });
    it('expires_at > cached_at', async () => {
      expect(await sqlState(`INSERT INTO query_cache (query_hash, result, cached_at, expires_at) VALUES ('h', '{}', now(), now())`)).toBe('23514');
    });
    it('accepts rows that keep every rule', async () => {
      expect(await sqlState(`INSERT INTO user_credits (user_id, is_guest, available_credits, max_credits, last_reset_timestamp) VALUES ('u-ok', true, 0, 10, now())`)).toBeUndefined();
      expect(await sqlState(`INSERT INTO query_cache (query_hash, result, expires_at) VALUES ('h-ok', '{"a":1}', now() + interval '1 hour')`)).toBeUndefined();
    });
  });

  describe('a hold has exactly one outcome, enforced by the database', () => {
    const hold = (id: number, state = 'held', extra = '') =>
      sqlState(`INSERT INTO credit_holds (debit_id, user_id, amount, state, created_at, expires_at${extra ? ', ' + extra.split('=')[0] : ''})
                VALUES (${id}, 'u-hold', 1, '${state}', now(), now() + interval '2 minutes'${extra ? ', ' + extra.split('=')[1] : ''})`);
    it('a held hold has no outcome time; a settled one a settled_at; a refunded one a refunded_at (23514)', async () => {
      expect(await hold(9001)).toBeUndefined();
      expect(await hold(9002, 'settled')).toBe('23514');
      expect(await hold(9003, 'refunded')).toBe('23514');
      expect(await hold(9004, 'held', 'settled_at=now()')).toBe('23514');
      expect(await hold(9005, 'settled', 'settled_at=now()')).toBeUndefined();
      expect(await hold(9006, 'settled', 'refunded_at=now()')).toBe('23514');
      expect(await sqlState(`UPDATE credit_holds SET state = 'settled', settled_at = now(), refunded_at = now() WHERE debit_id = 9001`)).toBe('23514');
    });
    it('an outcome is final: a settled hold is never refunded, a refunded one never settled or refunded again (23514)', async () => {
      expect(await hold(9011)).toBeUndefined();
      expect(await sqlState(`UPDATE credit_holds SET state = 'settled', settled_at = now() WHERE debit_id = 9011`)).toBeUndefined();
      expect(await sqlState(`UPDATE credit_holds SET state = 'refunded', settled_at = NULL, refunded_at = now() WHERE debit_id = 9011`)).toBe('23514');
      expect(await hold(9012)).toBeUndefined();
      expect(await sqlState(`UPDATE credit_holds SET state = 'refunded', refunded_at = now() WHERE debit_id = 9012`)).toBeUndefined();
      expect(await sqlState(`UPDATE credit_holds SET refunded_at = now() WHERE debit_id = 9012`)).toBe('23514');
      expect(await sqlState(`UPDATE credit_holds SET state = 'held', refunded_at = NULL WHERE debit_id = 9012`)).toBe('23514');
    });
    it('an open hold is never deleted, nor its amount changed; one with an outcome may go (retention)', async () => {
      expect(await hold(9021)).toBeUndefined();
      expect(await sqlState(`UPDATE credit_holds SET amount = 5 WHERE debit_id = 9021`)).toBe('23514');
      expect(await sqlState(`DELETE FROM credit_holds WHERE debit_id = 9021`)).toBe('23514');
      expect(await sqlState(`UPDATE credit_holds SET state = 'settled', settled_at = now() WHERE debit_id = 9021`)).toBeUndefined();
      expect(await sqlState(`DELETE FROM credit_holds WHERE debit_id = 9021`)).toBeUndefined();
      expect(await sqlState(`INSERT INTO credit_holds (debit_id, user_id, amount, created_at, expires_at) VALUES (9023, 'u', 0, now(), now() + interval '1 minute')`)).toBe('23514');
      expect(await sqlState(`INSERT INTO credit_holds (debit_id, user_id, amount, created_at, expires_at) VALUES (9024, 'u', 1, now(), now())`)).toBe('23514');
    });
  });

  it('has typed models that read and write each table as migrated', async () => {
    const m = { ...creditModels(sequelize), ...catalogModels(sequelize) };
    const UserConsent = consentModel(sequelize);
    const QueryCache = cacheModel(sequelize);
    const Conversation = conversationModel(sequelize);
    const IdempotencyKey = idempotencyModel(sequelize);
    const RateLimitCounter = rateLimitModel(sequelize);
    const now = new Date('2026-11-22T12:00:00.000Z');
    const later = new Date(Date.now() + 60_000);
    await m.UserCredit.create({ userId: 'model-user', isGuest: false, availableCredits: 3, maxCredits: 100, lastResetTimestamp: now });
    const entry = await m.CreditTransaction.create({ userId: 'model-user', transactionType: 'grant', amount: 3, description: 'Initial allowance', balanceAfter: 3, idempotencyKey: null });
    await m.CreditHold.create({ debitId: entry.id, userId: 'model-user', amount: 1, createdAt: now, expiresAt: later });
    await UserConsent.create({ userId: 'model-user', termsAccepted: true, marketingConsent: false });
    await QueryCache.create({ queryHash: 'model-hash', result: { answer: 'ok', n: [1, 2.5] }, expiresAt: later });
    const turn = { query: 'boots', resolvedQuery: { query: 'boots', filters: {} }, productIds: ['p-1'], prices: [10], createdAt: now.toISOString() };
    await Conversation.create({ conversationId: 'model-conv', userId: 'model-user', turns: [turn], expiresAt: later });
    await IdempotencyKey.create({ userId: 'model-user', key: 'k', requestHash: 'h', status: 'completed', response: { ok: true }, attempt: 'a', chargeToken: 't', lockedUntil: later, expiresAt: later });
    await RateLimitCounter.create({ key: 'model-key', windowStart: now, windowEnd: later, count: 1 });
    await m.Product.create({ generation: '1', id: 'p-1', name: 'Boot', brand: 'B', category: 'boots', price: '99.50', currency: 'USD', rating: 4.5, url: null, imageUrl: null, contentHash: 'x'.repeat(64) });
    await m.CatalogState.create({ generation: '1', version: 'v'.repeat(64), productCount: 1 });

    expect((await m.UserCredit.findByPk('model-user'))?.toJSON()).toMatchObject({ isGuest: false, availableCredits: 3, maxCredits: 100, lastResetTimestamp: now });
    expect((await m.CreditTransaction.findByPk(entry.id))?.toJSON()).toMatchObject({ transactionType: 'grant', amount: 3, balanceAfter: 3, idempotencyKey: null });
    expect((await m.CreditHold.findByPk(entry.id))?.toJSON()).toMatchObject({ userId: 'model-user', amount: 1, state: 'held', settledAt: null, refundedAt: null });
    expect((await UserConsent.findByPk('model-user'))?.toJSON()).toMatchObject({ termsAccepted: true, marketingConsent: false, timestamp: expect.any(Date) });
    expect((await QueryCache.findByPk('model-hash'))?.result).toEqual({ answer: 'ok', n: [1, 2.5] });
    expect((await Conversation.findByPk('model-conv'))?.turns).toEqual([turn]);
    expect((await IdempotencyKey.findOne({ where: { userId: 'model-user', key: 'k' } }))?.response).toEqual({ ok: true });
    expect((await RateLimitCounter.findByPk('model-key'))?.count).toBe(1);
    expect((await m.Product.findOne({ where: { generation: '1', id: 'p-1' } }))?.toJSON()).toMatchObject({ price: '99.50', tags: [], inStock: true, rating: 4.5 });
    expect((await m.CatalogState.findOne())?.productCount).toBe(1);
  });

  it("mirrors each CHECK constraint as a model validation: the model refuses what the table would", async () => {
    const m = { ...creditModels(sequelize), ...catalogModels(sequelize) };
    const now = new Date('2026-11-22T12:00:00.000Z');
    const later = new Date('2026-11-22T13:00:00.000Z');
    const refused = (p: Promise<unknown>) => expect(p).rejects.toThrow(/Validation/);
    const turn = { query: 'q', resolvedQuery: { query: 'q', filters: {} }, productIds: [], prices: [], createdAt: now.toISOString() };
    await refused(m.UserCredit.build({ userId: 'v', isGuest: true, availableCredits: -1, maxCredits: 1, lastResetTimestamp: now }).validate());
    await refused(m.UserCredit.build({ userId: 'v', isGuest: true, availableCredits: 0, maxCredits: 0, lastResetTimestamp: now }).validate());
    await refused(m.CreditTransaction.build({ userId: 'v', transactionType: 'gift' as never, amount: 1, description: null, balanceAfter: 1, idempotencyKey: null }).validate());
    await refused(m.CreditTransaction.build({ userId: 'v', transactionType: 'grant', amount: 0, description: null, balanceAfter: 1, idempotencyKey: null }).validate());
    await refused(m.CreditTransaction.build({ userId: 'v', transactionType: 'debit', amount: -1, description: null, balanceAfter: -1, idempotencyKey: null }).validate());
    await refused(m.CreditHold.build({ debitId: '1', userId: 'v', amount: 0, createdAt: now, expiresAt: later }).validate());
    await refused(m.CreditHold.build({ debitId: '1', userId: 'v', amount: 1, createdAt: later, expiresAt: now }).validate());
    await refused(m.CreditHold.build({ debitId: '1', userId: 'v', amount: 1, state: 'settled', createdAt: now, expiresAt: later }).validate());
    await refused(m.CreditHold.build({ debitId: '1', userId: 'v', amount: 1, state: 'held', createdAt: now, expiresAt: later, refundedAt: later }).validate());
    await refused(cacheModel(sequelize).build({ queryHash: 'h', result: {}, cachedAt: later, expiresAt: now }).validate());
    await refused(conversationModel(sequelize).build({ conversationId: 'c', userId: 'v', turns: [], expiresAt: later }).validate());
    await refused(conversationModel(sequelize).build({ conversationId: 'c', userId: 'v', turns: Array.from({ length: 21 }, () => turn), expiresAt: later }).validate());
    await refused(conversationModel(sequelize).build({ conversationId: 'c', userId: 'v', turns: [turn], updatedAt: later, expiresAt: now }).validate());
    await refused(idempotencyModel(sequelize).build({ userId: 'v', key: 'k', requestHash: 'h', status: 'done' as never, response: {}, attempt: 'a', chargeToken: 't', lockedUntil: now, expiresAt: later }).validate());
    await refused(idempotencyModel(sequelize).build({ userId: 'v', key: 'k', requestHash: 'h', status: 'completed', response: null, attempt: 'a', chargeToken: 't', lockedUntil: now, expiresAt: later }).validate());
    await refused(rateLimitModel(sequelize).build({ key: 'k', windowStart: now, windowEnd: later, count: 0 }).validate());
    await refused(rateLimitModel(sequelize).build({ key: 'k', windowStart: later, windowEnd: now, count: 1 }).validate());
    const product = { generation: '1', id: 'p', name: 'n', brand: 'b', category: 'c', currency: 'USD', url: null, imageUrl: null, contentHash: 'x'.repeat(64) };
    await refused(m.Product.build({ ...product, price: '-1', rating: null }).validate());
    await refused(m.Product.build({ ...product, price: '1', rating: 5.5 }).validate());
    await refused(m.CatalogState.build({ generation: '1', version: 'v', productCount: -1 }).validate());
    // And what the table accepts, the model accepts.
    await expect(m.CreditHold.build({ debitId: '1', userId: 'v', amount: 1, state: 'refunded', createdAt: now, expiresAt: later, refundedAt: later, settledAt: null }).validate()).resolves.toBeDefined();
    await expect(m.Product.build({ ...product, price: '0', rating: null }).validate()).resolves.toBeDefined();
  });

  it('keeps an idempotency key unique per user (23505), but not across users', async () => {
    const insert = (user: string) =>
      sqlState(`INSERT INTO credit_transactions (user_id, transaction_type, amount, balance_after, idempotency_key) VALUES ('${user}', 'debit', -1, 0, 'key-1')`);
    expect(await insert('a')).toBeUndefined();
    expect(await insert('a')).toBe('23505');
    expect(await insert('b')).toBeUndefined();
  });
});
