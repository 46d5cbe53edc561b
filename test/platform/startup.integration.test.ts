import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { QueryTypes } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../src/platform/db.js';
import { createLogger } from '../../src/platform/logger.js';
import { Migrator } from '../../src/platform/migrator.js';
import { testConfig } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startServerProcess } from '../support/server-process.js';

// Each test starts API processes (and, without TEST_DATABASE_URL, embedded databases) from cold:
// on a two-core machine running the whole suite beside them that can take more than a minute.
const COLD_STARTS = { timeout: 180_000 };

describe('two processes starting against one empty database', COLD_STARTS, () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(async () => {
    await testDb?.dispose();
  });

  it('both migrate without racing, both become ready, and both stop cleanly on SIGTERM', async () => {
    const servers = [0, 1].map(() => startServerProcess({ DATABASE_URL: testDb.url, STORAGE_BACKEND: 'postgres', CACHE_BACKEND: 'postgres' }));
    const ports = await Promise.all(servers.map((s) => s.listening));
    for (const port of ports) {
      const res = await fetch(`http://127.0.0.1:${port}/health/ready`);
      expect(res.status).toBe(200);
    }
    const migratedLines = servers.flatMap((s) => s.output().split('\n')).filter((l) => l.includes('"event":"migrated"'));
    const names = migratedLines.map((l) => (JSON.parse(l) as { name: string }).name);
    // Every migration was applied exactly once, by one process or the other.
    expect(names.length).toBeGreaterThan(0);
    expect(new Set(names).size).toBe(names.length);

    for (const s of servers) s.child.kill('SIGTERM');
    expect(await Promise.all(servers.map((s) => s.exited))).toEqual([0, 0]);
  });
});

describe('the embedded PostgreSQL', COLD_STARTS, () => {
  it('keeps the schema and the data across a restart', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'shopassist-embedded-'));
    const settings = { ...testConfig().database, url: undefined, dataDir };
    const logger = createLogger({ level: 'silent' });
    try {
      const first = await createDatabase(settings, logger);
      expect(first.embedded).toBe(true);
      await new Migrator(first.sequelize).up();
      await first.sequelize.query(
        `INSERT INTO user_credits (user_id, is_guest, available_credits, max_credits, last_reset_timestamp) VALUES ('kept', false, 7, 100, now())`,
      );
      await first.close();

      const second = await createDatabase(settings, logger);
      try {
        expect(await new Migrator(second.sequelize).pending()).toEqual([]);
        const rows = await second.sequelize.query<{ available_credits: number }>(
          `SELECT available_credits FROM user_credits WHERE user_id = 'kept'`,
          { type: QueryTypes.SELECT },
        );
        expect(rows).toEqual([{ available_credits: 7 }]);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses a data directory that another live process holds', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'shopassist-embedded-'));
    const settings = { ...testConfig().database, url: undefined, dataDir };
    const logger = createLogger({ level: 'silent' });
    const server = startServerProcess({ DATA_DIR: dataDir });
    try {
      await server.listening;
      await expect(createDatabase(settings, logger)).rejects.toThrow(/in use by process/);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('keeps a charge that returned when the process is killed right after (its WAL is with the OS)', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'shopassist-embedded-'));
    const settings = { ...testConfig().database, url: undefined, dataDir };
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/embedded-charge-then-wait.ts'], {
        cwd: path.resolve(import.meta.dirname, '../..'),
        env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      const charged = await new Promise<number>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString('utf8');
          const line = out.split('\n').find((l) => l.startsWith('{"charged"'));
          if (line) resolve((JSON.parse(line) as { charged: number }).charged);
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code} before charging: ${out}`)));
      });
      expect(charged).toBe(97);
      child.kill('SIGKILL'); // no clean stop: the database is not closed
      await exited;

      const again = await createDatabase(settings, createLogger({ level: 'silent' }));
      try {
        const rows = await again.sequelize.query<{ available_credits: number; entries: string }>(
          `SELECT available_credits, (SELECT count(*) FROM credit_transactions WHERE user_id = 'crash-shopper') AS entries FROM user_credits WHERE user_id = 'crash-shopper'`,
          { type: QueryTypes.SELECT },
        );
        expect(rows).toEqual([{ available_credits: 97, entries: '2' }]);
      } finally {
        await again.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
