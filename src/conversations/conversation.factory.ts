import type { Config } from '../config.js';
import type { Breaker, BreakerRegistry } from '../platform/breaker.js';
import type { Database } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import { redisTarget } from '../platform/redis-client.js';
import { ConversationService } from './conversation.service.js';
import type { ConversationStore } from './conversation.store.js';
import { createMemoryConversationStore } from './conversation.store.memory.js';
import { createPostgresConversationStore } from './conversation.store.postgres.js';
import { createRedisConversationStore } from './conversation.store.redis.js';

export const CONVERSATION_BREAKER = 'conversations';

/**
 * How long a conversation call may take before it counts as a failure and the question is
 * answered as a new one. A read or an append is one statement on one row or key.
 */
export const CONVERSATION_CALL_TIMEOUT_MS = 300;

export interface ConversationDeps {
  config: Config;
  database: Database | undefined;
  breakers: BreakerRegistry;
  /** The database breaker: while it is open the PostgreSQL store fails at once. */
  databaseBreaker?: Breaker | undefined;
  logger: Logger;
  /** Redis key prefix (tests use their own). */
  redisKeyPrefix?: string;
}

/** CONVERSATION_BACKEND → the store, behind the `conversations` breaker when the store is remote. */
export async function createConversations(deps: ConversationDeps): Promise<ConversationService> {
  const { config, logger } = deps;
  let store: ConversationStore;
  let breaker: Breaker | undefined;
  const remoteBreaker = (timeoutMs: number | false) =>
    deps.breakers.create(CONVERSATION_BREAKER, { timeoutMs, errorThresholdPercentage: 50, volumeThreshold: 3, resetTimeoutMs: 5000 });
  switch (config.conversations.backend) {
    case 'memory':
      // In-process: nothing to break.
      store = createMemoryConversationStore();
      break;
    case 'postgres': {
      if (!deps.database) throw new Error('CONVERSATION_BACKEND=postgres needs the database');
      const dbBreaker = deps.databaseBreaker;
      store = createPostgresConversationStore(deps.database.sequelize, { databaseDown: dbBreaker ? () => dbBreaker.state === 'open' : undefined });
      breaker = remoteBreaker(CONVERSATION_CALL_TIMEOUT_MS);
      break;
    }
    case 'redis':
      store = await createRedisConversationStore({
        target: redisTarget(config.cache),
        keyPrefix: deps.redisKeyPrefix,
        commandTimeoutMs: CONVERSATION_CALL_TIMEOUT_MS,
        connectTimeoutMs: 1000,
        logger,
      });
      // ioredis bounds every command itself (commandTimeout): no second timer per call.
      breaker = remoteBreaker(false);
      break;
  }
  return new ConversationService(store, { ttlSeconds: config.conversations.ttlSeconds, breaker, logger });
}
