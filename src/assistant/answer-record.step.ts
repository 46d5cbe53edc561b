import type { ChargeOutcome } from '../credits/credit.service.js';
import type { Caller } from '../identity/caller.js';
import { AppError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import type { QueryOutcome } from './assistant.service.js';
import type { AnswerFinish, FinishRequest, FinishResult } from './gate/answer-finish.js';
import { userKind, type HoldStep } from './hold.step.js';
import type { IdempotencyStep, OwnRecord } from './idempotency.step.js';

/**
 * Records the answer and settles its hold, the step before the 200: with an Idempotency-Key,
 * the record's outcome and the settle are one step (both or neither); without, the settle
 * alone. A hold that is no longer open (the sweep refunded it, or another attempt took the
 * record over) gets no 200: the shopper is told to try again, and is not charged for this one.
 */
export class AnswerRecordStep {
  constructor(private readonly deps: { idempotency: IdempotencyStep; holds: HoldStep; logger: Logger }) {}

  /**
   * Settles a fresh answer's hold with its cache entry and turn in one step (AnswerFinish), and
   * with an Idempotency-Key records the answer with the settle (both or neither); resolves
   * whether the turn was kept. When the step's outcome is unknown the hold decides, as after any
   * settle; the turn is then left to the caller.
   */
  async finish(
    caller: Caller,
    finish: AnswerFinish,
    charge: ChargeOutcome & { chargeId: string },
    result: QueryOutcome,
    record: OwnRecord | undefined,
    riders: Omit<FinishRequest, 'userId' | 'chargeId' | 'record'>,
  ): Promise<{ turnKept: boolean }> {
    let outcome: FinishResult;
    try {
      outcome = await finish.finish({ userId: caller.userId, chargeId: charge.chargeId, ...riders, record: record && this.deps.idempotency.completion(record, result) });
    } catch (err) {
      const recorded = await this.deps.holds.decide(caller, charge.chargeId, result.body.creditsCharged, err);
      if (!recorded) this.notRecorded(caller, charge, record);
      // Found settled: the finish settles this hold with its record and turn, all or nothing, so
      // they were kept with it. (With a key, the hold may instead have been settled by the attempt
      // that took the record over; this answer then goes out without a turn of its own kept.)
      return { turnKept: riders.turn !== undefined };
    }
    if (record ? !outcome.recorded : outcome.settle !== 'settled') this.notRecorded(caller, charge, record);
    return { turnKept: outcome.turnKept };
  }

  /** `cacheKey`: the cache entry holding the answer, which the idempotency record may refer to. */
  async record(caller: Caller, charge: ChargeOutcome, result: QueryOutcome, record: OwnRecord | undefined, cacheKey?: string): Promise<void> {
    const { idempotency, holds } = this.deps;
    let recorded: boolean;
    try {
      recorded = record ? await idempotency.complete(caller, record, result, charge.chargeId, cacheKey) : await holds.settle(caller, charge);
    } catch (err) {
      // The statement's outcome is unknown: it timed out or lost its connection, and may still
      // commit. That is never answered 503 as it stands (a charged answer would be lost): the
      // hold decides, below. Without a hold there is no charge to lose.
      if (charge.chargeId === null) throw err;
      recorded = await holds.decide(caller, charge.chargeId, result.body.creditsCharged, err);
    }
    if (recorded) return;
    this.notRecorded(caller, charge, record);
  }

  /**
   * Nothing was recorded or settled: the hold is refunded (or belongs to the attempt that took
   * the record over), so this attempt's record may go, and the shopper is told to try again.
   */
  private notRecorded(caller: Caller, charge: ChargeOutcome, record: OwnRecord | undefined): never {
    if (record) record.chargeMayStand = false;
    this.tooLate(caller, charge);
  }

  private tooLate(caller: Caller, charge: ChargeOutcome): never {
    this.deps.logger.warn({ chargeId: charge.chargeId, userKind: userKind(caller) }, 'an answer came too late for its hold: not recorded, not charged');
    throw new AppError('SERVICE_UNAVAILABLE', 'The answer took too long to record and was not charged; please try again.', {
      headers: { 'Retry-After': '1' },
    });
  }
}
