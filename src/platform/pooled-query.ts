import { randomBytes } from 'node:crypto';
import type { Sequelize } from 'sequelize';

/** A hot-path statement: PostgreSQL parses and plans it once per connection, not per call. */
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

interface PgConnection {
  query(config: { name?: string; text: string; values?: unknown[] }): Promise<{ rows: unknown[] }>;
  /** Set here: connections of the embedded database share one backend session, so names carry the connection. */
  shopassistStatementPrefix?: string;
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
  const connection = (await pool.getConnection({ type: 'write' })) as unknown as PgConnection;
  try {
    beforeSend?.();
    connection.shopassistStatementPrefix ??= `sa${randomBytes(6).toString('hex')}_`;
    return (await connection.query({ name: connection.shopassistStatementPrefix + sql.name, text: sql.text, values })).rows as T[];
  } finally {
    pool.releaseConnection(connection as never);
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
