import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../src/platform/embedded-postgres.js';
import { TEST_DB_VIA_PGBOUNCER, TEST_PGBOUNCER_URL } from './scale.js';

/** Env settings shared by tests. Only test code reads these variables. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || undefined;

export interface TestDatabase {
  /** A postgres:// URL to a database that this test file alone uses. */
  url: string;
  /** Drops what this test made (its own database), or stops its embedded server. */
  dispose(): Promise<void>;
}

/**
 * A fresh, empty PostgreSQL database for one test file. With TEST_DATABASE_URL set, a new
 * database `shopassist_test_<random>` is created on that server and dropped afterwards; without
 * it, an in-memory embedded PostgreSQL is started for this file. With TEST_DB_VIA_PGBOUNCER the
 * URL handed out goes through TEST_PGBOUNCER_URL's PgBouncer (which passes every database name
 * on to the same server), while the database itself is made and dropped on the server directly.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (TEST_DB_VIA_PGBOUNCER && (!TEST_DATABASE_URL || !TEST_PGBOUNCER_URL)) {
    throw new Error('TEST_DB_VIA_PGBOUNCER=true needs TEST_DATABASE_URL (the server) and TEST_PGBOUNCER_URL (PgBouncer in front of it)');
  }
  if (!TEST_DATABASE_URL) {
    // Several test apps (each with its own pool) may share this database.
    const embedded = await startEmbeddedPostgres({ maxConnections: 512 });
    return { url: embedded.url, dispose: () => embedded.stop() };
  }
  const name = `shopassist_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_DB_VIA_PGBOUNCER ? TEST_PGBOUNCER_URL! : TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async dispose() {
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
