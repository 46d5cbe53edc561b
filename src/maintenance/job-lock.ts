import pg from 'pg';
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
 * Across processes: a PostgreSQL session advisory lock, held on a connection of its own (not
 * the pool's) for as long as the job runs. If the process dies, the server releases the lock
 * with the connection. Within the process the memory lock also applies, since session locks
 * are re-entrant (and the embedded database has one session for everyone).
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
      const r = await this.withLock(true, fn);
      return r.value as T;
    });
  }

  private async withLock<T>(wait: boolean, fn: () => Promise<T>): Promise<{ locked: boolean; value?: T }> {
    // No statement timeout here: waiting for the lock may take as long as the other run.
    const client = new pg.Client({ ...connectionOptions(this.settings), statement_timeout: 0, query_timeout: undefined, connectionString: this.url });
    client.on('error', () => {});
    await client.connect();
    try {
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
    } finally {
      await client.end().catch(() => {});
    }
  }
}
