import { QueryTypes, type Sequelize } from 'sequelize';
import { decodeCursor, encodeCursor, InvalidCursorError, type Page } from '../platform/cursor.js';
import { pooledQuery, statement } from '../platform/pooled-query.js';
import { guardedReads } from '../platform/batcher.js';
import type { ReplicaReads } from '../platform/replica-reads.js';
import { guardedOptions, type StorageGuard } from '../platform/storage-guard.js';
import { retryTransient } from '../platform/transient-retry.js';
import type { Consent, ConsentChoice, ConsentListOptions, ConsentRepository } from './consent.repository.js';

interface ConsentRow {
  user_id: string;
  terms_accepted: boolean;
  marketing_consent: boolean;
  timestamp: Date;
  updated_at: Date;
  micros?: string;
}

const NOW = 'COALESCE($2::timestamptz, statement_timestamp())';

const toConsent = (r: ConsentRow): Consent => ({
  userId: r.user_id,
  termsAccepted: r.terms_accepted,
  marketingConsent: r.marketing_consent,
  recordedAt: r.timestamp,
  updatedAt: r.updated_at,
});

const GET_MANY = statement('consent_get', `SELECT user_id, terms_accepted, marketing_consent, "timestamp", updated_at FROM user_consents WHERE user_id = ANY($1::varchar[])`);

const LIST = statement(
  'consent_list',
  `SELECT user_id, terms_accepted, marketing_consent, "timestamp", updated_at,
          (extract(epoch FROM "timestamp") * 1000000)::bigint::text AS micros
     FROM user_consents
    WHERE ($1::boolean IS NULL OR marketing_consent = $1::boolean)
      AND ($2::bigint IS NULL OR ("timestamp", user_id COLLATE "C") <
           (to_timestamp(0) + ($2::bigint / 1000000) * interval '1 second' + ($2::bigint % 1000000) * interval '1 microsecond', $3::varchar COLLATE "C"))
    ORDER BY "timestamp" DESC, user_id COLLATE "C" DESC
    LIMIT $4`,
);

/**
 * Consent records in `user_consents`; `record` is one upsert (safe to repeat). `get` is on every
 * assistant query: concurrent ones share one statement (see guardedReads).
 */
export class PostgresConsentRepository implements ConsentRepository {
  private readonly load: (userId: string) => Promise<Consent | undefined>;

  constructor(
    private readonly sequelize: Sequelize,
    private readonly guard: StorageGuard,
    private readonly now?: () => Date,
    /** Where operator lists are read (a replica within the lag limit, else the primary); unset = the primary. */
    private readonly reads?: ReplicaReads,
  ) {
    this.load = guardedReads(this.guard, 'consent.get', async (userIds) => {
      const rows = await retryTransient(() => pooledQuery<ConsentRow>(this.sequelize, GET_MANY, [userIds]));
      return new Map(rows.map((r) => [r.user_id, toConsent(r)]));
    });
  }

  get(userId: string): Promise<Consent | undefined> {
    return this.load(userId);
  }

  async record(userId: string, choice: ConsentChoice): Promise<Consent> {
    const rows = await this.guard.run('consent.record', (call) =>
      retryTransient(() =>
        this.sequelize.query<ConsentRow>(
          `INSERT INTO user_consents AS c (user_id, terms_accepted, marketing_consent, "timestamp", updated_at)
           VALUES ($1, $3, $4, ${NOW}, ${NOW})
           ON CONFLICT (user_id) DO UPDATE SET
             terms_accepted = EXCLUDED.terms_accepted,
             marketing_consent = EXCLUDED.marketing_consent,
             updated_at = CASE
               WHEN (c.terms_accepted, c.marketing_consent) IS DISTINCT FROM (EXCLUDED.terms_accepted, EXCLUDED.marketing_consent)
               THEN EXCLUDED.updated_at ELSE c.updated_at END
           RETURNING user_id, terms_accepted, marketing_consent, "timestamp", updated_at`,
          guardedOptions(call, { bind: [userId, this.now ? this.now() : null, choice.termsAccepted, choice.marketingConsent], type: QueryTypes.SELECT }),
        ),
      ),
    );
    return toConsent(rows[0]);
  }

  async deleteMany(userIds: string[]): Promise<number> {
    if (userIds.length === 0) return 0;
    const rows = await this.guard.run('consent.deleteMany', (call) =>
      retryTransient(() =>
        this.sequelize.query<{ n: number }>(
          `WITH gone AS (DELETE FROM user_consents WHERE user_id = ANY($1::varchar[]) RETURNING 1) SELECT count(*)::int AS n FROM gone`,
          guardedOptions(call, { bind: [userIds], type: QueryTypes.SELECT }),
        ),
      ),
    );
    return rows[0]?.n ?? 0;
  }

  async list(options: ConsentListOptions): Promise<Page<Consent>> {
    let after: { micros: string; userId: string } | undefined;
    if (options.cursor !== undefined) {
      const key = decodeCursor(options.cursor);
      if (!key || key.t.length > 18) throw new InvalidCursorError();
      after = { micros: key.t, userId: key.i };
    }
    // An operator list may lag (DB_REPLICA_MAX_LAG_SECONDS); a consent check (`get`) never does.
    const bind = [options.marketingConsent ?? null, after?.micros ?? null, after?.userId ?? null, options.limit + 1];
    const rows = await this.guard.run('consent.list', () =>
      retryTransient(() => (this.reads ? this.reads.query<ConsentRow>(LIST, bind) : pooledQuery<ConsentRow>(this.sequelize, LIST, bind))),
    );
    const page = rows.slice(0, options.limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toConsent),
      nextCursor: rows.length > options.limit && last ? encodeCursor({ t: last.micros!, i: last.user_id }) : null,
    };
  }
}
