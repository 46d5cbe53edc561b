/**
 * Database round trips per query request, as test/assistant/round-trips.integration.test.ts
 * counts and asserts them (one request at a time, PostgreSQL storage, cache and conversations,
 * the rate limit on), printed beside the speed figures. Targets: a cached answer in 1 round
 * trip, a fresh one in at most 2. A fresh database on BENCH_DATABASE_URL's / TEST_DATABASE_URL's
 * server (dropped afterwards), else the embedded PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { loadConfig } from '../src/config.js';
import { createContainer } from '../src/container.js';
import { createLogger } from '../src/platform/logger.js';
import { countRoundTrips } from '../test/support/round-trips.js';
import { withFreshDatabase } from './fresh-database.js';
import type { BenchRow, BenchSuite } from './run.js';

const SERVER_URL = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || undefined;
const QUERY = '/api/v1/assistant/query';

async function count(databaseUrl: string | undefined): Promise<BenchRow[]> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'shopassist-bench-'));
  // Before the app connects: each connection binds the Client's `query` as it is then.
  const counter = countRoundTrips();
  try {
    const config = loadConfig({
      NODE_ENV: 'production',
      SESSION_SECRET: 'bench-session-secret-0123456789abcdef',
      GUEST_SESSIONS_PER_IP_PER_HOUR: '100000',
      STORAGE_BACKEND: 'postgres',
      CACHE_BACKEND: 'postgres',
      CONVERSATION_BACKEND: 'postgres',
      DATA_DIR: dataDir,
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
      HOLD_SWEEP_SECONDS: '0',
      CLEANUP_INTERVAL_MINUTES: '0',
      CATALOG_REFRESH_SECONDS: '3600',
    });
    const container = await createContainer(config, { logger: createLogger({ level: 'silent' }) });
    try {
      const app = container.app;
      const ask = (auth: string, body: object, headers: Record<string, string> = {}) => request(app).post(QUERY).set('Authorization', auth).set(headers).send(body);
      const shopper = async () => {
        const session = await request(app).post('/api/v1/sessions/guest');
        const auth = `Bearer ${session.body.token as string}`;
        await request(app).put('/api/v1/consent').set('Authorization', auth).send({ termsAccepted: true, marketingConsent: false });
        await ask(auth, { query: `warm up ${randomUUID()}`, limit: 3 });
        return auth;
      };
      const fresh = () => ({ query: `budget laptop ${randomUUID()}`, limit: 5 });
      const cached = { query: 'waterproof hiking boots under $150', limit: 5 };
      await ask(await shopper(), cached);
      const rows: BenchRow[] = [];
      const measure = async (name: string, auth: string, body: object, headers: Record<string, string> = {}) => {
        const { result, statements } = await counter.measure(() => request(counter.wrap(app)).post(QUERY).set('Authorization', auth).set(headers).send(body));
        if (result.status !== 200) throw new Error(`${name}: ${result.status} ${JSON.stringify(result.body)}`);
        rows.push({ request: name, 'round trips': statements.length, target: name.startsWith('cached') ? 1 : name.startsWith('fresh') ? 2 : '' });
      };
      await measure('cached answer', await shopper(), cached);
      await measure('fresh answer (no-cache)', await shopper(), fresh(), { 'Cache-Control': 'no-cache' });
      await measure('cached, Idempotency-Key', await shopper(), cached, { 'Idempotency-Key': randomUUID() });
      await measure('fresh, Idempotency-Key', await shopper(), fresh(), { 'Cache-Control': 'no-cache', 'Idempotency-Key': randomUUID() });
      const auth = await shopper();
      const body = fresh();
      const headers = { 'Cache-Control': 'no-cache', 'Idempotency-Key': randomUUID() };
      await ask(auth, body, headers);
      await measure('replay', auth, body, headers);
      return rows;
    } finally {
      await container.close();
    }
  } finally {
    counter.restore();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const suite: BenchSuite = {
  name: 'round-trips',
  run: () => (SERVER_URL ? withFreshDatabase(SERVER_URL, 'shopassist_bench', count) : count(undefined)),
};

export default suite;
