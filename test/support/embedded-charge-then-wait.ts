/**
 * Run as a process of its own by the embedded database's crash test: opens the embedded
 * PostgreSQL under DATA_DIR as the app does, charges one credit through the PostgreSQL credit
 * repository, prints `{"charged":<balance>}` once the charge has returned, then waits to be
 * killed.
 */
import { loadConfig } from '../../src/config.js';
import type { CreditPolicy } from '../../src/credits/credit.repository.js';
import { PostgresCreditRepository } from '../../src/credits/credit.repository.postgres.js';
import { BreakerRegistry } from '../../src/platform/breaker.js';
import { createDatabase } from '../../src/platform/db.js';
import { DbGuard } from '../../src/platform/db-guard.js';
import { createLogger } from '../../src/platform/logger.js';
import { Migrator } from '../../src/platform/migrator.js';

const logger = createLogger({ level: 'silent' });
const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', DATA_DIR: process.env.DATA_DIR });
const database = await createDatabase(config.database, logger);
await new Migrator(database.sequelize).up();
const policy: CreditPolicy = { guestAllowance: 10, registeredAllowance: 100, resetPeriodMs: 24 * 3_600_000 };
const repo = new PostgresCreditRepository(database.sequelize, new DbGuard(new BreakerRegistry(logger), database.sequelize, config.database), policy);
const caller = { userId: 'crash-shopper', isGuest: false };
await repo.getOrCreate(caller);
const r = await repo.charge(caller, { cost: 3, description: 'before the crash' });
if (r.kind !== 'charged') throw new Error(`charge was ${r.kind}`);
console.log(JSON.stringify({ charged: r.account.available }));
setInterval(() => {}, 60_000);
