import { Sequelize, type Options, type PoolOptions } from 'sequelize';
import pg from 'pg';
import type { Config, DbSslMode } from '../config.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.js';
import type { Logger } from './logger.js';
import { evictOnReadTimeout } from './pg-eviction.js';
import { deallocateStatements, probeStatements, setStatementMode } from './pooled-query.js';
import { createReplicaReads, type ReplicaReads } from './replica-reads.js';

/**
 * The database module the rest of the code receives by injection: one Sequelize instance (each
 * feature defines the models of its own tables on it), a readiness probe and a close that also
 * stops the embedded server when there is one.
 */
export interface Database {
  readonly sequelize: Sequelize;
  /** The URL in use (the embedded server's when DATABASE_URL is unset). Never log it. */
  readonly url: string;
  readonly embedded: boolean;
  /**
   * Where lag-tolerant reads go (ledger pages, operator lists, cache stats): a replica of
   * DATABASE_REPLICA_URLS that is up and close enough behind, else the primary.
   */
  readonly replicaReads: ReplicaReads;
  /**
   * Runs the readiness probe statement the way the hot path runs its statements (see
   * probeStatements); resolves its latency in ms, rejects when the database does not answer or
   * the hot path's statements would fail (a transaction-mode pooler with named statements).
   */
  ping(): Promise<number>;
  /** Pool figures for metrics. */
  poolStats(): { size: number; available: number; using: number; waiting: number };
  close(): Promise<void>;
}

export type DatabaseSettings = Config['database'];

/** The embedded PostgreSQL is one backend behind a multiplexing socket: keep its pool small. */
export const EMBEDDED_POOL_MAX = 4;

/**
 * Maps the pool settings of the contract (docs/storage.md, Pool and connection settings) onto Sequelize's pool:
 * - DB_POOL_SIZE → `min`: connections kept open once made (not reaped when idle);
 * - DB_POOL_SIZE + DB_MAX_OVERFLOW → `max`: the overflow connections are closed again after
 *   `idle` ms without use;
 * - DB_POOL_TIMEOUT (s) → `acquire` (ms): how long a query waits for a free connection;
 * - DB_POOL_RECYCLE (s) → `validate`: a connection older than this fails validation when it is
 *   next acquired and is replaced by a new one.
 */
export function poolOptions(settings: DatabaseSettings, embedded: boolean, isTooOld: (c: object) => boolean): PoolOptions {
  const max = embedded ? Math.min(EMBEDDED_POOL_MAX, settings.poolSize + settings.maxOverflow) : settings.poolSize + settings.maxOverflow;
  return {
    min: embedded ? 0 : settings.poolSize,
    max,
    acquire: settings.poolTimeoutSeconds * 1000,
    idle: 10_000,
    evict: 1000,
    validate: (connection?: unknown) => {
      const c = connection as { _invalid?: boolean; _ending?: boolean } | undefined;
      return !!c && !c._invalid && !c._ending && !isTooOld(c);
    },
  };
}

export function sslOptions(mode: DbSslMode): false | { rejectUnauthorized: boolean } {
  switch (mode) {
    case 'disable':
      return false;
    case 'require':
      // Encrypted, but the server certificate is not verified (libpq's sslmode=require).
      return { rejectUnauthorized: false };
    case 'verify-full':
      return { rejectUnauthorized: true };
  }
}

/**
 * Options shared by Sequelize and by the raw `pg` clients that tools (job lock, replicas,
 * benches) open: timeouts and TLS.
 */
export function connectionOptions(settings: Pick<DatabaseSettings, 'ssl' | 'connectTimeoutMs' | 'queryTimeoutMs' | 'preparedStatements'>): pg.ClientConfig {
  return {
    ssl: sslOptions(settings.ssl),
    connectionTimeoutMillis: settings.connectTimeoutMs,
    // The server cancels a statement past the limit; the client gives up a little later even
    // when the connection hangs silently (a dead peer never answers the cancel). The server
    // side is a startup parameter, which a pooler in transaction mode refuses (PgBouncer:
    // "unsupported startup parameter"): with DB_PREPARED_STATEMENTS=false it is left to the
    // role's setting (ALTER ROLE … SET statement_timeout, see the README).
    ...(settings.preparedStatements ? { statement_timeout: settings.queryTimeoutMs } : {}),
    query_timeout: settings.queryTimeoutMs + 250,
    keepAlive: true,
    application_name: 'shopassist-api',
  };
}

export async function createDatabase(settings: DatabaseSettings, logger: Logger): Promise<Database> {
  let embeddedServer: EmbeddedPostgres | undefined;
  let url = settings.url;
  if (!url) {
    embeddedServer = await startEmbeddedPostgres({ dataDir: settings.dataDir });
    url = embeddedServer.url;
    logger.info({ dataDir: settings.dataDir }, 'embedded PostgreSQL started');
  }

  const bornAt = new WeakMap<object, number>();
  const recycleMs = settings.poolRecycleSeconds * 1000;
  const options: Options = {
    dialect: 'postgres',
    dialectModule: pg,
    logging: settings.echoSql ? (sql: string) => logger.info({ sql }, 'sql') : false,
    logQueryParameters: false,
    benchmark: false,
    pool: poolOptions(settings, !!embeddedServer, (c) => Date.now() - (bornAt.get(c) ?? Date.now()) > recycleMs),
    // Behind a transaction-mode pooler nothing may be set on a session: Sequelize's own
    // `SET client_min_messages` and `SET TIME ZONE` on connect are left out (every timestamp
    // column is timestamptz and every value carries its offset, so the session time zone
    // changes no result).
    dialectOptions: { ...connectionOptions(settings), ...(settings.preparedStatements ? {} : { clientMinMessages: 'ignore' }) },
    ...(settings.preparedStatements ? {} : { keepDefaultTimezone: true }),
    retry: { max: 0 },
    define: { underscored: true },
    hooks: {
      afterConnect: (connection: unknown) => {
        bornAt.set(connection as object, Date.now());
        evictOnReadTimeout(connection as object);
      },
      // The embedded database's one session outlives every connection: their statements must not.
      ...(embeddedServer ? { beforeDisconnect: deallocateStatements } : {}),
    },
  };
  const sequelize = new Sequelize(url, options);
  setStatementMode(sequelize, { prepared: settings.preparedStatements });
  const replicaReads = createReplicaReads(sequelize, settings, logger);
  const pinBetween = !embeddedServer && poolOptions(settings, false, () => false).max! >= 2;
  let closed: Promise<void> | undefined;

  return {
    sequelize,
    url,
    embedded: !!embeddedServer,
    replicaReads,
    async ping() {
      const started = performance.now();
      await probeStatements(sequelize, pinBetween);
      return Math.round((performance.now() - started) * 100) / 100;
    },
    poolStats() {
      const pool = (sequelize.connectionManager as unknown as { pool?: { write?: PoolLike } | PoolLike }).pool;
      const p = (pool && 'write' in pool ? pool.write : pool) as PoolLike | undefined;
      return {
        size: p?.size ?? 0,
        available: p?.available ?? 0,
        using: p?.using ?? 0,
        waiting: p?.waiting ?? 0,
      };
    },
    close() {
      closed ??= (async () => {
        try {
          await replicaReads.close();
          await sequelize.close();
        } finally {
          await embeddedServer?.stop();
        }
      })();
      return closed;
    },
  };
}

interface PoolLike {
  size: number;
  available: number;
  using: number;
  waiting: number;
}
