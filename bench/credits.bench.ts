/**
 * Charges per second and p50/p99 latency at 32 in flight: the memory repository, the PostgreSQL
 * repository (through the app's database guard, as requests use it) and a bare `pg` pool of the
 * same size running the same charge statement (same SQL, same parameters). The PostgreSQL
 * repository's target is ≥ 0.8× the bare statement.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { CHARGE_OP, mutation } from '../src/credits/credit.sql.js';
import type { CreditPolicy, CreditRepository } from '../src/credits/credit.repository.js';
import { MemoryCreditRepository } from '../src/credits/credit.repository.memory.js';
import { PostgresCreditRepository } from '../src/credits/credit.repository.postgres.js';
import { loadConfig } from '../src/config.js';
import { BreakerRegistry } from '../src/platform/breaker.js';
import { connectionOptions, createDatabase, EMBEDDED_POOL_MAX } from '../src/platform/db.js';
import { DbGuard } from '../src/platform/db-guard.js';
import { startEmbeddedPostgres } from '../src/platform/embedded-postgres.js';
import { createLogger } from '../src/platform/logger.js';
import { Migrator } from '../src/platform/migrator.js';
import type { BenchRow, BenchSuite } from './run.js';

const env = process.env;
const SERVER_URL = env.BENCH_DATABASE_URL || env.TEST_DATABASE_URL || undefined;
export const IN_FLIGHT = 32;
export const USERS = 256;
const ROUND_MS = 1500;
const ROUNDS = 3;
const logger = createLogger({ level: 'silent' });
const policy: CreditPolicy = { guestAllowance: 10, registeredAllowance: 1_000_000_000, resetPeriodMs: 24 * 3_600_000 };
const CHARGE_SQL = mutation(CHARGE_OP);

export interface Measured {
  perSecond: number;
  p50: number;
  p99: number;
}

/** IN_FLIGHT workers charging 1 credit of a random user for ROUND_MS. */
export async function measure(charge: (userId: string) => Promise<unknown>, users: string[]): Promise<Measured> {
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + ROUND_MS;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (performance.now() < deadline) {
        const t = performance.now();
        await charge(users[Math.floor(Math.random() * users.length)]);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return { perSecond: latencies.length / elapsed, p50: at(0.5), p99: at(0.99) };
}

/** Best-of-ROUNDS figures for each contender, rounds interleaved so drift hits all alike. */
export async function compare(contenders: Record<string, (userId: string) => Promise<unknown>>, users: string[]): Promise<Record<string, Measured>> {
  const best: Record<string, Measured> = {};
  for (const run of Object.values(contenders)) await measure(run, users); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of Object.entries(contenders)) {
      const m = await measure(run, users);
      if (!best[name] || m.perSecond > best[name].perSecond) best[name] = m;
    }
  }
  return best;
}

export async function benchDatabase(): Promise<{ url: string; poolMax: number; dispose(): Promise<void> }> {
  if (!SERVER_URL) {
    const embedded = await startEmbeddedPostgres();
    return { url: embedded.url, poolMax: EMBEDDED_POOL_MAX, dispose: () => embedded.stop() };
  }
  const name = `shopassist_bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: SERVER_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    poolMax: 0, // the configured pool
    async dispose() {
      const c = new pg.Client({ connectionString: SERVER_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** A PostgreSQL credit repository on `url` (migrated, USERS users made), as the app opens it. */
export async function creditRepositoryOn(url: string, poolMax: number): Promise<{
  repo: CreditRepository;
  settings: ReturnType<typeof loadConfig>['database'];
  poolMax: number;
  close(): Promise<void>;
}> {
  const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: url, LOG_LEVEL: 'silent' });
  // On the embedded server (one backend, at most 32 socket connections) the pools stay small.
  // Connections are opened during the warm-up round, while 32 workers keep this process busy:
  // the app's 1 s connect timeout would measure this process's event loop, not the database.
  const settings = { ...config.database, url, connectTimeoutMs: 10_000, ...(poolMax ? { poolSize: poolMax, maxOverflow: 0 } : {}) };
  const database = await createDatabase(settings, logger);
  const breakers = new BreakerRegistry(logger);
  try {
    await new Migrator(database.sequelize).up();
    const guard = new DbGuard(breakers, database.sequelize, settings);
    const repo = new PostgresCreditRepository(database.sequelize, guard, policy);
    for (const userId of benchUsers()) await repo.getOrCreate({ userId, isGuest: false });
    return {
      repo,
      settings,
      poolMax: poolMax || settings.poolSize + settings.maxOverflow,
      async close() {
        breakers.shutdown();
        await database.close();
      },
    };
  } catch (err) {
    breakers.shutdown();
    await database.close();
    throw err;
  }
}

export const benchUsers = () => Array.from({ length: USERS }, (_, i) => `bench-${i}`);

/** One charge of 1 credit through `repo`, as a request makes it; anything but a charge fails the bench. */
export const charge = (repo: CreditRepository) => async (userId: string) => {
  const r = await repo.charge({ userId, isGuest: false }, { cost: 1, description: 'bench' });
  if (r.kind !== 'charged') throw new Error(`bench charge was ${r.kind}`);
};

export const ms = (x: number) => Number(x.toFixed(2));

/** The bare statement: the same SQL and parameters the repository sends, straight to pg. */
export const bareChargeOn = (pool: pg.Pool) => async (userId: string) => {
  const r = await pool.query(CHARGE_SQL, [
    userId,
    null,
    policy.resetPeriodMs,
    policy.guestAllowance,
    policy.registeredAllowance,
    false,
    1,
    'bench',
    `auto:${randomUUID()}`,
  ]);
  if (!r.rows[0]?.ok) throw new Error('bench bare charge failed');
};

const suite: BenchSuite = {
  name: 'credits',
  async run() {
    const target = await benchDatabase();
    let opened: Awaited<ReturnType<typeof creditRepositoryOn>> | undefined;
    let bare: pg.Pool | undefined;
    try {
      opened = await creditRepositoryOn(target.url, target.poolMax);
      const { settings, poolMax } = opened;
      bare = new pg.Pool({ connectionString: target.url, ...connectionOptions(settings), max: poolMax });
      const pool = bare;
      const memory = new MemoryCreditRepository(policy);
      const users = benchUsers();
      for (const userId of users) await memory.getOrCreate({ userId, isGuest: false });

      const bareCharge = bareChargeOn(pool);

      const m = await compare({ memory: charge(memory), postgres: charge(opened.repo), 'bare pg': bareCharge }, users);
      const row = (name: string, ratio: string): BenchRow => ({
        contender: name,
        'charges/s': Math.round(m[name].perSecond),
        'p50 ms': ms(m[name].p50),
        'p99 ms': ms(m[name].p99),
        'vs bare pg': ratio,
      });
      return [
        row('memory', '(no database)'),
        row('postgres', `${(m.postgres.perSecond / m['bare pg'].perSecond).toFixed(2)}× (target ≥ 0.8×)`),
        row('bare pg', '1.00×'),
        { contender: `(${IN_FLIGHT} in flight, ${USERS} users, pool ${poolMax}, ${SERVER_URL ? 'PostgreSQL server' : 'embedded PostgreSQL'})`, 'charges/s': '', 'p50 ms': '', 'p99 ms': '', 'vs bare pg': '' },
      ];
    } finally {
      await bare?.end();
      await opened?.close();
      await target.dispose();
    }
  },
};
export default suite;
