import pg from 'pg';
import { isDatabaseUnavailable } from '../platform/db-guard.js';
import { isAppError, StorageUnavailableError } from '../platform/errors.js';
import { connectionOptions, type DatabaseSettings } from '../platform/db.js';

/**
 * Runs a job on one process at a time. `tryRun` skips (resolves false) when another holder
 * runs it; `run` waits for the holder to finish.
 */
export interface JobLock {
  tryRun(fn: () => Promise<void>): Promise<boolean>;
  run<T>(fn: () => Promise<T>): Promise<T>;
}

/** One process (STORAGE_BACKEND=memory): a flag and a queue. */
export class MemoryJobLock implements JobLock {
  private tail: Promise<unknown> = Promise.resolve();
  private busy = false;

  async tryRun(fn: () => Promise<void>): Promise<boolean> {
    if (this.busy) return false;
    await this.run(fn);
    return true;
  }

  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(async () => {
      this.busy = true;
      try {
        return await fn();
      } finally {
        this.busy = false;
      }
    });
    this.tail = next.catch(() => {});
    return next;
  }
}

/**
 * Across processes: a transaction-scoped PostgreSQL advisory lock (`pg_advisory_xact_lock`),
 * taken in a transaction held open on a connection of its own (not the pool's) for as long as
 * the job runs, and released by its COMMIT. Transaction-scoped rather than a session lock, so
 * it holds behind a pooler in transaction mode too (the pooler keeps one server session for the
 * whole transaction, and a session lock could be released on another session or never). The
 * transaction takes no snapshot between statements and writes nothing, so holding it open
 * keeps no row versions alive. If the process dies, the server ends the transaction and the
 * lock with the connection. On the embedded database (one process, one session for every
 * connection, never behind a pooler) it is a session lock instead. Within the process the
 * memory lock also applies (session locks are re-entrant).
 */
export class PostgresJobLock implements JobLock {
  private readonly local = new MemoryJobLock();

  constructor(
    private readonly url: string,
    private readonly settings: DatabaseSettings,
    private readonly key: number,
  ) {}

  async tryRun(fn: () => Promise<void>): Promise<boolean> {
    let ran = false;
    const ok = await this.local.tryRun(async () => {
      ran = await this.withLock(false, fn).then((r) => r.locked);
    });
    return ok && ran;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    return this.local.run(async () => {
      try {
        const r = await this.withLock(true, fn);
        return r.value as T;
      } catch (err) {
        // The lock's own connection failed (the database is cut or hanging): a 503, as for any
        // other call that needs the database, not a 500.
        if (!isAppError(err) && isDatabaseUnavailable(err)) throw new StorageUnavailableError(1, err);
        throw err;
      }
    });
  }

  private async withLock<T>(wait: boolean, fn: () => Promise<T>): Promise<{ locked: boolean; value?: T }> {
    // No statement timeout: waiting for the lock may take as long as the other run. Not as a
    // startup parameter behind a pooler (DB_PREPARED_STATEMENTS=false), which refuses those:
    // there SET LOCAL in the lock's transaction does it.
    const client = new pg.Client({
      ...connectionOptions(this.settings),
      ...(this.settings.preparedStatements ? { statement_timeout: 0 } : {}),
      query_timeout: undefined,
      connectionString: this.url,
    });
    client.on('error', () => {});
    await client.connect();
    try {
      // The embedded database runs every connection on one session, where a transaction held
      // open would block the job's own statements on the pool: there, a session lock (no pooler
      // ever stands in front of it).
      const { rows } = await client.query<{ single_session: boolean }>(`SELECT position('PGlite' IN version()) > 0 AS single_session`);
      return rows[0]?.single_session ? await this.withSessionLock(client, wait, fn) : await this.withTransactionLock(client, wait, fn);
    } finally {
      await client.end().catch(() => {});
    }
  }

  private async withTransactionLock<T>(client: pg.Client, wait: boolean, fn: () => Promise<T>): Promise<{ locked: boolean; value?: T }> {
    await client.query('BEGIN');
    let committed = false;
    try {
      // SET LOCAL ends with the transaction: nothing is left on the session.
      await client.query('SET LOCAL statement_timeout = 0');
      if (wait) {
        await client.query('SELECT pg_advisory_xact_lock($1)', [this.key]);
      } else {
        const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [this.key]);
        if (!rows[0]?.locked) return { locked: false };
      }
      const value = await fn();
      await client.query('COMMIT');
      committed = true;
      return { locked: true, value };
    } finally {
      if (!committed) await client.query('ROLLBACK').catch(() => {});
    }
  }

  private async withSessionLock<T>(client: pg.Client, wait: boolean, fn: () => Promise<T>): Promise<{ locked: boolean; value?: T }> {
    if (wait) {
      await client.query('SELECT pg_advisory_lock($1)', [this.key]);
    } else {
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [this.key]);
      if (!rows[0]?.locked) return { locked: false };
    }
    try {
      return { locked: true, value: await fn() };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [this.key]).catch(() => {});
    }
  }
}
