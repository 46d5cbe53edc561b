/**
 * What the planned statements of the hot path save over the same work through the models
 * (docs/adr/0010-models-off-the-hot-path.md): each hot-path read or write of one request, at 32
 * in flight over 256 users, as the repositories send it (batched per turn of the event loop, a
 * named statement on a pooled connection) and as the plain model call (or, for the conversation
 * turn, the former one upsert per answer through `sequelize.query`). Best of three interleaved
 * rounds, as the credits bench. Reported, not asserted.
 */
import { fn, Op, QueryTypes } from 'sequelize';
import { cacheModel } from '../src/cache/cache.models.js';
import { createPostgresCacheStore } from '../src/cache/cache.store.postgres.js';
import { loadConfig } from '../src/config.js';
import { consentModel } from '../src/consent/consent.models.js';
import { PostgresConsentRepository } from '../src/consent/consent.repository.postgres.js';
import { createPostgresConversationStore } from '../src/conversations/conversation.store.postgres.js';
import { creditModels } from '../src/credits/credit.models.js';
import { PostgresCreditRepository } from '../src/credits/credit.repository.postgres.js';
import { BreakerRegistry } from '../src/platform/breaker.js';
import { createDatabase } from '../src/platform/db.js';
import { DbGuard } from '../src/platform/db-guard.js';
import { createLogger } from '../src/platform/logger.js';
import { Migrator } from '../src/platform/migrator.js';
import { benchDatabase, compare } from './credits.bench.js';
import type { BenchRow, BenchSuite } from './run.js';

const USERS = 256;
const logger = createLogger({ level: 'silent' });
const policy = { guestAllowance: 10, registeredAllowance: 1_000_000_000, resetPeriodMs: 24 * 3_600_000 };
const TURN = { query: 'boots', resolvedQuery: { query: 'boots', filters: {} }, productIds: ['p-1'], prices: [10], createdAt: '2026-01-01T09:00:00.000Z' };

/** The conversation turn as it was written before appends were batched: one upsert per answer. */
const APPEND_ONE = `
INSERT INTO conversations (conversation_id, user_id, turns, created_at, updated_at, expires_at)
VALUES ($1, $2, jsonb_build_array($3::jsonb), now(), now(), now() + $4::int * interval '1 second')
ON CONFLICT (conversation_id) DO UPDATE
   SET turns = CASE
                 WHEN conversations.expires_at <= now() THEN EXCLUDED.turns
                 ELSE (SELECT jsonb_agg(t.turn ORDER BY t.n)
                         FROM jsonb_array_elements(conversations.turns || EXCLUDED.turns) WITH ORDINALITY AS t(turn, n)
                        WHERE t.n > jsonb_array_length(conversations.turns) + 1 - $5::int)
               END,
       created_at = CASE WHEN conversations.expires_at <= now() THEN now() ELSE conversations.created_at END,
       updated_at = now(),
       expires_at = EXCLUDED.expires_at
 WHERE conversations.user_id = EXCLUDED.user_id
RETURNING conversation_id, user_id, turns, expires_at`;

const suite: BenchSuite = {
  name: 'statement-forms',
  async run() {
    const target = await benchDatabase();
    const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: target.url, LOG_LEVEL: 'silent' });
    const settings = { ...config.database, url: target.url, ...(target.poolMax ? { poolSize: target.poolMax, maxOverflow: 0 } : {}) };
    const database = await createDatabase(settings, logger);
    try {
      await new Migrator(database.sequelize).up();
      const sequelize = database.sequelize;
      const guard = new DbGuard(new BreakerRegistry(logger), sequelize, settings);
      const credits = new PostgresCreditRepository(sequelize, guard, policy);
      const consents = new PostgresConsentRepository(sequelize, guard);
      const cache = createPostgresCacheStore(sequelize);
      const conversations = createPostgresConversationStore(sequelize);
      const { UserCredit } = creditModels(sequelize);
      const UserConsent = consentModel(sequelize);
      const QueryCache = cacheModel(sequelize);
      const users = Array.from({ length: USERS }, (_, i) => `bench-${i}`);
      for (const userId of users) {
        await credits.getOrCreate({ userId, isGuest: false });
        await consents.record(userId, { termsAccepted: true, marketingConsent: false });
        await cache.set(userId, { answer: userId, products: [1, 2, 3] }, 3600);
      }
      let n = 0;
      const pairs: [string, string, Record<string, (userId: string) => Promise<unknown>>][] = [
        ['balance read', 'UserCredit.findByPk', { planned: (u) => credits.find(u), model: (u) => UserCredit.findByPk(u) }],
        ['consent check', 'UserConsent.findByPk', { planned: (u) => consents.get(u), model: (u) => UserConsent.findByPk(u) }],
        [
          'cache read',
          'QueryCache.findOne',
          { planned: (u) => cache.get(u), model: (u) => QueryCache.findOne({ where: { queryHash: u, expiresAt: { [Op.gt]: fn('now') } } }) },
        ],
        [
          'cache write',
          'QueryCache.upsert',
          {
            planned: (u) => cache.set(u, { answer: u }, 3600),
            model: (u) => QueryCache.upsert({ queryHash: u, result: { answer: u }, cachedAt: new Date(), expiresAt: new Date(Date.now() + 3_600_000) }),
          },
        ],
        [
          'conversation turn',
          'sequelize.query upsert per answer',
          {
            planned: (u) => conversations.append(u, `c-${u}-${n++ % 8}`, TURN, { ttlSeconds: 3600, maxTurns: 20 }),
            model: (u) => sequelize.query(APPEND_ONE, { type: QueryTypes.SELECT, bind: [`c-${u}-${n++ % 8}`, u, JSON.stringify(TURN), 3600, 20] }),
          },
        ],
      ];
      const rows: BenchRow[] = [];
      for (const [operation, modelForm, contenders] of pairs) {
        const m = await compare(contenders, users);
        rows.push({
          operation,
          'planned req/s': Math.round(m.planned!.perSecond),
          'planned p99 ms': Number(m.planned!.p99.toFixed(2)),
          'model form': modelForm,
          'model req/s': Math.round(m.model!.perSecond),
          'model p99 ms': Number(m.model!.p99.toFixed(2)),
          'planned vs model': `${(m.planned!.perSecond / m.model!.perSecond).toFixed(2)}×`,
        });
      }
      return rows;
    } finally {
      await database.close();
      await target.dispose();
    }
  },
};

export default suite;
