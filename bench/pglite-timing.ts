/**
 * Preloaded into an API process on the embedded database by bench/profile-query.ts
 * (`--import ./bench/pglite-timing.ts`, PROFILE_STORAGE=embedded): times every call into
 * PGlite's backend (`execProtocolRawSync`: PostgreSQL itself, in WebAssembly, synchronous on the
 * process's main thread) by wire-protocol message type, and on exit writes calls and time per type
 * to PGLITE_TIMING_FILE. The rest of the process's busy time is the API, `pg`, and the socket
 * server between them.
 */
import { writeFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';

interface Timing {
  calls: number;
  totalMs: number;
  bytesIn: number;
}

const file = process.env.PGLITE_TIMING_FILE;
if (file) {
  const timings = new Map<string, Timing>();
  const proto = PGlite.prototype as unknown as { execProtocolRawSync: (message: Uint8Array) => Uint8Array };
  const original = proto.execProtocolRawSync;
  proto.execProtocolRawSync = function timed(this: unknown, message: Uint8Array) {
    const started = performance.now();
    try {
      return original.call(this, message);
    } finally {
      const type = message[0] === 0 ? 'startup' : String.fromCharCode(message[0] ?? 63);
      const t = timings.get(type) ?? { calls: 0, totalMs: 0, bytesIn: 0 };
      t.calls++;
      t.totalMs += performance.now() - started;
      t.bytesIn += message.length;
      timings.set(type, t);
    }
  };
  process.on('exit', () => {
    writeFileSync(file, JSON.stringify(Object.fromEntries(timings)));
  });
}
