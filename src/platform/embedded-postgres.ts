import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { keepQueriesWhole } from './pglite-socket-queue.js';

/**
 * An embedded PostgreSQL: PGlite (PostgreSQL compiled to WebAssembly) served over the wire
 * protocol on a loopback port, so the app talks to it through `pg` and Sequelize exactly as it
 * talks to a real server and the same SQL runs everywhere. See docs/adr/0001-embedded-postgres.md.
 *
 * PGlite is a single backend: the socket server multiplexes every connection onto it and runs
 * one statement at a time, keeping a transaction's statements together. Callers keep their pool
 * small and never wait inside a transaction for a query on another connection.
 */
export interface EmbeddedPostgres {
  /** A postgres:// URL for `pg` and Sequelize. */
  readonly url: string;
  stop(): Promise<void>;
}

/** Connections the socket server accepts by default; more than any pool we open against it. */
const MAX_SOCKET_CONNECTIONS = 32;

/**
 * `maxConnections`: how many client connections the socket server accepts (they all share the
 * one backend); a test database that several apps connect to raises it.
 */
export async function startEmbeddedPostgres(options: { dataDir?: string; maxConnections?: number } = {}): Promise<EmbeddedPostgres> {
  let releaseLock = () => {};
  let db: PGlite;
  if (options.dataDir) {
    const dir = path.resolve(options.dataDir, 'pgdata');
    mkdirSync(dir, { recursive: true });
    releaseLock = lockDataDir(path.resolve(options.dataDir, 'shopassist.pid'));
    try {
      db = await PGlite.create({ dataDir: dir });
    } catch (err) {
      releaseLock();
      throw err;
    }
  } else {
    db = await PGlite.create();
  }
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: options.maxConnections ?? MAX_SOCKET_CONNECTIONS });
  keepQueriesWhole(server);
  await server.start();
  const url = `postgres://postgres@${server.getServerConn()}/postgres`;
  let stopped: Promise<void> | undefined;
  return {
    url,
    stop() {
      stopped ??= (async () => {
        try {
          await server.stop();
          await db.close();
        } finally {
          releaseLock();
        }
      })();
      return stopped;
    },
  };
}

/**
 * PGlite's files must have one owner: a second process opening the same data directory would
 * corrupt it. A pid file guards it; a stale one (its process is gone) is taken over.
 */
function lockDataDir(pidFile: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(pidFile, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(pidFile, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(pidFile, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new Error(
          `The embedded database in ${path.dirname(pidFile)} is in use by process ${owner}; ` +
            'stop it, use another DATA_DIR, or set DATABASE_URL.',
        );
      }
      rmSync(pidFile, { force: true });
    }
  }
  throw new Error(`Could not lock ${pidFile}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
