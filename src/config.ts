// Over 300 lines: this is the one place that reads the environment, so every setting's schema,
// default and error text is here, side by side; splitting it by feature would bring back reads
// of process.env in several places.
import { createHmac, randomBytes } from 'node:crypto';
import { z } from 'zod';

/**
 * The one place that reads the environment. `loadConfig(process.env)` runs once at boot (in
 * main.ts); everything else receives the typed `Config` it returns. A bad value is reported as
 * one line per variable: its name, what was given and what is expected.
 */

const SECRET_VARS = new Set([
  'DATABASE_URL',
  'DATABASE_REPLICA_URLS',
  'REDIS_URL',
  'SESSION_SECRET',
  'AUTH_JWT_SECRET',
  'ADMIN_API_KEY',
  'OPENAI_API_KEY',
  'METRICS_TOKEN',
]);

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^-?\d+$/, { message: `an integer from ${min} to ${max}` })
    .transform(Number)
    .pipe(z.number().int().min(min, `an integer from ${min} to ${max}`).max(max, `an integer from ${min} to ${max}`));

const positiveNumber = z
  .string()
  .regex(/^\d+(\.\d+)?$/, { message: 'a positive number (fractions allowed)' })
  .transform(Number)
  .pipe(z.number().positive('a positive number (fractions allowed)'));

const bool = z
  .string()
  .transform((s) => s.toLowerCase())
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'true or false' }))
  .transform((s) => s === 'true' || s === '1' || s === 'yes');

const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { message: `one of ${values.join(', ')}` });

const optionalString = z.string().optional();

const url = (protocols: string[]) =>
  z.string().refine(
    (s) => {
      try {
        return protocols.includes(new URL(s).protocol);
      } catch {
        return false;
      }
    },
    { message: `a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
  );

/** A comma-separated list of PostgreSQL URLs (spaces around commas allowed). */
const postgresUrlList = z
  .string()
  .transform((s) => s.split(',').map((part) => part.trim()).filter((part) => part !== ''))
  .refine(
    (urls) =>
      urls.length > 0 &&
      urls.every((u) => {
        try {
          return ['postgres:', 'postgresql:'].includes(new URL(u).protocol);
        } catch {
          return false;
        }
      }),
    { message: 'a comma-separated list of URLs starting with postgres:// or postgresql://' },
  );

/** `host:port,host:port,…` (IPv6 hosts in brackets: `[::1]:7001`). */
const hostPortMessage = 'a comma-separated list of host:port (e.g. 10.0.0.5:6379,10.0.0.6:6379)';
const hostPortList = z
  .string()
  .transform((s) => s.split(',').map((part) => part.trim()).filter((part) => part !== ''))
  .pipe(
    z
      .array(z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, { message: hostPortMessage }))
      .min(1, hostPortMessage)
      .refine((nodes) => nodes.every((n) => Number(n.slice(n.lastIndexOf(':') + 1)) <= 65535), { message: hostPortMessage }),
  )
  .transform((nodes) =>
    nodes.map((n) => {
      const at = n.lastIndexOf(':');
      return { host: n.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(n.slice(at + 1)) };
    }),
  );

const trustProxy = z
  .string()
  .regex(/^[\w.:/,\s-]+$/, { message: 'loopback, a hop count, true/false, or a comma-separated list of addresses/CIDRs' })
  .transform((s): boolean | number | string => {
    if (s === 'true' || s === 'false') return s === 'true';
    if (/^\d+$/.test(s)) return Number(s);
    return s;
  })
  .optional();

/** `*`, or a comma-separated list of origins (`scheme://host[:port]`, no path). */
const corsOrigins = z
  .string()
  .transform((s) => s.split(',').map((o) => o.trim()).filter((o) => o !== ''))
  .refine(
    (origins) =>
      (origins.length === 1 && origins[0] === '*') ||
      (origins.length > 0 &&
        origins.every((o) => {
          try {
            const u = new URL(o);
            return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === o;
          } catch {
            return false;
          }
        })),
    { message: '* alone, or comma-separated origins such as https://shop.example (scheme, host and port only)' },
  )
  .optional();

const envSchema = z
  .object({
    NODE_ENV: oneOf(['development', 'production', 'test']).default('development'),
    PORT: int(0, 65535).default(3000),
    HOST: z.string().default('0.0.0.0'),
    TRUST_PROXY: trustProxy,
    STORAGE_BACKEND: oneOf(['postgres', 'memory']).default('postgres'),
    CACHE_BACKEND: oneOf(['postgres', 'redis', 'memory', 'none']).optional(),
    DATABASE_URL: url(['postgres:', 'postgresql:']).optional(),
    DATABASE_REPLICA_URLS: postgresUrlList.optional(),
    DB_REPLICA_MAX_LAG_SECONDS: positiveNumber.default(5),
    DB_PREPARED_STATEMENTS: bool.default(true),
    DATA_DIR: z.string().default('./data'),
    DB_POOL_SIZE: int(1, 1000).default(10),
    DB_MAX_OVERFLOW: int(0, 1000).default(20),
    DB_POOL_TIMEOUT: int(1, 3600).default(30),
    DB_POOL_RECYCLE: int(1, 86_400 * 7).default(3600),
    DB_CONNECT_TIMEOUT_MS: int(1, 600_000).default(1000),
    DB_QUERY_TIMEOUT_MS: int(1, 600_000).default(1500),
    DB_ECHO_SQL: bool.default(false),
    DB_SSL: oneOf(['disable', 'require', 'verify-full']).default('disable'),
    MIGRATE_ON_START: bool.default(true),
    REDIS_URL: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379/0'),
    REDIS_CLUSTER_NODES: hostPortList.optional(),
    CACHE_TTL_SECONDS: int(1, 86_400 * 365).default(3600),
    // The memory cache's bound; why this default: src/platform/memory-bounds.ts.
    CACHE_MAX_ENTRIES: int(1, 10_000_000).default(10_000),
    CONVERSATION_BACKEND: oneOf(['postgres', 'redis', 'memory']).optional(),
    CONVERSATION_TTL_SECONDS: int(1, 86_400 * 30).default(28_800),
    GUEST_CREDITS: int(1, 1_000_000_000).default(10),
    REGISTERED_CREDITS: int(1, 1_000_000_000).default(100),
    CREDIT_RESET_PERIOD_HOURS: positiveNumber.default(24),
    QUERY_COST: int(0, 1_000_000).default(1),
    CACHED_QUERY_COST: int(0, 1_000_000).default(0),
    QUERY_RATE_LIMIT_PER_MINUTE: int(0, 1_000_000).default(120),
    SESSION_SECRET: z
      .string()
      .refine((s) => Buffer.byteLength(s, 'utf8') >= 32, { message: 'at least 32 bytes' })
      .optional(),
    GUEST_SESSION_TTL_DAYS: int(1, 3650).default(30),
    GUEST_SESSIONS_PER_IP_PER_HOUR: int(1, 1_000_000).default(20),
    GUEST_SESSIONS_PER_HOUR: int(0, 1_000_000_000).default(1000),
    REJECTED_REQUESTS_PER_MINUTE: int(0, 1_000_000).default(30),
    REJECTED_REQUESTS_PER_IP_PER_MINUTE: int(0, 1_000_000).default(120),
    IDEMPOTENCY_MAX_KEYS_PER_USER: int(1, 1_000_000).default(1000),
    METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
    METRICS_PORT: int(1, 65535).optional(),
    CORS_ORIGINS: corsOrigins,
    AUTH_JWT_SECRET: optionalString,
    AUTH_JWKS_URL: url(['https:', 'http:']).optional(),
    AUTH_ISSUER: optionalString,
    AUTH_AUDIENCE: optionalString,
    ADMIN_API_KEY: z.string().min(16, 'at least 16 characters').optional(),
    ASSISTANT_PROVIDER: oneOf(['catalog', 'openai']).default('catalog'),
    CATALOG_PATH: optionalString,
    CATALOG_MAX_BYTES: int(1, 2 ** 31 - 1).default(52_428_800),
    CATALOG_REFRESH_SECONDS: int(1, 3600).default(5),
    OPENAI_BASE_URL: url(['https:', 'http:']).optional(),
    OPENAI_API_KEY: optionalString,
    OPENAI_MODEL: optionalString,
    ASSISTANT_TIMEOUT_MS: int(1, 600_000).default(10_000),
    CHARGE_HOLD_SECONDS: int(1, 86_400).default(120),
    HOLD_SWEEP_SECONDS: int(0, 86_400).default(10),
    TRANSACTION_RETENTION_DAYS: int(1, 36_500).default(90),
    CLEANUP_INTERVAL_MINUTES: int(0, 525_600).default(60),
    LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === 'production' && !env.SESSION_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['SESSION_SECRET'], message: 'required when NODE_ENV=production (at least 32 bytes)' });
    }
    if (env.METRICS_PORT !== undefined && env.METRICS_PORT === env.PORT) {
      ctx.addIssue({ code: 'custom', path: ['METRICS_PORT'], message: 'a port other than PORT (or unset to serve /metrics on PORT)' });
    }
    if (env.STORAGE_BACKEND === 'memory' && env.CACHE_BACKEND === 'postgres') {
      ctx.addIssue({
        code: 'custom',
        path: ['CACHE_BACKEND'],
        message: 'memory, redis or none while STORAGE_BACKEND=memory (memory storage never connects to a database)',
      });
    }
    if (env.STORAGE_BACKEND === 'memory' && env.CONVERSATION_BACKEND === 'postgres') {
      ctx.addIssue({
        code: 'custom',
        path: ['CONVERSATION_BACKEND'],
        message: 'memory or redis while STORAGE_BACKEND=memory (memory storage never connects to a database)',
      });
    }
    if (env.DATABASE_REPLICA_URLS && !env.DATABASE_URL) {
      ctx.addIssue({ code: 'custom', path: ['DATABASE_REPLICA_URLS'], message: 'unset while DATABASE_URL is unset (the embedded database has no replicas)' });
    }
    if (env.AUTH_JWT_SECRET && env.AUTH_JWKS_URL) {
      ctx.addIssue({ code: 'custom', path: ['AUTH_JWKS_URL'], message: 'unset while AUTH_JWT_SECRET is set (use one of the two)' });
    }
    if (env.AUTH_JWT_SECRET && Buffer.byteLength(env.AUTH_JWT_SECRET, 'utf8') < 32) {
      ctx.addIssue({ code: 'custom', path: ['AUTH_JWT_SECRET'], message: 'at least 32 bytes' });
    }
    const budgetMs = requestBudgetMs(env.ASSISTANT_TIMEOUT_MS, env.DB_QUERY_TIMEOUT_MS);
    if (env.CHARGE_HOLD_SECONDS * 1000 <= budgetMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['CHARGE_HOLD_SECONDS'],
        message: `more than ${Math.ceil(budgetMs / 1000)} (the longest a request can take after its charge with ASSISTANT_TIMEOUT_MS=${env.ASSISTANT_TIMEOUT_MS} and DB_QUERY_TIMEOUT_MS=${env.DB_QUERY_TIMEOUT_MS})`,
      });
    }
    if (env.ASSISTANT_PROVIDER === 'openai') {
      if (!env.OPENAI_BASE_URL) ctx.addIssue({ code: 'custom', path: ['OPENAI_BASE_URL'], message: 'a URL (required when ASSISTANT_PROVIDER=openai)' });
      if (!env.OPENAI_MODEL) ctx.addIssue({ code: 'custom', path: ['OPENAI_MODEL'], message: 'a model name (required when ASSISTANT_PROVIDER=openai)' });
    }
  });

type Env = z.output<typeof envSchema>;

/**
 * The longest a query can run once its charge is taken: the assistant call, three database calls
 * each bounded by the guard (the cache write on PostgreSQL, the answer recorded with the settle,
 * a release), the window in which a refund decides an unknown settle (tried again and again
 * while the database is out of reach), and a second of slack. A held charge must outlive it, or the
 * sweep could refund a charge whose answer is about to be recorded.
 */
export function requestBudgetMs(assistantTimeoutMs: number, dbQueryTimeoutMs: number): number {
  return assistantTimeoutMs + 3 * (dbQueryTimeoutMs + 100) + decideWindowMs(dbQueryTimeoutMs) + 1000;
}

/** Three guarded database calls and the backoff between them: how long an unknown settle is decided. */
export function decideWindowMs(dbQueryTimeoutMs: number): number {
  return 3 * (dbQueryTimeoutMs + 100) + 750;
}

export type StorageBackend = Env['STORAGE_BACKEND'];
export type CacheBackend = NonNullable<Env['CACHE_BACKEND']>;
export type ConversationBackend = NonNullable<Env['CONVERSATION_BACKEND']>;
export type DbSslMode = Env['DB_SSL'];

export interface Config {
  nodeEnv: Env['NODE_ENV'];
  port: number;
  host: string;
  /** Express trust-proxy value; false = trust no proxy (X-Forwarded-For ignored). */
  trustProxy: boolean | number | string;
  storageBackend: StorageBackend;
  cacheBackend: CacheBackend;
  database: {
    /** Unset: the embedded PostgreSQL under `dataDir`. */
    url: string | undefined;
    dataDir: string;
    poolSize: number;
    maxOverflow: number;
    poolTimeoutSeconds: number;
    poolRecycleSeconds: number;
    connectTimeoutMs: number;
    queryTimeoutMs: number;
    echoSql: boolean;
    ssl: DbSslMode;
    migrateOnStart: boolean;
    /**
     * False behind a transaction-mode pooler (PgBouncer): every statement is sent unnamed and
     * nothing is left on a server session (see docs/adr/0007-behind-a-pooler-and-replicas.md).
     */
    preparedStatements: boolean;
    /** Read replicas for lag-tolerant reads (ledger pages, operator lists, cache stats); empty = none. */
    replicaUrls: string[];
    /** A replica further behind than this is skipped (reads go to the primary). */
    replicaMaxLagSeconds: number;
  };
  cache: {
    redisUrl: string;
    /** Set: the Redis cache is on this Redis Cluster (REDIS_URL is not used). */
    redisClusterNodes: { host: string; port: number }[] | undefined;
    ttlSeconds: number;
    maxEntries: number;
  };
  /** Follow-up context: where it lives (`cache.redisUrl` / `cache.redisClusterNodes` for redis) and how long after its last turn. */
  conversations: { backend: ConversationBackend; ttlSeconds: number };
  credits: {
    guestAllowance: number;
    registeredAllowance: number;
    resetPeriodHours: number;
    queryCost: number;
    cachedQueryCost: number;
  };
  queryRateLimitPerMinute: number;
  sessions: {
    secret: string;
    /** True when no SESSION_SECRET was given and a random one was made for this process. */
    secretGenerated: boolean;
    ttlDays: number;
    perIpPerHour: number;
    /** All guest sessions minted per hour across processes; 0 = no ceiling. */
    perHour: number;
  };
  /** 4xx validation answers counted per minute per caller / per client address before 429; 0 = off. */
  rejections: { perCallerPerMinute: number; perIpPerMinute: number };
  /** Live idempotency records kept per user; past it the oldest completed ones are dropped. */
  idempotencyMaxKeysPerUser: number;
  /** Where and for whom GET /metrics answers. */
  metrics: { token: string | undefined; port: number | undefined };
  /** Origins whose scripts may call the API (`['*']` = any); undefined = no CORS headers at all. */
  corsOrigins: string[] | undefined;
  /** Keys the HMAC of the question in the request log (derived from SESSION_SECRET). */
  queryHashKey: string;
  auth: { jwtSecret?: string; jwksUrl?: string; issuer?: string; audience?: string };
  adminApiKey: string | undefined;
  assistant: {
    provider: Env['ASSISTANT_PROVIDER'];
    catalogPath: string | undefined;
    /** Largest catalog upload (PUT /api/v1/admin/catalog), in bytes. */
    catalogMaxBytes: number;
    /** Every process answers from a changed catalog within this many seconds. */
    catalogRefreshSeconds: number;
    openai: { baseUrl?: string; apiKey?: string; model?: string };
    timeoutMs: number;
    /** The longest a query can run after its charge (see requestBudgetMs). */
    requestBudgetMs: number;
    /** How long a request tries to decide a hold whose settle has an unknown outcome (see requestBudgetMs). */
    decideWindowMs: number;
  };
  holds: {
    /** CHARGE_HOLD_SECONDS: an unsettled charge is refunded this long after it was taken. */
    holdSeconds: number;
    /** HOLD_SWEEP_SECONDS: how often this process sweeps for such charges; 0 = never (cleanup route only). */
    sweepSeconds: number;
  };
  maintenance: { transactionRetentionDays: number; cleanupIntervalMinutes: number };
  logLevel: Env['LOG_LEVEL'];
}

/**
 * The request log's question hash is keyed by a key of its own, derived from SESSION_SECRET:
 * without the secret nobody can test guesses against logged hashes, and the log never holds a
 * value that signs tokens.
 */
function deriveQueryHashKey(sessionSecret: string): string {
  return createHmac('sha256', sessionSecret).update('shopassist: request-log query hash').digest('base64url');
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.join('\n')}`);
    this.name = 'ConfigError';
  }
}

function describeGiven(name: string, value: unknown): string {
  if (value === undefined) return 'nothing';
  if (SECRET_VARS.has(name)) return '(hidden)';
  return JSON.stringify(value);
}

/** Parses the environment into a Config, or throws ConfigError listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  // An empty variable counts as unset, so `PORT=` in a .env file means the default.
  const given = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''));
  const parsed = envSchema.safeParse(given);
  if (!parsed.success) {
    const seen = new Set<string>();
    const problems: string[] = [];
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? 'environment');
      if (seen.has(name)) continue;
      seen.add(name);
      problems.push(`${name}: got ${describeGiven(name, env[name])}, expected ${issue.message}`);
    }
    throw new ConfigError(problems);
  }
  const e = parsed.data;
  const sessionSecret = e.SESSION_SECRET ?? randomBytes(48).toString('base64url');
  const cacheBackend: CacheBackend = e.CACHE_BACKEND ?? (e.STORAGE_BACKEND === 'memory' ? 'memory' : 'postgres');
  return {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    trustProxy: e.TRUST_PROXY ?? false,
    storageBackend: e.STORAGE_BACKEND,
    cacheBackend,
    database: {
      url: e.DATABASE_URL,
      dataDir: e.DATA_DIR,
      poolSize: e.DB_POOL_SIZE,
      maxOverflow: e.DB_MAX_OVERFLOW,
      poolTimeoutSeconds: e.DB_POOL_TIMEOUT,
      poolRecycleSeconds: e.DB_POOL_RECYCLE,
      connectTimeoutMs: e.DB_CONNECT_TIMEOUT_MS,
      queryTimeoutMs: e.DB_QUERY_TIMEOUT_MS,
      echoSql: e.DB_ECHO_SQL,
      ssl: e.DB_SSL,
      migrateOnStart: e.MIGRATE_ON_START,
      preparedStatements: e.DB_PREPARED_STATEMENTS,
      replicaUrls: e.DATABASE_REPLICA_URLS ?? [],
      replicaMaxLagSeconds: e.DB_REPLICA_MAX_LAG_SECONDS,
    },
    cache: {
      redisUrl: e.REDIS_URL,
      redisClusterNodes: e.REDIS_CLUSTER_NODES,
      ttlSeconds: e.CACHE_TTL_SECONDS,
      maxEntries: e.CACHE_MAX_ENTRIES,
    },
    conversations: {
      backend: e.CONVERSATION_BACKEND ?? (e.STORAGE_BACKEND === 'memory' ? 'memory' : 'postgres'),
      ttlSeconds: e.CONVERSATION_TTL_SECONDS,
    },
    credits: {
      guestAllowance: e.GUEST_CREDITS,
      registeredAllowance: e.REGISTERED_CREDITS,
      resetPeriodHours: e.CREDIT_RESET_PERIOD_HOURS,
      queryCost: e.QUERY_COST,
      cachedQueryCost: e.CACHED_QUERY_COST,
    },
    queryRateLimitPerMinute: e.QUERY_RATE_LIMIT_PER_MINUTE,
    sessions: {
      secret: sessionSecret,
      secretGenerated: e.SESSION_SECRET === undefined,
      ttlDays: e.GUEST_SESSION_TTL_DAYS,
      perIpPerHour: e.GUEST_SESSIONS_PER_IP_PER_HOUR,
      perHour: e.GUEST_SESSIONS_PER_HOUR,
    },
    rejections: { perCallerPerMinute: e.REJECTED_REQUESTS_PER_MINUTE, perIpPerMinute: e.REJECTED_REQUESTS_PER_IP_PER_MINUTE },
    idempotencyMaxKeysPerUser: e.IDEMPOTENCY_MAX_KEYS_PER_USER,
    metrics: { token: e.METRICS_TOKEN, port: e.METRICS_PORT },
    corsOrigins: e.CORS_ORIGINS,
    queryHashKey: deriveQueryHashKey(sessionSecret),
    auth: {
      jwtSecret: e.AUTH_JWT_SECRET,
      jwksUrl: e.AUTH_JWKS_URL,
      issuer: e.AUTH_ISSUER,
      audience: e.AUTH_AUDIENCE,
    },
    adminApiKey: e.ADMIN_API_KEY,
    assistant: {
      provider: e.ASSISTANT_PROVIDER,
      catalogPath: e.CATALOG_PATH,
      catalogMaxBytes: e.CATALOG_MAX_BYTES,
      catalogRefreshSeconds: e.CATALOG_REFRESH_SECONDS,
      openai: { baseUrl: e.OPENAI_BASE_URL, apiKey: e.OPENAI_API_KEY, model: e.OPENAI_MODEL },
      timeoutMs: e.ASSISTANT_TIMEOUT_MS,
      requestBudgetMs: requestBudgetMs(e.ASSISTANT_TIMEOUT_MS, e.DB_QUERY_TIMEOUT_MS),
      decideWindowMs: decideWindowMs(e.DB_QUERY_TIMEOUT_MS),
    },
    holds: { holdSeconds: e.CHARGE_HOLD_SECONDS, sweepSeconds: e.HOLD_SWEEP_SECONDS },
    maintenance: {
      transactionRetentionDays: e.TRANSACTION_RETENTION_DAYS,
      cleanupIntervalMinutes: e.CLEANUP_INTERVAL_MINUTES,
    },
    logLevel: e.LOG_LEVEL,
  };
}
