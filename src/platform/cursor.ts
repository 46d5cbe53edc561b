/**
 * Opaque keyset cursors for "newest first" pages: the sort key of the last row of a page
 * (a timestamp string the backend understands and a tie-breaking id), base64url-encoded JSON.
 * Clients treat them as opaque; a cursor that does not decode is `undefined` (the service
 * answers 400 VALIDATION_FAILED).
 */
export interface CursorKey {
  /** The sort timestamp, in the backend's own precision (e.g. microseconds since the epoch). */
  t: string;
  /** The tie-breaker: a row id or a user id. */
  i: string;
}

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify([key.t, key.i]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string, timestampPattern: RegExp = /^\d{1,20}$/): CursorKey | undefined {
  if (cursor.length === 0 || cursor.length > 512 || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(parsed) || parsed.length !== 2) return undefined;
    const [t, i] = parsed as unknown[];
    if (typeof t !== 'string' || typeof i !== 'string' || !timestampPattern.test(t) || i.length === 0 || i.length > 128) return undefined;
    return { t, i };
  } catch {
    return undefined;
  }
}

/** A page of a keyset-paginated listing. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Thrown by repositories for a cursor that did not come from them. */
export class InvalidCursorError extends Error {
  constructor() {
    super('The cursor is not valid.');
    this.name = 'InvalidCursorError';
  }
}
