import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { Umzug, type MigrationParams, type UmzugStorage } from 'umzug';
import type { Logger } from './logger.js';

/**
 * What every migration in migrations/ receives. `sql` runs inside the migration run's
 * transaction, so a run applies all of its migrations or none.
 */
export interface MigrationContext {
  sql(statement: string): Promise<void>;
}

export type Migration = (params: MigrationParams<MigrationContext>) => Promise<void>;

const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');
const TABLE = 'shopassist_migrations';
/** Any constant shared by every process of this app: the key of the migration lock. */
const LOCK_KEY = 724_311_001;

/** Records applied migrations in the database, inside the run's transaction. */
class TransactionalStorage implements UmzugStorage<MigrationContext> {
  constructor(
    private readonly sequelize: Sequelize,
    private readonly transaction: () => Transaction | undefined,
  ) {}

  private async ensureTable(): Promise<void> {
    await this.sequelize.query(
      `CREATE TABLE IF NOT EXISTS ${TABLE} (name varchar(255) PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
      { transaction: this.transaction() },
    );
  }

  async executed(): Promise<string[]> {
    await this.ensureTable();
    const rows = await this.sequelize.query<{ name: string }>(`SELECT name FROM ${TABLE} ORDER BY name`, {
      type: QueryTypes.SELECT,
      transaction: this.transaction(),
    });
    return rows.map((r) => r.name);
  }

  async logMigration({ name }: { name: string }): Promise<void> {
    await this.sequelize.query(`INSERT INTO ${TABLE} (name) VALUES (:name)`, {
      replacements: { name },
      transaction: this.transaction(),
    });
  }

  async unlogMigration({ name }: { name: string }): Promise<void> {
    await this.sequelize.query(`DELETE FROM ${TABLE} WHERE name = :name`, {
      replacements: { name },
      transaction: this.transaction(),
    });
  }
}

/**
 * umzug over migrations/*.ts (or their compiled .js). `up` and `down` each run in one
 * transaction that first takes a transaction-scoped advisory lock: several processes starting
 * at once against one empty database apply the migrations once, the others wait and then find
 * nothing pending.
 */
export class Migrator extends Umzug<MigrationContext> {
  private transaction: Transaction | undefined;

  constructor(
    private readonly sequelize: Sequelize,
    logger?: Logger,
  ) {
    const current = () => this.transaction;
    super({
      migrations: {
        glob: ['*.{ts,js}', { cwd: MIGRATIONS_DIR, ignore: ['*.d.ts'] }],
        resolve: ({ name, path: file, context }) => {
          const load = async () => (await import(pathToFileURL(file!).href)) as { up: Migration; down: Migration };
          const id = name.replace(/\.(ts|js)$/, '');
          return {
            name: id,
            up: async () => (await load()).up({ name: id, path: file, context }),
            down: async () => (await load()).down({ name: id, path: file, context }),
          };
        },
      },
      context: () => ({
        sql: async (statement: string) => {
          await sequelize.query(statement, { transaction: current() });
        },
      }),
      storage: new TransactionalStorage(sequelize, current),
      logger: logger
        ? {
            info: (m) => logger.info(m, 'migration'),
            warn: (m) => logger.warn(m, 'migration'),
            error: (m) => logger.error(m, 'migration'),
            debug: (m) => logger.debug(m, 'migration'),
          }
        : undefined,
    });
  }

  protected override async runCommand<T>(
    command: string,
    cb: (params: { context: MigrationContext }) => Promise<T>,
  ): Promise<T> {
    if (command !== 'up' && command !== 'down') return super.runCommand(command, cb);
    return this.sequelize.transaction(async (transaction) => {
      await this.sequelize.query('SELECT pg_advisory_xact_lock(:key)', {
        replacements: { key: LOCK_KEY },
        transaction,
      });
      this.transaction = transaction;
      try {
        return await super.runCommand(command, cb);
      } finally {
        this.transaction = undefined;
      }
    });
  }
}
