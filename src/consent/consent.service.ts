import { InvalidCursorError, type Page } from '../platform/cursor.js';
import { AppError } from '../platform/errors.js';
import type { Caller } from '../identity/caller.js';
import type { Consent, ConsentChoice, ConsentListOptions, ConsentRepository } from './consent.repository.js';

/** Consent that gates the assistant: the caller's own record, and the operators' listing. */
export class ConsentService {
  constructor(private readonly repository: ConsentRepository) {}

  async get(caller: Caller): Promise<Consent> {
    const consent = await this.repository.get(caller.userId);
    if (!consent) throw new AppError('CONSENT_NOT_FOUND', 'No consent has been recorded for this user.');
    return consent;
  }

  /** Deletes the consent records of these users (accounts being deleted). */
  forget(userIds: string[]): Promise<number> {
    return this.repository.deleteMany(userIds);
  }

  /** The caller's consent, or undefined when none was recorded (for gates that decide themselves). */
  find(caller: Caller): Promise<Consent | undefined> {
    return this.repository.get(caller.userId);
  }

  record(caller: Caller, choice: ConsentChoice): Promise<Consent> {
    return this.repository.record(caller.userId, choice);
  }

  async list(options: ConsentListOptions): Promise<Page<Consent>> {
    try {
      return await this.repository.list(options);
    } catch (err) {
      if (err instanceof InvalidCursorError) {
        throw new AppError('VALIDATION_FAILED', 'The cursor is not valid.', {
          details: [{ path: 'cursor', message: 'not a cursor from a previous page' }],
        });
      }
      throw err;
    }
  }
}
