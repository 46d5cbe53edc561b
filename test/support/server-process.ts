import { spawn, type ChildProcess } from 'node:child_process';
import { TEST_DB_VIA_PGBOUNCER } from './scale.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ServerProcess {
  readonly child: ChildProcess;
  /** Resolves the port once the server logs that it listens; rejects if it exits first. */
  readonly listening: Promise<number>;
  /** Resolves the exit code. */
  readonly exited: Promise<number | null>;
  output(): string;
}

/** Starts `src/main.ts` in its own process, as `npm start` does, with the given environment. */
export function startServerProcess(env: Record<string, string>): ServerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    // Through PgBouncer (TEST_DB_VIA_PGBOUNCER) the process sends unnamed statements, as an app there must.
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...(TEST_DB_VIA_PGBOUNCER ? { DB_PREPARED_STATEMENTS: 'false' } : {}), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let port: number | undefined;
  const listening = new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString('utf8');
      // Once it listens, the rest is only kept (a long run's output is not scanned again and again).
      if (port !== undefined) return;
      for (const line of out.split('\n')) {
        if (!line.includes('ShopAssist API listening')) continue;
        try {
          port = (JSON.parse(line) as { port: number }).port;
          resolve(port);
        } catch {
          // a partial line: wait for the rest
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    void exited.then((code) => reject(new Error(`server exited with ${code} before listening:\n${out}`)));
  });
  listening.catch(() => {});
  return { child, listening, exited, output: () => out };
}
