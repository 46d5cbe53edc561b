import { randomBytes } from 'node:crypto';
import type { Sequelize } from 'sequelize';

/**
 * A hot-path statement: where named statements are allowed (DB_PREPARED_STATEMENTS, the default),
 * PostgreSQL parses and plans it once per connection, not per call; behind a transaction-mode
 * pooler it is sent unnamed. Which of the two is decided here, in `runStatement`, for every
 * statement alike: a statement never chooses for itself.
 */
export interface Statement {
  readonly name: string;
  readonly text: string;
}

/**
 * Names a statement for pooledQuery. Planning the credit mutation (a CTE of a dozen steps) costs
 * PostgreSQL more than running it; a named statement is planned once per connection. `name` is
 * lower-case letters, digits and underscores, at most 40 characters.
 */
export function statement(name: string, text: string): Statement {
  if (!/^[a-z0-9_]{1,40}$/.test(name)) throw new Error(`bad statement name: ${name}`);
  return { name, text };
}

/**
 * A statement sent unnamed whatever the mode: text built per call (a model finder's SQL, values
 * written into it by Sequelize's query generator) is never prepared, as no one name fits it.
 */
export function oneOffStatement(text: string): Statement {
  return { name: '', text };
}

interface PgConnection {
  query(config: { name?: string; text: string; values?: unknown[] }): Promise<{ rows: unknown[] }>;
  /** Set here: connections of the embedded database share one backend session, so names carry the connection. */
  shopassistStatementPrefix?: string;
}

export interface StatementMode {
  /**
   * True: statements are named, prepared once per server session. False: every statement is
   * sent unnamed (parse, bind and execute in one round trip, nothing left on the session), as a
   * pooler in transaction mode needs, where consecutive statements of one client connection may
   * run on different server sessions.
   */
  prepared: boolean;
}

/** The mode of each Sequelize instance (set once by createDatabase); unset = named statements. */
const modes = new WeakMap<Sequelize, StatementMode>();

export function setStatementMode(sequelize: Sequelize, mode: StatementMode): void {
  modes.set(sequelize, mode);
}

export function statementMode(sequelize: Sequelize): StatementMode {
  return modes.get(sequelize) ?? { prepared: true };
}

/**
 * Sends one statement on a `pg` connection in the given mode: the one place that decides
 * between a named and an unnamed statement (pooledQuery, the readiness probe and the replica
 * reads all send through here).
 */
export async function runStatement<T>(connection: unknown, sql: Statement, values: unknown[], mode: StatementMode): Promise<T[]> {
  const c = connection as PgConnection;
  if (!mode.prepared || sql.name === '') return (await c.query({ text: sql.text, values })).rows as T[];
  c.shopassistStatementPrefix ??= `sa${randomBytes(6).toString('hex')}_`;
  return (await c.query({ name: c.shopassistStatementPrefix + sql.name, text: sql.text, values })).rows as T[];
}

/**
 * Runs one statement on a connection of Sequelize's pool directly, for the request hot path:
 * Sequelize's query pipeline (hooks, bind formatting, result shaping) costs about as much as a
 * short statement itself, and its statements are planned on every call. Same pool, so the same
 * timeouts, eviction and pool metrics. Writes that must not land after their caller was
 * answered 503 pass `beforeSend` (the guard's `assertLive`), which Sequelize would otherwise run
 * as a hook; it runs once a connection is in hand, right before the statement leaves.
 */
export async function pooledQuery<T>(sequelize: Sequelize, sql: Statement, values: unknown[], beforeSend?: () => void): Promise<T[]> {
  const pool = sequelize.connectionManager;
  const mode = statementMode(sequelize);
  const connection = await pool.getConnection({ type: 'write' });
  try {
    beforeSend?.();
    return await runStatement<T>(connection, sql, values, mode);
  } finally {
    pool.releaseConnection(connection);
  }
}

/** The probe: also says whether the server is the embedded one (PGlite: one session for every connection), and which session ran it. */
const PROBE = statement('ready_probe', `SELECT position('PGlite' IN version()) > 0 AS single_session, pg_backend_pid() AS pid`);

/**
 * How many times the pinned probe is tried while it proves nothing: another client of the
 * pooler took the session the first run used before the second connection could pin it.
 */
const PIN_ATTEMPTS = 3;

/**
 * Readiness's database check: the probe statement run twice on one pooled connection, the way
 * the hot path runs its statements (named unless DB_PREPARED_STATEMENTS=false). Between the two
 * runs a second connection holds a transaction open (`pinBetween`). Straight to PostgreSQL that
 * changes nothing; behind a pooler in transaction mode the second connection is handed the
 * server session the first run just used (PgBouncer reuses the most recently released one), so
 * the second run lands on another session, where a named statement does not exist: the probe
 * fails exactly when the hot path would. The second connection says which session it holds: when
 * that is not the first run's (the pooler's other clients took it meanwhile, or there is no
 * pooler), the round proved nothing and is tried again, up to PIN_ATTEMPTS rounds. Never on the
 * embedded database (one session serves every connection; a transaction held open there would
 * block the second run), which the first run recognises whatever URL it was reached by.
 */
export async function probeStatements(sequelize: Sequelize, pinBetween: boolean): Promise<void> {
  const pool = sequelize.connectionManager;
  const mode = statementMode(sequelize);
  const first = await pool.getConnection({ type: 'write' });
  try {
    const [probe] = await runStatement<{ single_session: boolean; pid: number }>(first, PROBE, [], mode);
    if (!pinBetween || probe?.single_session) {
      await runStatement(first, PROBE, [], mode);
      return;
    }
    const second = (await pool.getConnection({ type: 'write' })) as unknown as PgConnection & { _invalid?: boolean };
    try {
      let used = probe?.pid;
      for (let round = 0; round < PIN_ATTEMPTS; round++) {
        if (round > 0) used = (await runStatement<{ pid: number }>(first, PROBE, [], mode))[0]?.pid;
        await second.query({ text: 'BEGIN' });
        let pinned: number | undefined;
        try {
          pinned = ((await second.query({ text: 'SELECT pg_backend_pid() AS pid' })).rows[0] as { pid: number } | undefined)?.pid;
          await runStatement(first, PROBE, [], mode);
        } finally {
          await second.query({ text: 'ROLLBACK' }).catch(() => {
            second._invalid = true; // never hand out a connection that may still be inside a transaction
          });
        }
        if (pinned === used) return;
      }
    } finally {
      pool.releaseConnection(second as never);
    }
  } finally {
    pool.releaseConnection(first);
  }
}

/**
 * Drops the named statements a connection prepared, right before it closes (a `beforeDisconnect`
 * hook of the embedded database). A server drops them with the connection's own session; the
 * embedded database serves every connection from one session that outlives them all, where each
 * closed connection's statements would stay for good and every new connection (the pool reaps
 * idle ones and renews old ones) would add copies of its own. Best effort: a connection that is
 * already broken cannot be asked, and closing it must not fail for that.
 */
export async function deallocateStatements(connection: unknown): Promise<void> {
  const c = connection as PgConnection;
  const prefix = c.shopassistStatementPrefix;
  if (!prefix) return;
  try {
    const { rows } = await c.query({ text: 'SELECT name FROM pg_prepared_statements WHERE starts_with(name, $1)', values: [prefix] });
    const names = (rows as { name: string }[]).map((r) => r.name);
    if (names.length > 0) await c.query({ text: names.map((name) => `DEALLOCATE "${name}"`).join('; ') });
  } catch {
    // Broken or closing already: nothing more to do here.
  }
}
