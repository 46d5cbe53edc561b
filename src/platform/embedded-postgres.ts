import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { EmbeddedWorkerData } from './embedded-postgres.worker.js';

/**
 * An embedded PostgreSQL: PGlite (PostgreSQL compiled to WebAssembly) served over the wire
 * protocol on a loopback port, so the app talks to it through `pg` and Sequelize exactly as it
 * talks to a real server and the same SQL runs everywhere. See docs/adr/0001-embedded-postgres.md.
 *
 * PGlite is a single backend: the socket server multiplexes every connection onto it and runs
 * one statement at a time, keeping a transaction's statements together. Callers keep their pool
 * small and never wait inside a transaction for a query on another connection.
 *
 * Both run on a worker thread of this process (embedded-postgres.worker.ts): PostgreSQL's work is
 * synchronous WebAssembly, which on the main thread would stall every request while a statement
 * runs. The data directory's lock stays here, with the process that owns it.
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
  let pgdata: string | undefined;
  if (options.dataDir) {
    pgdata = path.resolve(options.dataDir, 'pgdata');
    mkdirSync(pgdata, { recursive: true });
    releaseLock = lockDataDir(path.resolve(options.dataDir, 'shopassist.pid'));
  }
  let worker: Worker | undefined;
  let conn: string;
  try {
    worker = startWorker({ pgdata, maxConnections: options.maxConnections ?? MAX_SOCKET_CONNECTIONS, ...(await compiledWasm()) });
    const starting = worker;
    conn = await new Promise<string>((resolve, reject) => {
      starting.once('error', reject);
      starting.once('exit', (code) => reject(new Error(`The embedded database's thread exited (${code}) before it was ready.`)));
      starting.once('message', (m: { conn?: string; error?: string }) => (m.conn ? resolve(m.conn) : reject(new Error(m.error))));
    });
  } catch (err) {
    await worker?.terminate();
    releaseLock();
    throw err;
  }
  const thread = worker;
  // From here an error of the thread is the process's (as it was when PGlite ran on the main thread).
  thread.removeAllListeners('error');
  thread.removeAllListeners('exit');
  thread.removeAllListeners('message');
  let stopped: Promise<void> | undefined;
  return {
    url: `postgres://postgres@${conn}/postgres`,
    stop() {
      stopped ??= (async () => {
        try {
          const done = new Promise<unknown>((resolve) => {
            thread.once('message', resolve);
            thread.once('exit', resolve);
          });
          thread.postMessage('stop');
          const answer = (await done) as { error?: string } | string | number;
          if (typeof answer === 'object' && answer.error) throw new Error(`The embedded database did not stop cleanly: ${answer.error}`);
        } finally {
          await thread.terminate();
          releaseLock();
        }
      })();
      return stopped;
    },
  };
}

let compiled: Promise<Pick<EmbeddedWorkerData, 'pgliteWasmModule' | 'initdbWasmModule'>> | undefined;

/**
 * PGlite's WebAssembly, compiled once per process (off the main thread) and handed to each
 * database thread, which would otherwise compile it anew: a second or more per start.
 */
function compiledWasm(): Promise<Pick<EmbeddedWorkerData, 'pgliteWasmModule' | 'initdbWasmModule'>> {
  compiled ??= (async () => {
    const dist = path.dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
    // Node's global; this project's type library declares only the types of it.
    const wasm = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<WebAssembly.Module> } }).WebAssembly;
    const [pgliteWasmModule, initdbWasmModule] = await Promise.all(
      ['pglite.wasm', 'initdb.wasm'].map(async (file) => wasm.compile(await readFile(path.join(dist, file)))),
    );
    return { pgliteWasmModule, initdbWasmModule };
  })();
  return compiled;
}

/**
 * The worker: its compiled module next to this one; from the TypeScript sources (`npm start`,
 * tests), the .ts module with tsx registered in the thread first.
 */
function startWorker(data: EmbeddedWorkerData): Worker {
  const self = import.meta.url;
  if (self.endsWith('.js')) return new Worker(new URL('./embedded-postgres.worker.js', self), { workerData: data });
  const entry = new URL('./embedded-postgres.worker.ts', self).href;
  const tsx = import.meta.resolve?.('tsx/esm/api') ?? 'tsx/esm/api';
  return new Worker(`import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`, {
    eval: true,
    workerData: data,
  });
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
