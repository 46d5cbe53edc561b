import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected loadConfig to reject');
}

describe('configuration', () => {
  it('applies the contract defaults when nothing is set', () => {
    const c = loadConfig({});
    expect(c.port).toBe(3000);
    expect(c.host).toBe('0.0.0.0');
    expect(c.trustProxy).toBe(false);
    expect(c.storageBackend).toBe('postgres');
    expect(c.cacheBackend).toBe('postgres');
    expect(c.database).toMatchObject({
      url: undefined,
      dataDir: './data',
      poolSize: 10,
      maxOverflow: 20,
      poolTimeoutSeconds: 30,
      poolRecycleSeconds: 3600,
      connectTimeoutMs: 1000,
      queryTimeoutMs: 1500,
      echoSql: false,
      ssl: 'disable',
      migrateOnStart: true,
    });
    expect(c.cache).toEqual({ redisUrl: 'redis://127.0.0.1:6379/0', ttlSeconds: 3600, maxEntries: 10_000 });
    expect(c.credits).toEqual({ guestAllowance: 10, registeredAllowance: 100, resetPeriodHours: 24, queryCost: 1, cachedQueryCost: 0 });
    expect(c.queryRateLimitPerMinute).toBe(120);
    expect(c.sessions).toMatchObject({ secretGenerated: true, ttlDays: 30, perIpPerHour: 20 });
    expect(c.sessions.secret.length).toBeGreaterThanOrEqual(32);
    expect(c.adminApiKey).toBeUndefined();
    expect(c.assistant).toMatchObject({ provider: 'catalog', timeoutMs: 10_000 });
    expect(c.maintenance).toEqual({ transactionRetentionDays: 90, cleanupIntervalMinutes: 60 });
    expect(c.logLevel).toBe('info');
    expect(c.conversations).toEqual({ backend: 'postgres', ttlSeconds: 28_800 });
  });

  it('keeps conversations where the storage is unless CONVERSATION_BACKEND says otherwise', () => {
    expect(loadConfig({ STORAGE_BACKEND: 'memory' }).conversations.backend).toBe('memory');
    expect(loadConfig({ STORAGE_BACKEND: 'memory', CONVERSATION_BACKEND: 'redis' }).conversations.backend).toBe('redis');
    expect(loadConfig({ CONVERSATION_BACKEND: 'memory', CONVERSATION_TTL_SECONDS: '60' }).conversations).toEqual({ backend: 'memory', ttlSeconds: 60 });
    expect(problemsOf({ STORAGE_BACKEND: 'memory', CONVERSATION_BACKEND: 'postgres' })).toEqual([
      'CONVERSATION_BACKEND: got "postgres", expected memory or redis while STORAGE_BACKEND=memory (memory storage never connects to a database)',
    ]);
    expect(problemsOf({ CONVERSATION_BACKEND: 'mongo' })[0]).toMatch(/^CONVERSATION_BACKEND: got "mongo", expected one of postgres, redis, memory/);
    expect(problemsOf({ CONVERSATION_TTL_SECONDS: '0' })[0]).toMatch(/^CONVERSATION_TTL_SECONDS: got "0", expected an integer from 1 to 2592000/);
  });

  it('parses given values into typed settings', () => {
    const c = loadConfig({
      PORT: '8080',
      TRUST_PROXY: 'loopback',
      STORAGE_BACKEND: 'memory',
      CACHE_BACKEND: 'redis',
      DB_ECHO_SQL: 'true',
      DB_SSL: 'verify-full',
      CREDIT_RESET_PERIOD_HOURS: '0.5',
      QUERY_RATE_LIMIT_PER_MINUTE: '0',
      SESSION_SECRET: 'x'.repeat(32),
    });
    expect(c.port).toBe(8080);
    expect(c.trustProxy).toBe('loopback');
    expect(c.storageBackend).toBe('memory');
    expect(c.cacheBackend).toBe('redis');
    expect(c.database.echoSql).toBe(true);
    expect(c.database.ssl).toBe('verify-full');
    expect(c.credits.resetPeriodHours).toBe(0.5);
    expect(c.queryRateLimitPerMinute).toBe(0);
    expect(c.sessions).toMatchObject({ secret: 'x'.repeat(32), secretGenerated: false });
  });

  it('reads a hop count for TRUST_PROXY as a number', () => {
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
  });

  it('defaults the cache to memory when storage is rolled back to memory', () => {
    expect(loadConfig({ STORAGE_BACKEND: 'memory' }).cacheBackend).toBe('memory');
  });

  it('names each bad variable once, with what was given and what is expected', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      STORAGE_BACKEND: 'mysql',
      CACHE_BACKEND: 'memcached',
      DB_POOL_SIZE: '0',
      DB_ECHO_SQL: 'maybe',
      CREDIT_RESET_PERIOD_HOURS: '-1',
      DATABASE_URL: 'mysql://user:secret@db/x',
    });
    expect(problems).toEqual([
      'PORT: got "eighty", expected an integer from 0 to 65535',
      'STORAGE_BACKEND: got "mysql", expected one of postgres, memory',
      'CACHE_BACKEND: got "memcached", expected one of postgres, redis, memory, none',
      'DATABASE_URL: got (hidden), expected a URL starting with postgres:// or postgresql://',
      'DB_POOL_SIZE: got "0", expected an integer from 1 to 1000',
      'DB_ECHO_SQL: got "maybe", expected true or false',
      'CREDIT_RESET_PERIOD_HOURS: got "-1", expected a positive number (fractions allowed)',
    ]);
  });

  it('never echoes a secret it rejects', () => {
    const problems = problemsOf({ SESSION_SECRET: 'too-short-secret' });
    expect(problems).toEqual(['SESSION_SECRET: got (hidden), expected at least 32 bytes']);
    expect(problems.join('\n')).not.toContain('too-short-secret');
  });

  it('requires SESSION_SECRET in production', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual([
      'SESSION_SECRET: got nothing, expected required when NODE_ENV=production (at least 32 bytes)',
    ]);
  });

  it('rejects a PostgreSQL cache on memory storage, which never connects to a database', () => {
    expect(problemsOf({ STORAGE_BACKEND: 'memory', CACHE_BACKEND: 'postgres' })).toEqual([
      'CACHE_BACKEND: got "postgres", expected memory, redis or none while STORAGE_BACKEND=memory (memory storage never connects to a database)',
    ]);
  });

  it('requires the OpenAI settings when the openai provider is chosen', () => {
    expect(problemsOf({ ASSISTANT_PROVIDER: 'openai' })).toEqual([
      'OPENAI_BASE_URL: got nothing, expected a URL (required when ASSISTANT_PROVIDER=openai)',
      'OPENAI_MODEL: got nothing, expected a model name (required when ASSISTANT_PROVIDER=openai)',
    ]);
  });

  it('accepts one way to verify registered tokens, not two', () => {
    expect(problemsOf({ AUTH_JWT_SECRET: 's'.repeat(32), AUTH_JWKS_URL: 'https://id.example.com/jwks' })).toEqual([
      'AUTH_JWKS_URL: got "https://id.example.com/jwks", expected unset while AUTH_JWT_SECRET is set (use one of the two)',
    ]);
  });

  it('reads the hardening settings, with their defaults', () => {
    const d = loadConfig({});
    expect(d.sessions.perHour).toBe(1000);
    expect(d.rejections).toEqual({ perCallerPerMinute: 30, perIpPerMinute: 120 });
    expect(d.idempotencyMaxKeysPerUser).toBe(1000);
    expect(d.metrics).toEqual({ token: undefined, port: undefined });
    expect(d.corsOrigins).toBeUndefined();
    const c = loadConfig({
      GUEST_SESSIONS_PER_HOUR: '0',
      REJECTED_REQUESTS_PER_MINUTE: '5',
      REJECTED_REQUESTS_PER_IP_PER_MINUTE: '0',
      IDEMPOTENCY_MAX_KEYS_PER_USER: '10',
      METRICS_TOKEN: 'a-metrics-token-of-16+',
      METRICS_PORT: '9464',
      CORS_ORIGINS: 'https://shop.example, http://localhost:5173',
    });
    expect(c.sessions.perHour).toBe(0);
    expect(c.rejections).toEqual({ perCallerPerMinute: 5, perIpPerMinute: 0 });
    expect(c.idempotencyMaxKeysPerUser).toBe(10);
    expect(c.metrics).toEqual({ token: 'a-metrics-token-of-16+', port: 9464 });
    expect(c.corsOrigins).toEqual(['https://shop.example', 'http://localhost:5173']);
    expect(loadConfig({ CORS_ORIGINS: '*' }).corsOrigins).toEqual(['*']);
  });

  it('refuses CORS origins that are not bare origins, * mixed with origins, a short metrics token and METRICS_PORT = PORT', () => {
    for (const bad of ['https://shop.example/path', '*, https://shop.example', 'shop.example', 'ftp://shop.example', 'https://shop.example/']) {
      expect(problemsOf({ CORS_ORIGINS: bad }), bad).toEqual([expect.stringMatching(/^CORS_ORIGINS: got .*, expected \* alone, or comma-separated origins/)]);
    }
    expect(problemsOf({ METRICS_TOKEN: 'short' })).toEqual(['METRICS_TOKEN: got (hidden), expected at least 16 characters']);
    expect(problemsOf({ METRICS_PORT: '3000' })).toEqual([expect.stringMatching(/^METRICS_PORT: got "3000", expected a port other than PORT/)]);
    expect(problemsOf({ IDEMPOTENCY_MAX_KEYS_PER_USER: '0' })).toEqual([expect.stringMatching(/^IDEMPOTENCY_MAX_KEYS_PER_USER:/)]);
  });

  it('derives the query-hash key from SESSION_SECRET: stable for one secret, never the secret itself', () => {
    const secret = 'y'.repeat(40);
    const a = loadConfig({ SESSION_SECRET: secret });
    expect(a.queryHashKey).toBe(loadConfig({ SESSION_SECRET: secret }).queryHashKey);
    expect(a.queryHashKey).not.toContain(secret);
    expect(a.queryHashKey).not.toBe(loadConfig({ SESSION_SECRET: 'z'.repeat(40) }).queryHashKey);
  });

  it('reads the scale-out settings: pooler mode, replicas, Redis Cluster', () => {
    const plain = loadConfig({});
    expect(plain.database).toMatchObject({ preparedStatements: true, replicaUrls: [], replicaMaxLagSeconds: 5 });
    expect(plain.cache.redisClusterNodes).toBeUndefined();
    const c = loadConfig({
      DATABASE_URL: 'postgres://app@pgbouncer:6432/shop',
      DB_PREPARED_STATEMENTS: 'false',
      DATABASE_REPLICA_URLS: 'postgres://app@replica-1:5432/shop, postgresql://app@replica-2:5432/shop',
      DB_REPLICA_MAX_LAG_SECONDS: '2.5',
      REDIS_CLUSTER_NODES: '10.0.0.5:7001, redis-b:7002,[::1]:7003',
    });
    expect(c.database).toMatchObject({
      preparedStatements: false,
      replicaUrls: ['postgres://app@replica-1:5432/shop', 'postgresql://app@replica-2:5432/shop'],
      replicaMaxLagSeconds: 2.5,
    });
    expect(c.cache.redisClusterNodes).toEqual([
      { host: '10.0.0.5', port: 7001 },
      { host: 'redis-b', port: 7002 },
      { host: '::1', port: 7003 },
    ]);
  });

  it('rejects bad scale-out settings with one line each, never echoing replica URLs', () => {
    const problems = problemsOf({
      DATABASE_URL: 'postgres://app@db/shop',
      DB_PREPARED_STATEMENTS: 'maybe',
      DATABASE_REPLICA_URLS: 'postgres://app:secret@replica/shop,mysql://x',
      DB_REPLICA_MAX_LAG_SECONDS: '0',
      REDIS_CLUSTER_NODES: 'redis-a:7001,redis-b',
    });
    expect(problems).toEqual([
      'DATABASE_REPLICA_URLS: got (hidden), expected a comma-separated list of URLs starting with postgres:// or postgresql://',
      'DB_REPLICA_MAX_LAG_SECONDS: got "0", expected a positive number (fractions allowed)',
      'DB_PREPARED_STATEMENTS: got "maybe", expected true or false',
      'REDIS_CLUSTER_NODES: got "redis-a:7001,redis-b", expected a comma-separated list of host:port (e.g. 10.0.0.5:6379,10.0.0.6:6379)',
    ]);
    expect(problemsOf({ DATABASE_REPLICA_URLS: 'postgres://app@replica/shop' })).toEqual([
      'DATABASE_REPLICA_URLS: got (hidden), expected unset while DATABASE_URL is unset (the embedded database has no replicas)',
    ]);
  });

  it('refuses a CHARGE_HOLD_SECONDS that a request could outlast, naming the least it takes', () => {
    // 10 000 + 6 × (1 500 + 100) + 1 750 ms = 21.35 s after the charge, with the defaults.
    expect(loadConfig({}).holds).toEqual({ holdSeconds: 120, sweepSeconds: 10 });
    expect(loadConfig({}).assistant.requestBudgetMs).toBe(21_350);
    expect(problemsOf({ CHARGE_HOLD_SECONDS: '21' })).toEqual([expect.stringMatching(/^CHARGE_HOLD_SECONDS: got "21", expected more than 22 \(the longest a request can take/)]);
    expect(loadConfig({ CHARGE_HOLD_SECONDS: '22' }).holds.holdSeconds).toBe(22);
    expect(loadConfig({ CHARGE_HOLD_SECONDS: '9', ASSISTANT_TIMEOUT_MS: '1000', DB_QUERY_TIMEOUT_MS: '500' }).assistant.requestBudgetMs).toBe(6350);
    expect(problemsOf({ HOLD_SWEEP_SECONDS: '-1' })).toEqual([expect.stringMatching(/^HOLD_SWEEP_SECONDS:/)]);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '' }).port).toBe(3000);
  });
});
