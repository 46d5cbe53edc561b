import { createHash } from 'node:crypto';
import { ChargeConflictError, type ChargeOutcome, type CreditService } from '../credits/credit.service.js';
import type { ChargeResult, CreditAccount } from '../credits/credit.repository.js';
import type { GateCharge } from './gate/query-gate.js';
import type { Caller } from '../identity/caller.js';
import { isAppError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import type { Clock } from './clock.js';
import type { IdempotencyStep, OwnRecord } from './idempotency.step.js';

const REFUND_DESCRIPTION = 'Refund: the assistant could not answer';
/** Backoff between tries of the refund that decides a hold whose settle has an unknown outcome. */
const DECIDE_BACKOFF_MS = 100;
const DECIDE_BACKOFF_MAX_MS = 1000;

export interface HoldSettings {
  /** How long a charge stays held before the sweep refunds it (CHARGE_HOLD_SECONDS). */
  holdMs: number;
  /** How long the refund that decides a hold whose settle has an unknown outcome is tried while the database is out of reach. */
  decideWindowMs: number;
  /**
   * The longest one try of that refund can take (the database guard's bound): a try is started
   * only if it can end within the window, so the window, and the request budget that counts it,
   * holds even when every try hangs.
   */
  decideTryMs?: number;
}

/**
 * The query route's charge, as a hold, and each way it ends: `charge` takes it (adopting a
 * crashed attempt's open hold, or giving back one it cannot adopt), `settle` makes it stand (a
 * request without an Idempotency-Key; with one, the record's completion settles it), `refund`
 * gives it back after a failure, and `decide` settles the question of a hold whose settle has an
 * unknown outcome. A hold nobody ends is refunded by the sweep within CHARGE_HOLD_SECONDS, so no
 * refund waits in this process's memory and none is lost to a restart.
 */
export class HoldStep {
  constructor(
    private readonly deps: { credits: CreditService; idempotency: IdempotencyStep; metrics: Metrics; logger: Logger; clock: Clock },
    private readonly settings: HoldSettings,
  ) {}

  /**
   * Takes the request's charge as a hold. With an Idempotency-Key its ledger key comes from the
   * record's charge token, so a retry that took a crashed attempt's record over replays that
   * attempt's charge and adopts its open hold instead of charging twice. A replayed charge whose
   * hold is no longer open (refunded by the sweep) cannot be adopted, nor can one of another cost:
   * the record gets a new charge token and the retry is charged afresh. `read`: the balance as
   * the query gate read it, which answers a charge of 0 without another statement. `taken`: the
   * query gate's result of this very charge (`asked` gave it, under `ledgerKey`), which stands for
   * the first charge statement.
   */
  async charge(
    caller: Caller,
    cost: number,
    description: string,
    record: OwnRecord | undefined,
    read?: CreditAccount,
    taken?: ChargeResult,
  ): Promise<ChargeOutcome> {
    // A charge of 0 takes no hold and no ledger key: a balance the gate read answers it.
    if (cost === 0 && read) return this.deps.credits.chargeNothing(read);
    for (let round = 0; ; round++) {
      const ledgerKey = this.ledgerKey(cost, record);
      if (record && cost > 0) record.chargeMayStand = true;
      let outcome: ChargeOutcome;
      try {
        outcome =
          round === 0 && taken
            ? this.deps.credits.outcomeOf(cost, taken)
            : await this.deps.credits.charge(caller, cost, description, ledgerKey, { holdMs: this.settings.holdMs });
      } catch (err) {
        // Refused (402) or clashing: nothing was charged. Anything else may have landed.
        if (record && isAppError(err) && err.status < 500) record.chargeMayStand = false;
        if (record && round === 0 && err instanceof ChargeConflictError) {
          // The key holds the crashed attempt's charge of another cost (a fresh answer then, a
          // cached one now): charge this one afresh, and give that one back now.
          await this.deps.idempotency.renewChargeToken(caller, record);
          await this.refund(caller, { chargeId: err.priorChargeId }, 0, 'its answer changed on retry', undefined);
          continue;
        }
        throw err;
      }
      if (outcome.replayed && outcome.hold !== 'held' && record && round === 0) {
        // That charge has ended (refunded by the sweep): it cannot be adopted.
        await this.deps.idempotency.renewChargeToken(caller, record);
        continue;
      }
      if (cost > 0 && !outcome.replayed) this.deps.metrics.creditsCharged.inc({ user_kind: userKind(caller) }, cost);
      return outcome;
    }
  }

  /**
   * The charge to ask the query gate for (see `charge`'s `taken`): with an Idempotency-Key its
   * ledger key is the record's, as `charge` keys it, so what the gate took is the charge this
   * attempt would take. Marks the record's charge as one that may stand from here on.
   */
  asked(cost: number, description: string, record: OwnRecord | undefined): GateCharge {
    if (record && cost > 0) record.chargeMayStand = true;
    const ledgerKey = this.ledgerKey(cost, record);
    return { cost, description, holdMs: this.settings.holdMs, ...(ledgerKey !== undefined ? { idempotencyKey: ledgerKey } : {}) };
  }

  /** The charge's ledger key: with an Idempotency-Key, the record's charge token's; without one, none (the repository keys it). */
  private ledgerKey(cost: number, record: OwnRecord | undefined): string | undefined {
    // Hashed: the key may be 255 characters, and the ledger column holds 255 in all.
    return record && cost > 0 ? `query:${createHash('sha256').update(`${record.key}\u0000${record.chargeToken}`).digest('hex')}` : undefined;
  }

  /** Settles a request's hold (no Idempotency-Key): true when it stands, false when it was no longer open. */
  async settle(caller: Caller, charge: ChargeOutcome): Promise<boolean> {
    return charge.chargeId === null || (await this.deps.credits.settle(caller, charge.chargeId)) === 'settled';
  }

  /**
   * Decides a hold whose settle (alone, or with its answer's record) has an unknown outcome: the
   * request's own refund takes the hold's row lock, so it either finds the hold settled (the
   * settle, and with it the record, landed: true, the answer goes out) or refunds it (false: not
   * charged). The hold cannot expire meanwhile (it outlives the request budget), so the decision
   * is retried for `decideWindowMs` while the database is out of reach; only when it never
   * answers is the outcome left open: the hold then ends settled (an answer lost on the way) or
   * refunded by the sweep, and the charge id is logged for an operator.
   */
  async decide(caller: Caller, chargeId: string, cost: number, cause: unknown): Promise<boolean> {
    const { credits, metrics, logger, clock } = this.deps;
    let last: unknown = cause;
    // Tries until the window closes (a refused connection fails at once, a hanging one takes the
    // guard's bound): the window is counted in the request budget, so the hold outlives it.
    const deadline = clock.now() + this.settings.decideWindowMs;
    const tryMs = this.settings.decideTryMs ?? 0;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) {
        await clock.sleep(Math.min(DECIDE_BACKOFF_MAX_MS, DECIDE_BACKOFF_MS * 2 ** (attempt - 1), Math.max(0, deadline - clock.now())));
        if (clock.now() >= deadline || clock.now() + tryMs > deadline) break;
      }
      try {
        // Urgent: tried even while the database's breaker is open, which other requests' failures
        // may have opened a moment ago although the database answers again.
        const result = await credits.refund(caller, chargeId, REFUND_DESCRIPTION, { urgent: true });
        if (result === 'refunded') metrics.creditsRefunded.inc({ user_kind: userKind(caller) }, cost);
        return result === 'settled';
      } catch (err) {
        last = err;
      }
    }
    logger.error({ err: last, chargeId, userKind: userKind(caller) }, 'answer outcome unknown: its hold ends settled, or refunded by the sweep');
    throw last;
  }

  /**
   * Gives a charge back: after the assistant failed, or a crashed attempt's hold that a retry
   * cannot adopt. When the database cannot be reached for it, the charge's hold is left to the
   * sweep, which refunds it within CHARGE_HOLD_SECONDS. Never throws.
   */
  async refund(caller: Caller, charge: Pick<ChargeOutcome, 'chargeId'>, cost: number, cause: unknown, record: OwnRecord | undefined): Promise<void> {
    if (!charge.chargeId) return;
    try {
      const result = await this.deps.credits.refund(caller, charge.chargeId, REFUND_DESCRIPTION);
      if (result === 'refunded' && cost > 0) this.deps.metrics.creditsRefunded.inc({ user_kind: userKind(caller) }, cost);
      if (record && result !== 'settled') record.chargeMayStand = false;
    } catch (err) {
      this.deps.logger.error(
        { err, chargeId: charge.chargeId, userKind: userKind(caller), cause: describe(cause) },
        'refund failed; the hold is refunded by the sweep',
      );
    }
  }
}

export function userKind(caller: Caller): 'guest' | 'registered' {
  return caller.isGuest ? 'guest' : 'registered';
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
