/**
 * Preloaded into an API process on the embedded database by bench/profile-query.ts
 * (`--import ./bench/pglite-timing.ts`, PROFILE_STORAGE=embedded): times every call into
 * PGlite's backend (`execProtocolRawSync`: PostgreSQL itself, in WebAssembly, synchronous on the
 * process's main thread) by wire-protocol message type, and on exit writes calls and time per type
 * to PGLITE_TIMING_FILE. Node runs preloads on the main thread only: with PGlite on a worker
 * thread of its own (embedded-postgres.worker.ts) nothing is timed and no file is written; the
 * database thread's CPU profile then gives PostgreSQL's share instead. The rest of the process's busy time is the API, `pg`, and the socket
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
  // Written when the database closes and at exit, whichever has calls to write.
  const write = () => {
    if (timings.size > 0) writeFileSync(file, JSON.stringify(Object.fromEntries(timings)));
  };
  const closeProto = PGlite.prototype as unknown as { close: () => Promise<void> };
  const close = closeProto.close;
  closeProto.close = async function closeAndWrite(this: unknown) {
    write();
    return close.call(this);
  };
  process.on('exit', write);
}
