/**
 * Scale-out, over HTTP with autocannon as in http.bench.ts (50 connections, 50 shoppers with
 * consent; PostgreSQL storage and query cache, the default deployment):
 *
 * - POST /api/v1/assistant/query (cached answer, and fresh answers that charge and write the
 *   cache) with the API on PostgreSQL directly (named statements) and through PgBouncer in
 *   transaction mode (DB_PREPARED_STATEMENTS=false), on the same database: req/s and p99 and
 *   the ratio PgBouncer / direct.
 * - The cached answer on two API processes (each taking half the connections, as behind a load
 *   balancer) against one. On a machine of two cores the load generator and both processes
 *   share them: reported, not asserted.
 *
 * Needs a PostgreSQL server (BENCH_DATABASE_URL / TEST_DATABASE_URL) and, for the PgBouncer rows,
 * BENCH_PGBOUNCER_URL / TEST_PGBOUNCER_URL (.ci/scale-services); a bench database is made on
 * the server and reached by name through PgBouncer.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { SignJWT } from 'jose';
import pg from 'pg';
import { API_UNDER_LOAD, AUTH_SECRET, CONNECTIONS, DURATION_S, FRESH_QUESTIONS, load, QUERY, startProcess, stop, type Result } from './http.bench.js';
import type { BenchRow, BenchSuite } from './run.js';

const SERVER_URL = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || undefined;
const PGBOUNCER_URL = process.env.BENCH_PGBOUNCER_URL || process.env.TEST_PGBOUNCER_URL || undefined;

const withDatabase = (url: string, name: string) => {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
};

async function startApi(databaseUrl: string, extra: Record<string, string>, dataDir: string) {
  return startProcess(['src/main.ts'], {
    ...API_UNDER_LOAD,
    STORAGE_BACKEND: 'postgres',
    CACHE_BACKEND: 'postgres',
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    ...extra,
  });
}

/** Both processes loaded at once, half the connections each; req/s summed, the worse p99. */
async function loadTwo(urls: [string, string], tokens: string[], body: string): Promise<Result> {
  const half = (url: string, offset: number) => {
    let next = offset;
    return autocannon({
      url,
      method: 'POST',
      headers: { Authorization: `Bearer ${tokens[0]}`, 'Content-Type': 'application/json' },
      body,
      connections: CONNECTIONS / 2,
      duration: DURATION_S,
      setupClient: (client) => {
        client.setHeaders({ Authorization: `Bearer ${tokens[next++ % tokens.length]}`, 'Content-Type': 'application/json' });
      },
    });
  };
  const [a, b] = await Promise.all([half(urls[0], 0), half(urls[1], CONNECTIONS / 2)]);
  return {
    rps: a.requests.average + b.requests.average,
    p50: Math.max(a.latency.p50, b.latency.p50),
    p99: Math.max(a.latency.p99, b.latency.p99),
    non2xx: a.non2xx + b.non2xx,
  };
}

const suite: BenchSuite = {
  name: 'scale',
  async run(): Promise<BenchRow[]> {
    if (!SERVER_URL) return [{ row: 'skipped: set BENCH_DATABASE_URL or TEST_DATABASE_URL (a PostgreSQL server)' }];
    const name = `shopassist_bench_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: SERVER_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const dataDir = mkdtempSync(path.join(tmpdir(), 'shopassist-bench-'));
    const started: { child: ChildProcess; port: number }[] = [];
    try {
      const direct = await startApi(withDatabase(SERVER_URL, name), {}, dataDir);
      started.push(direct);
      const base = (p: { port: number }) => `http://127.0.0.1:${p.port}/api/v1/assistant/query`;
      const tokens = await Promise.all(
        Array.from({ length: CONNECTIONS }, (_, i) =>
          new SignJWT({})
            .setProtectedHeader({ alg: 'HS256' })
            .setSubject(`bench-scale-${Date.now()}-${i}`)
            .setExpirationTime('1h')
            .sign(new TextEncoder().encode(AUTH_SECRET)),
        ),
      );
      for (const token of tokens) {
        const consent = await fetch(`http://127.0.0.1:${direct.port}/api/v1/consent`, {
          method: 'PUT',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ termsAccepted: true, marketingConsent: false }),
        });
        if (!consent.ok) throw new Error(`consent: ${consent.status}`);
      }
      const body = JSON.stringify(QUERY);
      const first = await fetch(base(direct), { method: 'POST', headers: { Authorization: `Bearer ${tokens[0]}`, 'Content-Type': 'application/json' }, body });
      if (!first.ok) throw new Error(`query: ${first.status} ${await first.text()}`);

      const row = (route: string, setup: string, r: Result, against?: Result): BenchRow => ({
        route,
        setup,
        'req/s': Math.round(r.rps),
        'p50 ms': r.p50,
        'p99 ms': r.p99,
        'non-2xx': r.non2xx,
        'req/s ratio': against ? Number((r.rps / against.rps).toFixed(2)) : '',
      });
      const rows: BenchRow[] = [];
      const cachedDirect = await load(base(direct), tokens, {}, [body]);
      const freshDirect = await load(base(direct), tokens, { 'Cache-Control': 'no-cache' }, FRESH_QUESTIONS);
      rows.push(row('query: cached answer', 'one process, PostgreSQL direct', cachedDirect));
      rows.push(row('query: fresh catalog answer', 'one process, PostgreSQL direct', freshDirect));

      if (PGBOUNCER_URL) {
        const bounced = await startApi(withDatabase(PGBOUNCER_URL, name), { DB_PREPARED_STATEMENTS: 'false', MIGRATE_ON_START: 'false' }, dataDir);
        started.push(bounced);
        const cachedBounced = await load(base(bounced), tokens, {}, [body]);
        const freshBounced = await load(base(bounced), tokens, { 'Cache-Control': 'no-cache' }, FRESH_QUESTIONS);
        await stop(bounced.child);
        started.pop();
        rows.push(row('query: cached answer', 'one process, through PgBouncer (vs direct)', cachedBounced, cachedDirect));
        rows.push(row('query: fresh catalog answer', 'one process, through PgBouncer (vs direct)', freshBounced, freshDirect));
      } else {
        rows.push({ route: 'through PgBouncer', setup: 'skipped: set BENCH_PGBOUNCER_URL or TEST_PGBOUNCER_URL' });
      }

      const second = await startApi(withDatabase(SERVER_URL, name), { MIGRATE_ON_START: 'false' }, dataDir);
      started.push(second);
      const cachedTwo = await loadTwo([base(direct), base(second)], tokens, body);
      rows.push(row('query: cached answer', 'two processes (vs one), reported only', cachedTwo, cachedDirect));
      return rows;
    } finally {
      for (const p of started.reverse()) await stop(p.child).catch(() => {});
      rmSync(dataDir, { recursive: true, force: true });
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      await admin.end();
    }
  },
};

export default suite;
