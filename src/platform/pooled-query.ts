import type { Sequelize } from 'sequelize';

interface PgConnection {
  query(sql: string, values: unknown[]): Promise<{ rows: unknown[] }>;
}

/**
 * Runs one statement on a connection of Sequelize's pool directly, for the request hot path:
 * Sequelize's query pipeline (hooks, bind formatting, result shaping) costs about as much as a
 * short statement itself. Same pool, so the same timeouts, eviction and pool metrics. Writes
 * that must not land after their caller was answered 503 pass `beforeSend` (the guard's
 * `assertLive`), which Sequelize would otherwise run as a hook; it runs once a connection is
 * in hand, right before the statement leaves.
 */
export async function pooledQuery<T>(sequelize: Sequelize, sql: string, values: unknown[], beforeSend?: () => void): Promise<T[]> {
  const pool = sequelize.connectionManager;
  const connection = (await pool.getConnection({ type: 'write' })) as unknown as PgConnection;
  try {
    beforeSend?.();
    return (await connection.query(sql, values)).rows as T[];
  } finally {
    pool.releaseConnection(connection as never);
  }
}
