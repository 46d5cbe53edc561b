import { decodeCursor, encodeCursor, InvalidCursorError, type Page } from '../platform/cursor.js';
import type { Consent, ConsentChoice, ConsentListOptions, ConsentRepository } from './consent.repository.js';

/** Consent records in process memory (STORAGE_BACKEND=memory). */
export class MemoryConsentRepository implements ConsentRepository {
  private readonly records = new Map<string, Consent>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  async get(userId: string): Promise<Consent | undefined> {
    const r = this.records.get(userId);
    return r && { ...r };
  }

  async record(userId: string, choice: ConsentChoice): Promise<Consent> {
    const now = this.now();
    const existing = this.records.get(userId);
    const changed = !existing || existing.termsAccepted !== choice.termsAccepted || existing.marketingConsent !== choice.marketingConsent;
    const next: Consent = {
      userId,
      ...choice,
      recordedAt: existing?.recordedAt ?? now,
      updatedAt: changed ? now : existing.updatedAt,
    };
    this.records.set(userId, next);
    return { ...next };
  }

  async deleteMany(userIds: string[]): Promise<number> {
    let deleted = 0;
    for (const userId of userIds) if (this.records.delete(userId)) deleted++;
    return deleted;
  }

  async list(options: ConsentListOptions): Promise<Page<Consent>> {
    let after: { t: number; userId: string } | undefined;
    if (options.cursor !== undefined) {
      const key = decodeCursor(options.cursor);
      if (!key) throw new InvalidCursorError();
      after = { t: Number(key.t), userId: key.i };
    }
    const rows = [...this.records.values()]
      .filter((r) => options.marketingConsent === undefined || r.marketingConsent === options.marketingConsent)
      .sort((a, b) => b.recordedAt.getTime() - a.recordedAt.getTime() || (a.userId < b.userId ? 1 : a.userId > b.userId ? -1 : 0))
      .filter((r) => !after || r.recordedAt.getTime() < after.t || (r.recordedAt.getTime() === after.t && r.userId < after.userId));
    const page = rows.slice(0, options.limit);
    const last = page[page.length - 1];
    return {
      items: page.map((r) => ({ ...r })),
      nextCursor: rows.length > options.limit && last ? encodeCursor({ t: String(last.recordedAt.getTime()), i: last.userId }) : null,
    };
  }
}
