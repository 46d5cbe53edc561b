/**
 * CPU per request of the query route's HTTP path alone (`npx tsx bench/http-path-cpu.ts`, Linux:
 * it reads /proc): bench/http-path-server.ts (the real app and query route in front of an
 * assistant that answers a cached outcome at once) beside the bare Express route
 * (bench/bare-server.ts, answering the same body), each loaded as the http suite loads them (50
 * shoppers, BENCH_HTTP_SECONDS a row, after as long a warm-up), and the process's CPU time over
 * the row divided by the requests served. Without a database or a search in the measure, the
 * figure moves little with the machine's load, so a change to the middleware, the route or the
 * response writing shows in it where bench/query-cpu.ts's rows are dominated by the rest.
 *
 * BENCH_COMPARE_WITH=<another checkout>: also measures that checkout's app (its own src/), in
 * alternation, HTTP_PATH_ROUNDS (default 3) rounds; the medians are printed at the end.
 */
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { API_UNDER_LOAD, AUTH_SECRET, CONNECTIONS, DURATION_S, load, QUERY, startProcess, stop } from './http.bench.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OTHER = process.env.BENCH_COMPARE_WITH ? path.resolve(process.env.BENCH_COMPARE_WITH) : undefined;
const ROUNDS = Number(process.env.HTTP_PATH_ROUNDS ?? 3);
if (OTHER && !existsSync(path.join(OTHER, 'src/app.ts'))) throw new Error(`${OTHER}: no src/app.ts`);

/** The process's CPU time so far (user + system), in ms (USER_HZ = 100). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const secret = new TextEncoder().encode(AUTH_SECRET);
const tokens = await Promise.all(
  Array.from({ length: CONNECTIONS }, (_, i) => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(`http-path-${i}`).setExpirationTime('1h').sign(secret)),
);
const body = JSON.stringify(QUERY);
const rows = [...(OTHER ? [OTHER] : []), ROOT, 'bare'];
const perRequest = new Map<string, number[]>();
let sample = '';

console.log(`${ROUNDS} round(s), ${DURATION_S} s a row.\n\n| round | row | req/s | p99 ms | CPU µs per request | load average |\n|---:|---|---:|---:|---:|---:|`);
for (let round = 1; round <= ROUNDS; round++) {
  for (const row of rows) {
    const server =
      row === 'bare'
        ? await startProcess(['bench/bare-server.ts'], { BARE_BODY: sample })
        : await startProcess(['bench/http-path-server.ts'], { ...API_UNDER_LOAD, STORAGE_BACKEND: 'memory', CACHE_BACKEND: 'memory', CHECKOUT: row });
    try {
      const url = `http://127.0.0.1:${server.port}/api/v1/assistant/query`;
      const first = await fetch(url, { method: 'POST', headers: { Authorization: `Bearer ${tokens[0]}`, 'Content-Type': 'application/json' }, body });
      if (!first.ok) throw new Error(`${row}: ${first.status} ${await first.text()}`);
      const text = await first.text();
      if (row !== 'bare') sample = text;
      await load(url, tokens, {}, [body]);
      const before = cpuMs(server.child.pid!);
      const r = await load(url, tokens, {}, [body]);
      const us = ((cpuMs(server.child.pid!) - before) * 1000) / (r.rps * DURATION_S);
      perRequest.set(row, [...(perRequest.get(row) ?? []), us]);
      console.log(`| ${round} | ${path.basename(row)} | ${Math.round(r.rps)} | ${r.p99} | ${Math.round(us)} | ${loadavg()[0]!.toFixed(1)} |`);
    } finally {
      await stop(server.child);
    }
  }
}
console.log('\n| row | median CPU µs per request |\n|---|---:|');
for (const [row, all] of perRequest) console.log(`| ${path.basename(row)} | ${Math.round([...all].sort((a, b) => a - b)[Math.floor(all.length / 2)]!)} |`);
