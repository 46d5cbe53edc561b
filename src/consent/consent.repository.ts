import type { Page } from '../platform/cursor.js';

export interface Consent {
  userId: string;
  termsAccepted: boolean;
  marketingConsent: boolean;
  /** When consent was first recorded. */
  recordedAt: Date;
  /** The last change (a PUT that changes nothing leaves it as it was). */
  updatedAt: Date;
}

export interface ConsentChoice {
  termsAccepted: boolean;
  marketingConsent: boolean;
}

export interface ConsentListOptions {
  /** Only records with this marketing choice; unset = all. */
  marketingConsent?: boolean;
  limit: number;
  cursor?: string;
}

/**
 * One consent record per user. Rules every backend keeps:
 * - `get` resolves `undefined` for a user who never recorded consent.
 * - `record` upserts atomically: the first call sets `recordedAt = updatedAt = now`; later
 *   calls keep `recordedAt` and move `updatedAt` only when a value changes. Concurrent calls
 *   leave exactly one record.
 * - `list` is newest first by `recordedAt` (then user id, descending); the cursor resumes after
 *   the previous page's last record, so records that arrive or change meanwhile never shift a
 *   page. A cursor that did not come from the backend throws `InvalidCursorError`.
 */
export interface ConsentRepository {
  get(userId: string): Promise<Consent | undefined>;
  record(userId: string, choice: ConsentChoice): Promise<Consent>;
  list(options: ConsentListOptions): Promise<Page<Consent>>;
  /** Deletes the consent records of these users (those that have one); resolves how many went. */
  deleteMany(userIds: string[]): Promise<number>;
}
