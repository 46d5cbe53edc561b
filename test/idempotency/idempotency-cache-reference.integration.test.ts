import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresCacheStore } from '../../src/cache/cache.store.postgres.js';
import type { CacheStore, JsonValue } from '../../src/cache/cache.store.js';
import type { BeginParams, StoredResponse } from '../../src/idempotency/idempotency.store.js';
import { COMPLETE_MANY, completeBind, PostgresIdempotencyStore } from '../../src/idempotency/idempotency.store.postgres.js';
import { unguarded } from '../../src/platform/storage-guard.js';
import { TestClock } from '../contracts/clock.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { createMigratedDatabase, type MigratedDatabase } from '../support/credit-storage.js';
import { TEST_DATABASE_URL } from '../support/database.js';
import { guest } from '../support/shoppers.js';

/**
 * STORAGE_BACKEND=postgres with CACHE_BACKEND=postgres: a completed Idempotency-Key record refers
 * to the `query_cache` row holding its answer instead of keeping a copy, and the database keeps
 * that answer for the record's life whatever becomes of the row (docs/adr/0011).
 */

const TTL = 24 * 3600_000;

function product(topic: string, i: number) {
  return {
    id: `sku-${i}`,
    name: `Trailmaster ${topic} ${i}`,
    brand: 'Northpeak',
    category: 'footwear',
    price: 129.99 + i,
    currency: 'EUR',
    score: 0.87 - i / 100,
    url: `https://shop.example/products/sku-${i}`,
    imageUrl: `https://cdn.shop.example/images/sku-${i}.jpg`,
    inStock: i % 2 === 0,
  };
}

/** An answer as the catalog provider writes one: a few sentences and five products. */
function answerOf(topic: string) {
  return {
    answer: `Here are five ${topic} that match: Trailmaster 0 (€129.99) is the best match; Grüße ✓ — all are waterproof, and two are in stock. `.repeat(3),
    products: [0, 1, 2, 3, 4].map((i) => product(topic, i)),
  };
}

/** What the assistant records of an answer: the cache's answer and products, and its own fields. */
function responseOf(answer: { answer: string; products: unknown[] }, extra: Partial<StoredResponse> = {}): StoredResponse {
  return {
    answer: answer.answer,
    products: answer.products,
    cached: true,
    creditsCharged: 0,
    cache: 'HIT',
    conversationId: randomUUID(),
    resolvedQuery: { query: 'waterproof hiking boots', filters: { maxPrice: 150 }, limit: 5, offset: 0 },
    ...extra,
  };
}

describe.skipIf(!TEST_DATABASE_URL)('idempotency records that refer to the query cache', () => {
  let db: MigratedDatabase;
  let sequelize: Sequelize;
  let cache: CacheStore;
  let store: PostgresIdempotencyStore;
  const clock = new TestClock(new Date().toISOString());

  beforeAll(async () => {
    db = await createMigratedDatabase({ poolSize: 8, maxOverflow: 0 });
    sequelize = db.database.sequelize;
    cache = createPostgresCacheStore(sequelize);
    store = new PostgresIdempotencyStore(sequelize, unguarded, clock.now, { referToCache: true });
  });
  afterAll(async () => {
    await db?.dispose();
  });

  const select = <T extends object>(sql: string, bind: unknown[] = []) => sequelize.query<T>(sql, { type: QueryTypes.SELECT, bind });

  async function started(): Promise<BeginParams> {
    const p: BeginParams = { userId: `user-${randomUUID()}`, key: `key-${randomUUID()}`, requestHash: 'h', attempt: randomUUID(), ttlMs: TTL, leaseMs: 30_000 };
    expect((await store.begin(p)).state).toBe('started');
    return p;
  }

  /** An answer in a new cache row (`key`), and the response a record of it keeps. */
  async function cachedAnswer(topic = 'boots') {
    const key = `k-${randomUUID()}`;
    const answer = answerOf(topic);
    await cache.set(key, answer, 3600);
    return { key, answer, response: responseOf(answer) };
  }

  /** A record completed with `response`, told `cacheKey`. */
  async function completed(response: StoredResponse, cacheKey: string): Promise<BeginParams> {
    const p = await started();
    expect(await store.complete(p.userId, p.key, p.attempt, response, null, { cacheKey })).toBe(true);
    return p;
  }

  async function row(p: BeginParams) {
    const [r] = await select<{ response: StoredResponse; cache_ref: string | null; cache_fields: string[] | null }>(
      'SELECT response, cache_ref, cache_fields FROM idempotency_keys WHERE user_id = $1 AND key = $2',
      [p.userId, p.key],
    );
    return r!;
  }

  /**
   * The replay, as the text a record holding a copy would give: PostgreSQL's jsonb text of the
   * response, which the driver parses and JSON.stringify writes again in the same order.
   */
  async function expectReplayOf(p: BeginParams, response: StoredResponse): Promise<void> {
    const replay = await store.begin({ ...p, attempt: randomUUID() });
    expect(replay).toEqual({ state: 'completed', response });
    const [copy] = await select<{ text: string }>('SELECT $1::jsonb::text AS text', [JSON.stringify(response)]);
    expect(JSON.stringify((replay as { response: StoredResponse }).response)).toBe(JSON.stringify(JSON.parse(copy!.text)));
  }

  async function expire(key: string): Promise<void> {
    await sequelize.query(`UPDATE query_cache SET cached_at = now() - interval '2 hours', expires_at = now() - interval '1 hour' WHERE query_hash = $1`, { bind: [key] });
  }

  /** Waits until a statement of this database (matching `like`) waits for a lock. */
  async function waitingOnLock(like: string): Promise<void> {
    for (let i = 0; i < 500; i++) {
      const [{ n }] = await select<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE $1`,
        [like],
      );
      if (n > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`no statement like ${like} waited for a lock`);
  }

  it('keeps no copy of an answer the cache row holds: the record names the row and the fields', async () => {
    const { key, response } = await cachedAnswer();
    const p = await completed(response, key);
    const r = await row(p);
    expect(r.cache_ref).toBe(key);
    expect(r.cache_fields).toEqual(['answer', 'products']);
    expect(Object.keys(r.response).sort()).toEqual(['cache', 'cached', 'conversationId', 'creditsCharged', 'resolvedQuery']);
    await expectReplayOf(p, response);
  });

  it('refers to the fields the row holds and keeps the rest (a follow-up explains its answer first)', async () => {
    const { key, answer } = await cachedAnswer('boots for women');
    const response = responseOf(answer, { answer: `Narrowed to women. ${answer.answer}` });
    const p = await completed(response, key);
    expect((await row(p)).cache_fields).toEqual(['products']);
    expect((await row(p)).response.answer).toBe(response.answer);
    await expectReplayOf(p, response);
  });

  it('keeps a copy when the row holds another answer, or there is no row', async () => {
    const key = `k-${randomUUID()}`;
    await cache.set(key, answerOf('tents'), 3600);
    const response = responseOf(answerOf('boots'));
    for (const cacheKey of [key, `absent-${randomUUID()}`]) {
      const p = await completed(response, cacheKey);
      expect(await row(p)).toMatchObject({ cache_ref: null, cache_fields: null, response });
      await expectReplayOf(p, response);
    }
  });

  it('compares as a replay prints: 1.0 in the row is not the 1 of the answer', async () => {
    const key = `k-${randomUUID()}`;
    await sequelize.query(`INSERT INTO query_cache (query_hash, result, expires_at) VALUES ($1, '{"answer": "x", "products": [{"price": 1.0}]}', now() + interval '1 hour')`, { bind: [key] });
    const response = responseOf({ answer: 'x', products: [{ price: 1 }] });
    const p = await completed(response, key);
    expect((await row(p)).cache_fields).toEqual(['answer']);
    await expectReplayOf(p, response);
  });

  it('replays the original answer after the entry expired (not yet cleaned up): the reference stays', async () => {
    const { key, response } = await cachedAnswer();
    const p = await completed(response, key);
    await expire(key);
    await expect(cache.get(key)).resolves.toBeUndefined();
    expect((await row(p)).cache_ref).toBe(key);
    await expectReplayOf(p, response);
  });

  it('cleanup keeps an expired entry while a record refers to it (one copy for every key), and deletes it after the last one', async () => {
    const { key, response } = await cachedAnswer();
    const [p, q] = [await completed(response, key), await completed(response, key)];
    await expire(key);
    await cache.cleanupExpired();
    const kept = async () => (await select<{ n: number }>('SELECT count(*)::int AS n FROM query_cache WHERE query_hash = $1', [key]))[0]!.n;
    expect(await kept()).toBe(1);
    expect((await row(p)).cache_ref).toBe(key);
    await expectReplayOf(p, response);
    await sequelize.query('DELETE FROM idempotency_keys WHERE user_id = $1', { bind: [p.userId] });
    await cache.cleanupExpired();
    expect(await kept()).toBe(1);
    await sequelize.query('DELETE FROM idempotency_keys WHERE user_id = $1', { bind: [q.userId] });
    await cache.cleanupExpired();
    expect(await kept()).toBe(0);
  });

  it('replays the original answer after an expired entry was deleted all the same: the answer was copied into the record', async () => {
    const { key, response } = await cachedAnswer();
    const p = await completed(response, key);
    await expire(key);
    await sequelize.query('DELETE FROM query_cache WHERE expires_at <= now()');
    expect(await row(p)).toMatchObject({ cache_ref: null, cache_fields: null, response });
    await expectReplayOf(p, response);
  });

  it('replays the original answer after a fresh answer overwrote the entry', async () => {
    const { key, answer, response } = await cachedAnswer();
    const [p, q] = [await completed(response, key), await completed(responseOf(answer, { cached: false }), key)];
    await cache.set(key, answerOf('boots, new stock'), 3600);
    expect((await row(p)).cache_ref).toBeNull();
    expect((await row(q)).cache_ref).toBeNull();
    await expectReplayOf(p, response);
  });

  it('keeps referring when the entry is written again with the same answer (a refresh)', async () => {
    const { key, answer, response } = await cachedAnswer();
    const p = await completed(response, key);
    await cache.set(key, structuredClone(answer) as JsonValue, 3600);
    expect((await row(p)).cache_ref).toBe(key);
    await expectReplayOf(p, response);
  });

  it('replays the original answer after the operator cleared the cache, or it was truncated', async () => {
    for (const empty of [() => cache.clear(), () => sequelize.query('TRUNCATE query_cache').then(() => {})]) {
      const { key, response } = await cachedAnswer();
      const p = await completed(response, key);
      await empty();
      expect(await row(p)).toMatchObject({ cache_ref: null, response });
      await expectReplayOf(p, response);
    }
  });

  it('a record taken over after it expired no longer refers to the row', async () => {
    const { key, answer } = await cachedAnswer();
    const p = await completed(responseOf(answer), key);
    clock.advance(TTL + 1);
    expect((await store.begin({ ...p, attempt: randomUUID() })).state).toBe('started');
    expect(await row(p)).toMatchObject({ cache_ref: null, cache_fields: null, response: null });
  });

  it('does not refer to the cache unless told it is query_cache (another CACHE_BACKEND)', async () => {
    const copying = new PostgresIdempotencyStore(sequelize, unguarded, clock.now);
    const { key, answer } = await cachedAnswer();
    const p = await started();
    expect(await copying.complete(p.userId, p.key, p.attempt, responseOf(answer), null, { cacheKey: key })).toBe(true);
    expect((await row(p)).cache_ref).toBeNull();
  });

  it('refuses to change a cache row outside READ COMMITTED, where a reference could be missed', async () => {
    const key = `k-${randomUUID()}`;
    await cache.set(key, answerOf('boots'), 3600);
    const failed = await sequelize
      .transaction({ isolationLevel: 'REPEATABLE READ' as Transaction.ISOLATION_LEVELS }, (transaction) =>
        sequelize.query('DELETE FROM query_cache WHERE query_hash = $1', { bind: [key], transaction }),
      )
      .then(
        () => undefined,
        (err: { parent?: { code?: string } }) => err.parent?.code,
      );
    expect(failed).toBe('0A000');
  });

  describe('races, with real concurrent transactions', () => {
    it('an overwrite that comes while a completion holds the row waits for it, then copies the answer into the record', async () => {
      const { key, response } = await cachedAnswer();
      const p = await started();
      // The completion statement, in a transaction left open after it.
      const completion = await sequelize.transaction();
      const [done] = await sequelize.query<{ completed: boolean }>(COMPLETE_MANY, {
        bind: completeBind([{ userId: p.userId, key: p.key, attempt: p.attempt, response: JSON.stringify(response), hold: null, cacheKey: key }], clock.now()),
        type: QueryTypes.SELECT,
        transaction: completion,
      });
      expect(done?.completed).toBe(true);
      // Its statement (and snapshot) starts now, before the completion commits.
      const overwrite = cache.set(key, answerOf('boots, new stock'), 3600);
      await waitingOnLock('%INSERT INTO query_cache%');
      await completion.commit();
      await overwrite;
      expect(await row(p)).toMatchObject({ cache_ref: null, response });
      await expectReplayOf(p, response);
    });

    it('a delete (cleanup, clear) that comes while a completion holds the row waits for it, then copies the answer', async () => {
      const { key, response } = await cachedAnswer();
      const p = await started();
      const completion = await sequelize.transaction();
      await sequelize.query(COMPLETE_MANY, {
        bind: completeBind([{ userId: p.userId, key: p.key, attempt: p.attempt, response: JSON.stringify(response), hold: null, cacheKey: key }], clock.now()),
        type: QueryTypes.SELECT,
        transaction: completion,
      });
      const clear = sequelize.query('DELETE FROM query_cache WHERE query_hash = $1', { bind: [key] });
      await waitingOnLock('%DELETE FROM query_cache%');
      await completion.commit();
      await clear;
      expect(await row(p)).toMatchObject({ cache_ref: null, response });
      await expectReplayOf(p, response);
    });

    it('a completion that comes while an overwrite holds the row waits for it, then keeps a copy', async () => {
      const { key, response } = await cachedAnswer();
      const p = await started();
      const overwrite = await sequelize.transaction();
      await sequelize.query('UPDATE query_cache SET result = $2::jsonb WHERE query_hash = $1', { bind: [key, JSON.stringify(answerOf('tents'))], transaction: overwrite });
      const completion = store.complete(p.userId, p.key, p.attempt, response, null, { cacheKey: key });
      await waitingOnLock('%FOR SHARE%');
      await overwrite.commit();
      expect(await completion).toBe(true);
      expect(await row(p)).toMatchObject({ cache_ref: null, response });
      await expectReplayOf(p, response);
    });

    it('a completion that comes while a delete holds the row waits for it, then keeps a copy', async () => {
      const { key, response } = await cachedAnswer();
      const p = await started();
      const deletion = await sequelize.transaction();
      await sequelize.query('DELETE FROM query_cache WHERE query_hash = $1', { bind: [key], transaction: deletion });
      const completion = store.complete(p.userId, p.key, p.attempt, response, null, { cacheKey: key });
      await waitingOnLock('%FOR SHARE%');
      await deletion.commit();
      expect(await completion).toBe(true);
      expect(await row(p)).toMatchObject({ cache_ref: null, response });
      await expectReplayOf(p, response);
    });

    it('under churn (completions, overwrites, clears and replays at once) every replay is its own original', async () => {
      const key = `k-${randomUUID()}`;
      const answers = [answerOf('boots'), answerOf('tents'), answerOf('stoves')];
      await cache.set(key, answers[0]!, 3600);
      const records: { p: BeginParams; response: StoredResponse }[] = [];
      let referred = 0;
      let churning = true;
      const churn = (async () => {
        for (let i = 0; churning; i++) {
          if (i % 7 === 6) await sequelize.query('DELETE FROM query_cache WHERE query_hash = $1', { bind: [key] });
          else await cache.set(key, answers[i % answers.length]!, 3600);
        }
      })();
      const replays = async () => {
        while (churning) {
          const done = records.slice();
          for (const { p, response } of done.slice(-5)) await expectReplayOf(p, response);
          await new Promise((resolve) => setImmediate(resolve));
        }
      };
      const replaying = replays();
      await Promise.all(
        Array.from({ length: 6 }, async (_, worker) => {
          for (let i = 0; i < 15; i++) {
            const response = responseOf(answers[(worker + i) % answers.length]!);
            const p = await completed(response, key);
            if ((await row(p)).cache_ref !== null) referred++;
            records.push({ p, response });
          }
        }),
      );
      churning = false;
      await Promise.all([churn, replaying]);
      await cache.set(key, answerOf('something else'), 3600);
      await cache.clear();
      for (const { p, response } of records) await expectReplayOf(p, response);
      // Some completions found their answer in the row (a reference), the others kept a copy.
      expect(referred).toBeGreaterThan(0);
      expect(referred).toBeLessThan(records.length);
    });
  });

  it('a rolled-back migration turns every reference into a copy', async () => {
    const { key, response } = await cachedAnswer();
    const p = await completed(response, key);
    const { Migrator } = await import('../../src/platform/migrator.js');
    const migrator = new Migrator(sequelize);
    await migrator.down({ to: '202612031500-idempotency-answers-refer-to-cache' });
    try {
      const [r] = await select<{ response: StoredResponse }>('SELECT response FROM idempotency_keys WHERE user_id = $1 AND key = $2', [p.userId, p.key]);
      expect(r?.response).toEqual(response);
      const [{ n }] = await select<{ n: number }>(`SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = 'query_cache'::regclass AND NOT tgisinternal`);
      expect(n).toBe(0);
    } finally {
      await migrator.up();
    }
  });
});

describe.skipIf(!TEST_DATABASE_URL)('the query route on the default backends (PostgreSQL storage and cache)', () => {
  const ADMIN_KEY = 'operator-key-0123456789abcdef';
  let db: MigratedDatabase;
  let app: TestApp;

  beforeAll(async () => {
    db = await createMigratedDatabase();
    app = await createTestApp({
      SESSION_SECRET: 'guest-session-secret-of-at-least-32-bytes!!',
      ADMIN_API_KEY: ADMIN_KEY,
      GUEST_SESSIONS_PER_IP_PER_HOUR: '100000',
      DATABASE_URL: db.database.url,
      STORAGE_BACKEND: 'postgres',
      CACHE_BACKEND: 'postgres',
    });
  });
  afterAll(async () => {
    await app?.close();
    await db?.dispose();
  });

  const ask = (auth: string, body: object, key: string) =>
    request(app.app).post('/api/v1/assistant/query').set('Authorization', auth).set('Idempotency-Key', key).send(body);

  it('records a cached answer as a reference to its cache row and a fresh one (recorded in its finish) as a copy, and replays both byte for byte after the operator cleared the cache', async () => {
    const u = await guest(app);
    const body = { query: `waterproof hiking boots ${randomUUID()}`, limit: 5 };
    const [freshKey, cachedKey] = [randomUUID(), randomUUID()];
    const fresh = await ask(u.auth, body, freshKey);
    const cached = await ask(u.auth, body, cachedKey);
    expect([fresh.status, fresh.headers['x-cache'], cached.status, cached.headers['x-cache']]).toEqual([200, 'MISS', 200, 'HIT']);
    const rows = await db.database.sequelize.query<{ key: string; cache_ref: string | null; cache_fields: string[] | null; kept: number }>(
      'SELECT key, cache_ref, cache_fields, pg_column_size(response) AS kept FROM idempotency_keys WHERE user_id = $1',
      { bind: [u.userId], type: QueryTypes.SELECT },
    );
    expect(rows).toHaveLength(2);
    // The fresh answer's record is completed in the statement that writes its cache entry: a copy
    // (it cost credits, so its copies are bounded by what the shopper spent). The free one refers.
    const byKey = new Map(rows.map((r) => [r.key, r]));
    expect(byKey.get(freshKey)).toMatchObject({ cache_ref: null, cache_fields: null });
    expect(byKey.get(cachedKey)).toMatchObject({ cache_ref: expect.any(String), cache_fields: ['answer', 'products'] });

    // A replay read through the reference, then (the cache cleared) one read from the copy the
    // trigger made: the same bytes, and the original answer (jsonb orders keys its own way).
    const withoutCredits = (res: request.Response) => res.text.replace(/"credits":\{[^}]*\}/, '');
    const throughReference = await Promise.all([ask(u.auth, body, freshKey), ask(u.auth, body, cachedKey)]);
    const cleared = await request(app.app).delete('/api/v1/admin/cache').set('X-Admin-Key', ADMIN_KEY);
    expect(cleared.status).toBeLessThan(300);
    const fromCopy = await Promise.all([ask(u.auth, body, freshKey), ask(u.auth, body, cachedKey)]);
    for (const [i, first] of [fresh, cached].entries()) {
      expect(fromCopy[i]!.headers['idempotent-replayed']).toBe('true');
      expect(withoutCredits(fromCopy[i]!)).toBe(withoutCredits(throughReference[i]!));
      expect({ ...fromCopy[i]!.body, credits: null }).toEqual({ ...first.body, credits: null });
    }
  });
});
