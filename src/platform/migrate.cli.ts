/**
 * `npm run migrate` applies every pending migration; any umzug CLI command works after `--`:
 * `npm run migrate -- down --to 0`, `npm run migrate -- pending`, `npm run migrate -- executed`.
 * It uses the same configuration as the server (DATABASE_URL, or the embedded database under
 * DATA_DIR when it is unset).
 */
import 'dotenv/config';
import { ConfigError, loadConfig } from '../config.js';
import { createDatabase } from './db.js';
import { createLogger } from './logger.js';
import { Migrator } from './migrator.js';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel });
  const db = await createDatabase(config.database, logger);
  try {
    const args = process.argv.slice(2);
    const ok = await new Migrator(db.sequelize, logger).runAsCLI(args.length === 0 ? ['up'] : args);
    if (!ok) process.exitCode = 1;
  } finally {
    await db.close();
  }
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    for (const line of err.problems) console.error(line);
  } else {
    console.error(err instanceof Error ? err.message : err);
  }
  process.exit(1);
});
