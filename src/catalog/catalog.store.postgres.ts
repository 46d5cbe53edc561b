import pg from 'pg';
import type { CatalogProduct } from '../assistant/catalog/catalog.js';
import { productHash } from '../assistant/catalog/catalog.js';
import { isDatabaseUnavailable } from '../platform/db-guard.js';
import { connectionOptions, type DatabaseSettings } from '../platform/db.js';
import { StorageUnavailableError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { PostgresJobLock } from '../maintenance/job-lock.js';
import type { CatalogBase, CatalogDelta, CatalogSnapshot, CatalogStore, CatalogSummary, ProductChange, ReplaceOptions } from './catalog.store.js';

/** Any constant shared by every process of this app: the key of the whole-catalog upload lock. */
const REPLACE_LOCK_KEY = 724_311_003;
/** The channel every process listens on; the payload is the new version. */
export const CATALOG_CHANNEL = 'shopassist_catalog';
/** Bulk statements (a batch of an upload, a whole-catalog read) may take longer than request paths. */
const BULK_TIMEOUT_MS = 300_000;

/** The version, from the products' own hashes in id order (UTF-8 byte order): see `catalogHash`. */
const VERSION_SQL = `
  SELECT count(*)::int AS products,
         encode(sha256(convert_to(coalesce(string_agg(content_hash::text, '' ORDER BY id COLLATE "C"), ''), 'UTF8')), 'hex') AS version
    FROM products WHERE generation = $1`;

/** The product columns under the product's own field names (see ProductRow). */
const columns = (p: string) =>
  `${p}id, ${p}name, ${p}brand, ${p}category, ${p}price::float8 AS price, ${p}currency, ${p}description, ${p}tags, ${p}rating, ${p}url, ${p}image_url AS "imageUrl", ${p}in_stock AS "inStock"`;
const COLUMNS = columns('');
const P_COLUMNS = columns('p.');

/** A product as selected: its own fields, null where an optional one is absent. */
type ProductRow = { [K in keyof CatalogProduct]-?: undefined extends CatalogProduct[K] ? Exclude<CatalogProduct[K], undefined> | null : CatalogProduct[K] };

interface StateRow {
  generation: string;
  version: string;
  product_count: number;
  updated_at: Date;
}

function toProduct({ rating, url, imageUrl, ...required }: ProductRow): CatalogProduct {
  const p: CatalogProduct = required;
  if (rating !== null) p.rating = rating;
  if (url !== null) p.url = url;
  if (imageUrl !== null) p.imageUrl = imageUrl;
  return Object.freeze(p);
}

const toSummary = (row: StateRow): CatalogSummary => ({ version: row.version, products: row.product_count, updatedAt: row.updated_at });

/** One batch as JSON for `jsonb_to_recordset`: a single parameter, however many products. */
function batchJson(products: CatalogProduct[]): string {
  return JSON.stringify(products.map((p) => ({ ...p, rating: p.rating ?? null, url: p.url ?? null, imageUrl: p.imageUrl ?? null, content_hash: productHash(p) })));
}

const INSERT_SQL = `
  INSERT INTO products (generation, id, name, brand, category, price, currency, description, tags, rating, url, image_url, in_stock, content_hash)
  SELECT $1, r.id, r.name, r.brand, r.category, r.price, r.currency, r.description,
         ARRAY(SELECT jsonb_array_elements_text(r.tags)), r.rating, r.url, r."imageUrl", r."inStock", r.content_hash
    FROM jsonb_to_recordset($2::jsonb) AS r(id text, name text, brand text, category text, price numeric, currency text, description text,
                                          tags jsonb, rating float8, url text, "imageUrl" text, "inStock" boolean, content_hash text)`;

/**
 * The catalog in PostgreSQL (see migrations/202612031300-create-products.ts). Bulk work runs on
 * a small pool of its own, with statement limits fit for 100k products rather than the request
 * paths' DB_QUERY_TIMEOUT_MS; whole-catalog uploads take a cross-process lock so two never stage
 * at once; changes are announced with NOTIFY (and found by polling where a pooler drops it).
 */
export class PostgresCatalogStore implements CatalogStore {
  readonly writable = true;
  private readonly pool: pg.Pool;
  private readonly lock: PostgresJobLock;

  constructor(
    private readonly url: string,
    private readonly settings: DatabaseSettings,
    private readonly logger: Logger,
  ) {
    this.pool = new pg.Pool({ ...connectionOptions(settings), statement_timeout: BULK_TIMEOUT_MS, query_timeout: undefined, connectionString: url, max: 3 });
    this.pool.on('error', () => {});
    this.lock = new PostgresJobLock(url, settings, REPLACE_LOCK_KEY);
  }

  async summary(): Promise<CatalogSummary | undefined> {
    return this.guard(async () => {
      const { rows } = await this.pool.query<StateRow>({
        text: 'SELECT generation, version, product_count, updated_at FROM catalog_state',
        query_timeout: this.settings.queryTimeoutMs + 250,
      } as pg.QueryConfig);
      return rows[0] ? toSummary(rows[0]) : undefined;
    });
  }

  async load(): Promise<CatalogSnapshot | undefined> {
    return this.guard(async () => {
      // One statement, one snapshot: the products are exactly those of the version read with them.
      const { rows } = await this.pool.query<ProductRow & { content_hash: string; s_generation: string; s_version: string; s_count: number; s_updated_at: Date }>(
        `SELECT ${P_COLUMNS}, p.content_hash, s.generation::text AS s_generation, s.version AS s_version, s.product_count AS s_count, s.updated_at AS s_updated_at
           FROM catalog_state s JOIN products p ON p.generation = s.generation
          ORDER BY p.id COLLATE "C"`,
      );
      if (rows.length === 0) {
        const summary = await this.summary();
        return summary && summary.products === 0 ? { summary, products: [] } : summary ? this.load() : undefined;
      }
      const first = rows[0];
      return {
        summary: { version: first.s_version, products: first.s_count, updatedAt: first.s_updated_at },
        products: rows.map(({ content_hash: _hash, s_generation: _generation, s_version: _version, s_count: _count, s_updated_at: _updatedAt, ...product }) => toProduct(product)),
        base: { generation: first.s_generation, hashes: new Map(rows.map((r) => [r.id, r.content_hash])) },
      };
    });
  }

  async changesSince(base: CatalogBase, max: number): Promise<CatalogDelta | undefined> {
    return this.guard(() =>
      // Three statements, one snapshot: the hashes, the changed products and the version agree.
      this.transaction('REPEATABLE READ READ ONLY', async (client) => {
        const state = (await client.query<StateRow>('SELECT generation::text AS generation, version, product_count, updated_at FROM catalog_state')).rows[0];
        if (!state || state.generation !== base.generation) return undefined;
        const { rows } = await client.query<{ id: string; content_hash: string }>('SELECT id, content_hash FROM products WHERE generation = $1', [state.generation]);
        const hashes = new Map<string, string>();
        const changed: string[] = [];
        for (const { id, content_hash } of rows) {
          hashes.set(id, content_hash);
          if (base.hashes.get(id) !== content_hash) changed.push(id);
        }
        const deleted: string[] = [];
        if (hashes.size - changed.length !== base.hashes.size) for (const id of base.hashes.keys()) if (!hashes.has(id)) deleted.push(id);
        if (changed.length + deleted.length > max) return undefined;
        const put = changed.length
          ? (await client.query<ProductRow>(`SELECT ${COLUMNS} FROM products WHERE generation = $1 AND id = ANY($2::text[]) ORDER BY id COLLATE "C"`, [state.generation, changed])).rows.map(toProduct)
          : [];
        return { summary: toSummary(state), base: { generation: state.generation, hashes }, put, deleted };
      }),
    );
  }

  async replace(fill: (add: (batch: CatalogProduct[]) => Promise<void>) => Promise<boolean>, options: ReplaceOptions = {}): Promise<CatalogSummary | undefined> {
    return this.lock.run(async () => {
      const generation = await this.guard(async () => (await this.pool.query<{ g: string }>("SELECT nextval('catalog_generation_seq')::text AS g")).rows[0].g);
      let committed = false;
      try {
        const keep = await fill((batch) => this.guard(async () => void (await this.pool.query(INSERT_SQL, [generation, batchJson(batch)]))));
        if (!keep) return undefined;
        // The staged generation no longer changes: its version is computed before the short swap.
        const { version, products } = await this.guard(async () => (await this.pool.query<{ version: string; products: number }>(VERSION_SQL, [generation])).rows[0]);
        const summary = await this.guard(() =>
          this.transaction('READ COMMITTED', async (client) => {
            // `ifEmpty`: the state row is the claim. On the embedded database the upload lock is
            // re-entrant across processes (they share its one session), so two processes seeding
            // one empty database may both stage; the first to swap wins and the other's swap
            // does nothing, and the cleanup below never touches the live generation.
            const { rows } = await client.query<StateRow>(
              `INSERT INTO catalog_state (singleton, generation, version, product_count, updated_at) VALUES (true, $1, $2, $3, now())
               ON CONFLICT (singleton) ${
                 options.ifEmpty
                   ? 'DO NOTHING'
                   : `DO UPDATE SET generation = EXCLUDED.generation, version = EXCLUDED.version,
                 product_count = EXCLUDED.product_count, updated_at = EXCLUDED.updated_at`
               }
               RETURNING generation, version, product_count, updated_at`,
              [generation, version, products],
            );
            if (rows.length === 0) return undefined;
            await client.query('SELECT pg_notify($1, $2)', [CATALOG_CHANNEL, version]);
            return toSummary(rows[0]);
          }),
        );
        committed = summary !== undefined;
        return summary;
      } finally {
        // Under the lock no other upload is staging: every generation but the live one is waste
        // (the old catalog, this upload when it failed or lost its `ifEmpty` claim, an upload whose
        // process died). On the embedded database a second seed may be staging beside this one;
        // its rows go too, and its claim then finds the catalog made and changes nothing.
        await this.pool
          .query('DELETE FROM products WHERE generation <> (SELECT coalesce(max(generation), -1) FROM catalog_state)')
          .catch((err: unknown) => this.logger.warn({ err, committed }, 'could not remove old catalog rows; the next upload retries'));
      }
    });
  }

  async change(id: string, decide: (current: CatalogProduct | undefined) => ProductChange): Promise<{ product: CatalogProduct | undefined; summary: CatalogSummary }> {
    return this.guard(() =>
      this.transaction('READ COMMITTED', async (client) => {
        // The state row is the catalog's lock for single changes: they apply one after another.
        await client.query(
          "INSERT INTO catalog_state (singleton, generation, version, product_count) VALUES (true, nextval('catalog_generation_seq'), $1, 0) ON CONFLICT (singleton) DO NOTHING",
          ['0'.repeat(64)],
        );
        const state = (await client.query<StateRow>('SELECT generation FROM catalog_state FOR UPDATE')).rows[0];
        const found = await client.query<ProductRow>(`SELECT ${COLUMNS} FROM products WHERE generation = $1 AND id = $2`, [state.generation, id]);
        const change = decide(found.rows[0] ? toProduct(found.rows[0]) : undefined);
        let product: CatalogProduct | undefined;
        if ('put' in change) {
          product = change.put;
          await client.query('DELETE FROM products WHERE generation = $1 AND id = $2', [state.generation, id]);
          await client.query(INSERT_SQL, [state.generation, batchJson([product])]);
        } else {
          await client.query('DELETE FROM products WHERE generation = $1 AND id = $2', [state.generation, id]);
        }
        const { version, products } = (await client.query<{ version: string; products: number }>(VERSION_SQL, [state.generation])).rows[0];
        const { rows } = await client.query<StateRow>(
          'UPDATE catalog_state SET version = $1, product_count = $2, updated_at = now() RETURNING generation, version, product_count, updated_at',
          [version, products],
        );
        await client.query('SELECT pg_notify($1, $2)', [CATALOG_CHANNEL, version]);
        return { product, summary: toSummary(rows[0]) };
      }),
    );
  }

  async onChange(listener: () => void): Promise<() => Promise<void>> {
    let stopped = false;
    let client: pg.Client | undefined;
    let retry: NodeJS.Timeout | undefined;
    let failures = 0;
    const connect = async () => {
      if (stopped) return;
      const c = new pg.Client({ ...connectionOptions(this.settings), statement_timeout: 0, query_timeout: undefined, connectionString: this.url });
      const again = () => {
        if (stopped || client !== c) return;
        client = undefined;
        c.end().catch(() => {});
        failures++;
        // Polling keeps the catalog fresh meanwhile; reconnect with a capped backoff.
        retry = setTimeout(() => void connect(), Math.min(30_000, 500 * 2 ** Math.min(failures, 6)));
        retry.unref();
      };
      client = c;
      c.on('error', again);
      c.on('end', again);
      c.on('notification', (msg) => {
        if (msg.channel === CATALOG_CHANNEL) listener();
      });
      try {
        await c.connect();
        await c.query(`LISTEN ${CATALOG_CHANNEL}`);
        failures = 0;
        // Whatever changed while this connection was down is found now.
        listener();
      } catch (err) {
        if (failures === 0) this.logger.warn({ err }, 'catalog change notifications unavailable; polling for changes');
        again();
      }
    };
    await connect();
    return async () => {
      stopped = true;
      clearTimeout(retry);
      const c = client;
      client = undefined;
      await c?.end().catch(() => {});
    };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async transaction<T>(isolation: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query(`BEGIN ISOLATION LEVEL ${isolation}`);
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  /** Database outages become 503 SERVICE_UNAVAILABLE; everything else passes through. */
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isDatabaseUnavailable(err)) throw new StorageUnavailableError(5, err);
      throw err;
    }
  }
}
