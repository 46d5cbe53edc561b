import { parentPort, workerData } from 'node:worker_threads';
import { EMBEDDED_DISPOSABLE_COMMIT } from './disposable-commit.js';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { keepQueriesWhole } from './pglite-socket-queue.js';

/**
 * The thread the embedded PostgreSQL runs on (started by embedded-postgres.ts): PGlite and its
 * socket server, so that PostgreSQL's work (WebAssembly, synchronous) and the socket server's run
 * beside the API's event loop rather than on it. Says `{ conn }` once listening, `{ error }` if it
 * cannot start; on 'stop' it stops the server, closes PGlite (its files complete) and says
 * 'stopped'.
 */
export interface EmbeddedWorkerData {
  /** PGlite's files; in memory when unset. */
  pgdata?: string;
  maxConnections: number;
  /** PGlite's WebAssembly, compiled once by the process. */
  pgliteWasmModule?: WebAssembly.Module;
  initdbWasmModule?: WebAssembly.Module;
}

const port = parentPort!;
const { pgdata, maxConnections, pgliteWasmModule, initdbWasmModule } = workerData as EmbeddedWorkerData;

try {
  const db = await PGlite.create({ ...(pgdata ? { dataDir: pgdata } : {}), pgliteWasmModule, initdbWasmModule });
  // One session serves every connection: disposable writes commit synchronously on it (see disposable-commit.ts).
  await db.exec(EMBEDDED_DISPOSABLE_COMMIT);
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections });
  keepQueriesWhole(server);
  await server.start();
  port.on('message', (message: unknown) => {
    if (message !== 'stop') return;
    void (async () => {
      try {
        await server.stop();
        await db.close();
        port.postMessage('stopped');
      } catch (err) {
        port.postMessage({ error: err instanceof Error ? err.message : String(err) });
      }
    })();
  });
  port.postMessage({ conn: server.getServerConn() });
} catch (err) {
  port.postMessage({ error: err instanceof Error ? err.message : String(err) });
}
