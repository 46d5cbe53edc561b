/**
 * Preloaded into an API process by bench/profile-query.ts (`--import ./bench/statement-timing.ts`):
 * times every statement the process sends (each `pg` Client `query`, Sequelize's and pooledQuery's
 * alike) from the call to its answer, and on exit writes calls and time per statement to
 * STATEMENT_TIMING_FILE. A client-side stand-in for pg_stat_statements where the server does not
 * load it: its times include the wait for the process's event loop to read the answer, so under
 * load they are an upper bound of the server's.
 */
import { writeFileSync } from 'node:fs';
import pg from 'pg';
import { label } from '../test/support/round-trips.js';

interface Timing {
  calls: number;
  totalMs: number;
}

const file = process.env.STATEMENT_TIMING_FILE;
if (file) {
  const timings = new Map<string, Timing>();
  const record = (name: string, started: number) => {
    const t = timings.get(name) ?? { calls: 0, totalMs: 0 };
    t.calls++;
    t.totalMs += performance.now() - started;
    timings.set(name, t);
  };
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function timed(this: unknown, ...args: unknown[]) {
    const name = label(args[0]);
    const started = performance.now();
    const last = args.length - 1;
    const callback = args[last];
    if (typeof callback === 'function') {
      args[last] = (...results: unknown[]) => {
        record(name, started);
        (callback as (...r: unknown[]) => void)(...results);
      };
      return original.apply(this, args);
    }
    const result = original.apply(this, args);
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<unknown>).then(
        () => record(name, started),
        () => record(name, started),
      );
    }
    return result;
  };
  process.on('exit', () => {
    writeFileSync(file, JSON.stringify(Object.fromEntries(timings)));
  });
}
