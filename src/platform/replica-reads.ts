import pg from 'pg';
import type { Sequelize } from 'sequelize';
import type { DatabaseSettings } from './db.js';
import { connectionOptions } from './db.js';
import type { Logger } from './logger.js';
import { pooledQuery, runStatement, statement, statementMode, type Statement } from './pooled-query.js';

/**
 * Reads that may be a few seconds behind (ledger pages, operator lists, cache stats) go to a read
 * replica of DATABASE_REPLICA_URLS when one is up and no further behind than
 * DB_REPLICA_MAX_LAG_SECONDS; otherwise, and whenever the replica fails, to the primary. Never
 * for balances, charges, idempotency keys or consent checks: those stay on the primary, in the
 * repositories' own statements. See docs/adr/0007-behind-a-pooler-and-replicas.md.
 */
export interface ReplicaReads {
  /** Runs a lag-tolerant read; rows as pooledQuery returns them, from a replica or the primary. */
  query<T>(sql: Statement, values: unknown[]): Promise<T[]>;
  /** Each replica as last probed (for readiness details, metrics and tests). */
  status(): ReplicaStatus[];
  /** Reads served so far, by where they ran; `fallbacks` counts replica attempts that failed. */
  counts(): { replica: number; primary: number; fallbacks: number };
  close(): Promise<void>;
}

export interface ReplicaStatus {
  /** `replica-1`, `replica-2`, … in DATABASE_REPLICA_URLS order (URLs may hold passwords: never logged). */
  name: string;
  /** Up, in recovery (or a primary), and no further behind than the limit, as of the last probe. */
  usable: boolean;
  /** Seconds behind the primary at the last probe; null when the probe failed. */
  lagSeconds: number | null;
  /** ms since the epoch of the last probe that answered; null before the first. */
  probedAt: number | null;
}

/** How often each replica's lag is measured; a state older than three of these counts as unknown. */
export const REPLICA_PROBE_INTERVAL_MS = 1000;

/**
 * Lag in seconds: 0 while the replica has replayed everything it received from a running WAL
 * receiver (a primary with no writes sends nothing, and that is not lag); otherwise the age of
 * the last replayed transaction. A server that is not in recovery is a primary: no lag.
 */
const LAG = statement(
  'replica_lag',
  `SELECT CASE
            WHEN NOT pg_is_in_recovery() THEN 0::float8
            WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
                 AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE pid IS NOT NULL) THEN 0::float8
            ELSE COALESCE(extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8, 1e9::float8)
          END AS lag_seconds`,
);

interface Replica {
  name: string;
  pool: pg.Pool;
  lagSeconds: number | null;
  probedAt: number | null;
  /** Set by a failed read: skipped until the next probe answers. */
  failed: boolean;
}

/**
 * The time one replica attempt may take (connecting included) before the read goes to the
 * primary: a quarter of DB_QUERY_TIMEOUT_MS (at least 100 ms), so that replica attempt and
 * primary read together stay within the guard's per-call budget (DB_QUERY_TIMEOUT_MS + 100 ms).
 * A stopped replica refuses the connection at once; a hanging one costs this much once, and is
 * then skipped until a probe answers again.
 */
export function replicaAttemptMs(settings: Pick<DatabaseSettings, 'queryTimeoutMs'>): number {
  return Math.max(100, Math.floor(settings.queryTimeoutMs / 4));
}

/**
 * An explicit pool per replica (`pg.Pool`), beside Sequelize's pool to the primary, which stays
 * exactly as it is (the hot path never looks at replicas). Rows come back through Sequelize's
 * type parsers, so a read gives the same values wherever it ran.
 */
export function createReplicaReads(sequelize: Sequelize, settings: DatabaseSettings, logger: Logger): ReplicaReads {
  const primary = <T>(sql: Statement, values: unknown[]) => pooledQuery<T>(sequelize, sql, values);
  const counts = { replica: 0, primary: 0, fallbacks: 0 };
  if (settings.replicaUrls.length === 0) {
    return {
      query: (sql, values) => {
        counts.primary++;
        return primary(sql, values);
      },
      status: () => [],
      counts: () => ({ ...counts }),
      close: () => Promise.resolve(),
    };
  }

  const attemptMs = replicaAttemptMs(settings);
  const maxLag = settings.replicaMaxLagSeconds;
  const mode = statementMode(sequelize);
  const typeParsers = sequelize.connectionManager as unknown as { getTypeParser: (oid: number, format?: string) => unknown };
  const types = { getTypeParser: (oid: number, format?: string) => typeParsers.getTypeParser(oid, format) } as unknown as pg.CustomTypesConfig;
  const replicas: Replica[] = settings.replicaUrls.map((url, i) => {
    const pool = new pg.Pool({
      ...connectionOptions({ ...settings, connectTimeoutMs: attemptMs, queryTimeoutMs: attemptMs }),
      application_name: 'shopassist-api-replica-reads',
      connectionString: url,
      types,
      max: Math.max(2, Math.min(settings.poolSize + settings.maxOverflow, 10)),
      idleTimeoutMillis: 10_000,
    });
    pool.on('error', () => {}); // an idle client lost: the pool drops it; the next probe tells
    // A client lost while checked out (a read given up on, whose socket is reset later) must not
    // throw from its socket: the read already went to the primary and the client is released broken.
    pool.on('connect', (client) => client.on('error', () => {}));
    return { name: `replica-${i + 1}`, pool, lagSeconds: null, probedAt: null, failed: false };
  });

  const usable = (r: Replica, now: number) =>
    !r.failed && r.probedAt !== null && now - r.probedAt <= 3 * REPLICA_PROBE_INTERVAL_MS && r.lagSeconds !== null && r.lagSeconds <= maxLag;

  async function run<T>(r: Replica, sql: Statement, values: unknown[]): Promise<T[]> {
    const client = await r.pool.connect();
    let broken: Error | undefined;
    try {
      return await runStatement<T>(client, sql, values, mode);
    } catch (err) {
      broken = err as Error;
      throw err;
    } finally {
      client.release(broken); // a client that failed is closed, not reused
    }
  }

  // Log when a replica starts or stops serving, not every probe.
  const announced = new Map<string, boolean>();
  const announce = (r: Replica) => {
    const now = usable(r, Date.now());
    if (announced.get(r.name) === now) return;
    announced.set(r.name, now);
    if (now) logger.info({ event: 'replica_usable', replica: r.name, lagSeconds: r.lagSeconds }, 'read replica serves lag-tolerant reads');
    else logger.warn({ event: 'replica_skipped', replica: r.name, lagSeconds: r.lagSeconds, maxLagSeconds: maxLag }, 'read replica down or behind: its reads go to the primary');
  };

  async function probe(r: Replica): Promise<void> {
    try {
      const [row] = await run<{ lag_seconds: number }>(r, LAG, []);
      r.lagSeconds = Math.round(Number(row?.lag_seconds ?? 1e9) * 1000) / 1000;
      r.probedAt = Date.now();
      r.failed = false;
    } catch {
      r.lagSeconds = null;
      r.failed = true;
    }
    announce(r);
  }

  let closed = false;
  let probing: Promise<unknown> = Promise.resolve();
  const probeAll = () => {
    probing = Promise.all(replicas.map(probe));
  };
  probeAll();
  const timer = setInterval(() => {
    if (!closed) probeAll();
  }, REPLICA_PROBE_INTERVAL_MS);
  timer.unref();

  let next = 0;
  return {
    async query<T>(sql: Statement, values: unknown[]): Promise<T[]> {
      const now = Date.now();
      // Round robin over the usable replicas; one attempt, then the primary.
      for (let i = 0; i < replicas.length; i++) {
        const r = replicas[(next + i) % replicas.length]!;
        if (!usable(r, now)) continue;
        next = (next + i + 1) % replicas.length;
        let timer: NodeJS.Timeout | undefined;
        try {
          const rows = await Promise.race([
            run<T>(r, sql, values),
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(new Error('replica read timed out')), attemptMs);
            }),
          ]);
          counts.replica++;
          return rows;
        } catch (err) {
          r.failed = true;
          counts.fallbacks++;
          logger.warn({ event: 'replica_read_failed', replica: r.name, err: { message: (err as Error).message } }, 'read replica failed: read sent to the primary');
          announce(r);
        } finally {
          clearTimeout(timer);
        }
        break;
      }
      counts.primary++;
      return primary<T>(sql, values);
    },
    status: () =>
      replicas.map((r) => ({ name: r.name, usable: usable(r, Date.now()), lagSeconds: r.lagSeconds, probedAt: r.probedAt })),
    counts: () => ({ ...counts }),
    async close() {
      closed = true;
      clearInterval(timer);
      await probing.catch(() => {});
      await Promise.all(replicas.map((r) => r.pool.end().catch(() => {})));
    },
  };
}
