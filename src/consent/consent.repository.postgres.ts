import { fn, literal, Op, type ModelStatic, type Sequelize } from 'sequelize';
import { decodeCursor, encodeCursor, InvalidCursorError, type Page } from '../platform/cursor.js';
import { findLagTolerant } from '../platform/model-reads.js';
import { pooledQuery, statement } from '../platform/pooled-query.js';
import { guardedReads } from '../platform/batcher.js';
import type { ReplicaReads } from '../platform/replica-reads.js';
import { guardedOptions, type StorageGuard } from '../platform/storage-guard.js';
import { retryTransient } from '../platform/transient-retry.js';
import { consentModel, type UserConsentRow } from './consent.models.js';
import type { Consent, ConsentChoice, ConsentListOptions, ConsentRepository } from './consent.repository.js';

/** A `user_consents` row as the hot-path reads select it (the query gate's too). */
export interface ConsentRow {
  user_id: string;
  terms_accepted: boolean;
  marketing_consent: boolean;
  timestamp: Date;
  updated_at: Date;
}

export const toConsent = (r: ConsentRow): Consent => ({
  userId: r.user_id,
  termsAccepted: r.terms_accepted,
  marketingConsent: r.marketing_consent,
  recordedAt: r.timestamp,
  updatedAt: r.updated_at,
});

const fromModel = (r: Pick<UserConsentRow, 'userId' | 'termsAccepted' | 'marketingConsent' | 'timestamp' | 'updatedAt'>): Consent => ({
  userId: r.userId,
  termsAccepted: r.termsAccepted,
  marketingConsent: r.marketingConsent,
  recordedAt: r.timestamp,
  updatedAt: r.updatedAt,
});

/** The consent check of every assistant query: batched and planned (docs/adr/0010-models-off-the-hot-path.md). */
const GET_MANY = statement('consent_get', `SELECT user_id, terms_accepted, marketing_consent, "timestamp", updated_at FROM user_consents WHERE user_id = ANY($1::varchar[])`);

const ATTRIBUTES = ['userId', 'termsAccepted', 'marketingConsent', 'timestamp', 'updatedAt'] as const;

/**
 * Consent records in `user_consents`. `get` is on every assistant query: concurrent ones share
 * one planned statement (see guardedReads); writes, deletes and the operator list go through the
 * model. Every call is safe to repeat.
 */
export class PostgresConsentRepository implements ConsentRepository {
  private readonly load: (userId: string) => Promise<Consent | undefined>;
  private readonly consents: ModelStatic<UserConsentRow>;

  constructor(
    private readonly sequelize: Sequelize,
    private readonly guard: StorageGuard,
    private readonly now?: () => Date,
    /** Where operator lists are read (a replica within the lag limit, else the primary); unset = the primary. */
    private readonly reads?: ReplicaReads,
  ) {
    this.consents = consentModel(sequelize);
    this.load = guardedReads(this.guard, 'consent.get', async (userIds) => {
      const rows = await retryTransient(() => pooledQuery<ConsentRow>(this.sequelize, GET_MANY, [userIds]));
      return new Map(rows.map((r) => [r.user_id, toConsent(r)]));
    });
  }

  get(userId: string): Promise<Consent | undefined> {
    return this.load(userId);
  }

  /**
   * One write per call, each a single statement: the row is inserted unless it exists; else it
   * is updated only where a value differs (`updated_at` moves with it); else it is read as it
   * stands. Both timestamps are the database's clock (or the fixed one of a test).
   */
  async record(userId: string, choice: ConsentChoice): Promise<Consent> {
    // Always an SQL expression, never a Date: an insert that found the record already there
    // hands the instance back with this expression in place of the returned row's Date.
    // (Typed as the column's Date: Sequelize writes an expression as SQL.)
    const now = () => (this.now ? this.sequelize.cast(this.now().toISOString(), 'timestamptz') : fn('statement_timestamp')) as unknown as Date;
    const row = await this.guard.run('consent.record', (call) =>
      retryTransient(async () => {
        // A record deleted between the insert and the update is inserted again.
        for (let attempt = 0; attempt < 3; attempt++) {
          const [inserted] = await this.consents.bulkCreate(
            [{ userId, ...choice, timestamp: now(), updatedAt: now() }],
            guardedOptions(call, { ignoreDuplicates: true, returning: true }),
          );
          if (inserted?.timestamp instanceof Date) return inserted;
          const [, updated] = await this.consents.update(
            { ...choice, updatedAt: now() },
            guardedOptions(call, {
              where: { userId, [Op.or]: [{ termsAccepted: { [Op.ne]: choice.termsAccepted } }, { marketingConsent: { [Op.ne]: choice.marketingConsent } }] },
              returning: true,
            }),
          );
          if (updated[0]) return updated[0];
          const unchanged = await this.consents.findByPk(userId, guardedOptions(call, {}));
          if (unchanged) return unchanged;
        }
        throw new Error(`consent record of ${userId} vanished while it was recorded`);
      }),
    );
    return fromModel(row);
  }

  async deleteMany(userIds: string[]): Promise<number> {
    if (userIds.length === 0) return 0;
    return this.guard.run('consent.deleteMany', (call) => retryTransient(() => this.consents.destroy(guardedOptions(call, { where: { userId: userIds } }))));
  }

  async list(options: ConsentListOptions): Promise<Page<Consent>> {
    let after: { micros: string; userId: string } | undefined;
    if (options.cursor !== undefined) {
      const key = decodeCursor(options.cursor);
      if (!key || key.t.length > 18) throw new InvalidCursorError();
      after = { micros: key.t, userId: key.i };
    }
    const escape = (v: string) => this.sequelize.escape(v);
    const where = {
      ...(options.marketingConsent === undefined ? {} : { marketingConsent: options.marketingConsent }),
      ...(after
        ? {
            [Op.and]: [
              literal(
                `("timestamp", user_id COLLATE "C") < (to_timestamp(0) + (${escape(after.micros)}::bigint / 1000000) * interval '1 second' + (${escape(after.micros)}::bigint % 1000000) * interval '1 microsecond', ${escape(after.userId)}::varchar COLLATE "C")`,
              ),
            ],
          }
        : {}),
    };
    // An operator list may lag (DB_REPLICA_MAX_LAG_SECONDS); a consent check (`get`) never does.
    const rows = await this.guard.run('consent.list', () =>
      retryTransient(() =>
        findLagTolerant<UserConsentRow, Pick<UserConsentRow, (typeof ATTRIBUTES)[number]> & { micros: string }>(
          this.consents,
          {
            attributes: [...ATTRIBUTES, [literal('(extract(epoch FROM "timestamp") * 1000000)::bigint::text'), 'micros']],
            where,
            order: [literal('"timestamp" DESC'), literal('user_id COLLATE "C" DESC')],
            limit: options.limit + 1,
          },
          this.reads,
        ),
      ),
    );
    const page = rows.slice(0, options.limit);
    const last = page[page.length - 1];
    return {
      items: page.map(fromModel),
      nextCursor: rows.length > options.limit && last ? encodeCursor({ t: last.micros, i: last.userId }) : null,
    };
  }
}
