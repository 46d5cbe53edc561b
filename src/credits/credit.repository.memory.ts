// Over 300 lines: the memory twin of every CreditRepository operation (charges, holds, settles,
// sweeps, resets, the ledger and its cleanup), kept in one class so its semantics can be read
// against credit.sql.ts; the same contract suite runs on both.
import type { Caller } from '../identity/caller.js';
import { decodeCursor, encodeCursor, InvalidCursorError, type Page } from '../platform/cursor.js';
import {
  allowanceFor,
  chargeKey,
  type AdjustResult,
  type ChargeRequest,
  type ChargeResult,
  type CreditAccount,
  type CreditPolicy,
  type CreditRepository,
  type CreditTransaction,
  GrantListeners,
  type GrantListener,
  type HoldState,
  type LedgerReport,
  type ListOptions,
  type RefundResult,
  type SettleResult,
  type SweptHold,
  type TransactionType,
} from './credit.repository.js';

interface Row {
  userId: string;
  isGuest: boolean;
  available: number;
  max: number;
  lastResetAt: number;
  /** When a change last touched the row (creation, charge, refund, reset, adjustment). */
  touchedAt: number;
}

interface Entry extends CreditTransaction {
  seq: number;
  idempotencyKey: string | null;
}

interface Hold {
  userId: string;
  amount: number;
  state: HoldState;
  createdAt: number;
  expiresAt: number;
}

const SWEEP_DESCRIPTION = 'Refund: the answer was not recorded in time';

/**
 * Balances in process memory (STORAGE_BACKEND=memory, one process). Every operation runs to its
 * end without awaiting, so it is atomic by construction; the rules are those of the interface.
 */
export class MemoryCreditRepository implements CreditRepository {
  private readonly rows = new Map<string, Row>();
  private readonly ledgers = new Map<string, Entry[]>();
  /** By charge id (the debit entry's id). */
  private readonly holds = new Map<string, Hold>();
  private seq = 0;
  private readonly grants = new GrantListeners();

  constructor(
    private readonly policy: CreditPolicy,
    private readonly now: () => Date = () => new Date(),
  ) {}

  onGranted(listener: GrantListener): () => void {
    return this.grants.add(listener);
  }

  async getOrCreate(caller: Caller): Promise<CreditAccount> {
    return this.account(this.touch(caller));
  }

  async ensure(caller: Caller): Promise<void> {
    if (!this.rows.has(caller.userId)) this.touch(caller);
  }

  async find(userId: string): Promise<CreditAccount | undefined> {
    const row = this.rows.get(userId);
    return row && this.account(this.lazyReset(row));
  }

  async charge(caller: Caller, request: ChargeRequest): Promise<ChargeResult> {
    const row = this.touch(caller);
    const key = request.idempotencyKey === undefined ? null : chargeKey(request.idempotencyKey);
    const prior = key === null ? undefined : this.ledger(row.userId).find((e) => e.idempotencyKey === key);
    if (prior) {
      return prior.type === 'debit' && prior.amount === -request.cost
        ? { kind: 'replayed', chargeId: prior.id, balanceAfter: prior.balanceAfter, hold: this.holds.get(prior.id)?.state ?? null, account: this.account(row) }
        : { kind: 'conflict', priorChargeId: prior.id, account: this.account(row) };
    }
    if (row.available < request.cost) return { kind: 'insufficient', account: this.account(row) };
    if (request.cost === 0) return { kind: 'charged', chargeId: null, account: this.account(row) };
    const entry = this.write(row, 'debit', -request.cost, request.description, key);
    if (request.holdMs !== undefined) {
      const at = entry.createdAt.getTime();
      this.holds.set(entry.id, { userId: row.userId, amount: request.cost, state: 'held', createdAt: at, expiresAt: at + request.holdMs });
    }
    return { kind: 'charged', chargeId: entry.id, account: this.account(row) };
  }

  async refund(caller: Caller, chargeId: string, description: string): Promise<RefundResult> {
    const row = this.rows.get(caller.userId);
    if (!row) return { kind: 'charge_not_found' };
    this.lazyReset(row);
    const ledger = this.ledger(row.userId);
    const charge = ledger.find((e) => e.id === chargeId && e.type === 'debit');
    const hold = this.holdOf(row.userId, chargeId);
    if (!charge && !hold) return { kind: 'charge_not_found' };
    const key = `refund:${chargeId}`;
    if (hold?.state === 'settled') return { kind: 'settled', account: this.account(row) };
    if (hold?.state === 'refunded' || ledger.some((e) => e.idempotencyKey === key)) return { kind: 'already_refunded', account: this.account(row) };
    const entry = this.write(row, 'refund', hold ? hold.amount : -charge!.amount, description, key);
    if (hold) hold.state = 'refunded';
    return { kind: 'refunded', refundId: entry.id, account: this.account(row) };
  }

  async settle(userId: string, chargeId: string): Promise<SettleResult> {
    const hold = this.holdOf(userId, chargeId);
    if (!hold) return 'not_found';
    if (hold.state === 'held') hold.state = 'settled';
    return hold.state;
  }

  /**
   * Settles an open hold without a turn of the event loop, for the memory idempotency store, which
   * records an answer and settles its hold as one step: true only when this call settled it (as
   * the PostgreSQL store requires the hold open).
   */
  settleNow(userId: string, chargeId: string): boolean {
    const hold = this.holdOf(userId, chargeId);
    if (hold?.state !== 'held') return false;
    hold.state = 'settled';
    return true;
  }

  async refundExpiredHolds(limit: number): Promise<SweptHold[]> {
    const now = this.now().getTime();
    const due = [...this.holds.entries()]
      .filter(([, h]) => h.state === 'held' && h.expiresAt <= now)
      .sort(([, a], [, b]) => a.expiresAt - b.expiresAt)
      .slice(0, limit);
    const swept: SweptHold[] = [];
    for (const [chargeId, hold] of due) {
      const row = this.rows.get(hold.userId);
      if (!row) continue;
      this.lazyReset(row);
      this.write(row, 'refund', hold.amount, SWEEP_DESCRIPTION, `refund:${chargeId}`);
      hold.state = 'refunded';
      swept.push({ userId: hold.userId, chargeId, amount: hold.amount });
    }
    return swept;
  }

  async verifyLedger(): Promise<LedgerReport> {
    const now = this.now().getTime();
    const offenders = new Set<string>();
    let mismatched = 0;
    let negative = 0;
    for (const userId of new Set([...this.rows.keys(), ...this.ledgers.keys()])) {
      const available = this.rows.get(userId)?.available ?? 0;
      const total = (this.ledgers.get(userId) ?? []).reduce((sum, e) => sum + e.amount, 0);
      if (available !== total) {
        mismatched++;
        offenders.add(userId);
      }
      if (available < 0) {
        negative++;
        offenders.add(userId);
      }
    }
    let openHolds = 0;
    let expiredHolds = 0;
    for (const hold of this.holds.values()) {
      if (hold.state !== 'held') continue;
      openHolds++;
      if (hold.expiresAt <= now) {
        expiredHolds++;
        offenders.add(hold.userId);
      }
    }
    return { users: this.rows.size, mismatched, negative, openHolds, expiredHolds, examples: [...offenders].sort().slice(0, 10) };
  }

  async adjust(userId: string, amount: number, reason: string): Promise<AdjustResult | undefined> {
    const row = this.rows.get(userId);
    if (!row) return undefined;
    this.lazyReset(row);
    if (row.available + amount < 0) return { kind: 'would_be_negative', account: this.account(row) };
    this.write(row, 'adjustment', amount, reason, null);
    return { kind: 'adjusted', account: this.account(row) };
  }

  async reset(userId: string): Promise<CreditAccount | undefined> {
    const row = this.rows.get(userId);
    if (!row) return undefined;
    this.applyReset(row, 'Allowance reset by an operator');
    return this.account(row);
  }

  async listTransactions(userId: string, options: ListOptions): Promise<Page<CreditTransaction>> {
    let after: { t: number; seq: number } | undefined;
    if (options.cursor !== undefined) {
      const key = decodeCursor(options.cursor);
      if (!key || !/^\d+$/.test(key.i)) throw new InvalidCursorError();
      after = { t: Number(key.t), seq: Number(key.i) };
    }
    const sorted = [...this.ledger(userId)].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.seq - a.seq);
    const rest = after
      ? sorted.filter((e) => e.createdAt.getTime() < after.t || (e.createdAt.getTime() === after.t && e.seq < after.seq))
      : sorted;
    const page = rest.slice(0, options.limit);
    const last = page[page.length - 1];
    return {
      items: page.map(({ id, type, amount, balanceAfter, description, createdAt }) => ({ id, type, amount, balanceAfter, description, createdAt })),
      nextCursor: rest.length > options.limit && last ? encodeCursor({ t: String(last.createdAt.getTime()), i: String(last.seq) }) : null,
    };
  }

  async cleanupTransactions(olderThan: Date, batchSize: number): Promise<number> {
    let deleted = 0;
    const cutoff = olderThan.getTime();
    // Holds with an outcome go with the ledger entries of their age; open ones stay.
    for (const [chargeId, hold] of this.holds) if (hold.state !== 'held' && hold.createdAt < cutoff) this.holds.delete(chargeId);
    for (;;) {
      const users = [...this.ledgers.entries()]
        .filter(([, ledger]) => ledger.some((e) => e.type !== 'carryover' && e.createdAt.getTime() < cutoff))
        .slice(0, batchSize);
      if (users.length === 0) return deleted;
      for (const [userId, ledger] of users) {
        const old = ledger.filter((e) => e.createdAt.getTime() < cutoff).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.seq - b.seq);
        const kept = ledger.filter((e) => e.createdAt.getTime() >= cutoff);
        deleted += old.filter((e) => e.type !== 'carryover').length;
        const sum = old.reduce((s, e) => s + e.amount, 0);
        const newest = old[old.length - 1];
        if (sum !== 0) {
          kept.push(this.entry(userId, 'carryover', sum, newest.balanceAfter, 'Carried over from entries past retention', null, newest.createdAt));
        }
        this.ledgers.set(userId, kept);
      }
    }
  }

  async idleGuests(idleSince: Date, limit: number): Promise<string[]> {
    return [...this.rows.values()]
      .filter((r) => r.isGuest && r.touchedAt < idleSince.getTime())
      .sort((a, b) => a.touchedAt - b.touchedAt)
      .slice(0, limit)
      .map((r) => r.userId);
  }

  async deleteIdleGuests(userIds: string[], idleSince: Date): Promise<number> {
    let deleted = 0;
    for (const userId of userIds) {
      const row = this.rows.get(userId);
      if (!row?.isGuest || row.touchedAt >= idleSince.getTime()) continue;
      // An account with a charge still held stays until the sweep has ended that hold.
      const holds = [...this.holds].filter(([, h]) => h.userId === userId);
      if (holds.some(([, h]) => h.state === 'held')) continue;
      for (const [chargeId] of holds) this.holds.delete(chargeId);
      this.rows.delete(userId);
      this.ledgers.delete(userId);
      deleted++;
    }
    return deleted;
  }

  // ---- internals -------------------------------------------------------------------------

  private holdOf(userId: string, chargeId: string): Hold | undefined {
    const hold = this.holds.get(chargeId);
    return hold?.userId === userId ? hold : undefined;
  }

  /** The caller's row, created on first use, with any due reset applied. */
  private touch(caller: Caller): Row {
    let row = this.rows.get(caller.userId);
    if (!row) {
      const allowance = allowanceFor(this.policy, caller.isGuest);
      row = { userId: caller.userId, isGuest: caller.isGuest, available: 0, max: allowance, lastResetAt: this.now().getTime(), touchedAt: this.now().getTime() };
      this.rows.set(caller.userId, row);
      this.write(row, 'grant', allowance, 'Initial allowance', null);
      this.grants.emit({ isGuest: row.isGuest, amount: allowance, reason: 'grant' });
      return row;
    }
    return this.lazyReset(row);
  }

  private lazyReset(row: Row): Row {
    if (this.now().getTime() >= row.lastResetAt + this.policy.resetPeriodMs) this.applyReset(row, 'Allowance reset');
    return row;
  }

  private applyReset(row: Row, description: string): void {
    const allowance = allowanceFor(this.policy, row.isGuest);
    const difference = allowance - row.available;
    row.max = allowance;
    row.lastResetAt = this.now().getTime();
    row.touchedAt = row.lastResetAt;
    if (difference !== 0) this.write(row, 'reset', difference, description, null);
    this.grants.emit({ isGuest: row.isGuest, amount: difference, reason: 'reset' });
  }

  private write(row: Row, type: TransactionType, amount: number, description: string | null, idempotencyKey: string | null): Entry {
    if (row.available + amount < 0) throw new Error('a ledger entry would take the balance below zero');
    row.available += amount;
    row.touchedAt = this.now().getTime();
    const entry = this.entry(row.userId, type, amount, row.available, description, idempotencyKey, this.now());
    this.ledger(row.userId).push(entry);
    return entry;
  }

  private entry(userId: string, type: TransactionType, amount: number, balanceAfter: number, description: string | null, idempotencyKey: string | null, at: Date): Entry {
    const seq = ++this.seq;
    if (!this.ledgers.has(userId)) this.ledgers.set(userId, []);
    return { id: String(seq), seq, type, amount, balanceAfter, description, createdAt: new Date(at.getTime()), idempotencyKey };
  }

  private ledger(userId: string): Entry[] {
    let ledger = this.ledgers.get(userId);
    if (!ledger) {
      ledger = [];
      this.ledgers.set(userId, ledger);
    }
    return ledger;
  }

  private account(row: Row): CreditAccount {
    return {
      userId: row.userId,
      isGuest: row.isGuest,
      available: row.available,
      max: row.max,
      lastResetAt: new Date(row.lastResetAt),
      resetsAt: new Date(row.lastResetAt + this.policy.resetPeriodMs),
    };
  }
}
