import { z } from 'zod';
import { text } from '../http/text.schemas.js';
import { pageQueryShape } from '../http/pagination.schemas.js';
import { callerFromUserId } from '../identity/caller.js';
import type { CreditAccount, CreditTransaction } from './credit.repository.js';

/** `{userId}` of the operator routes: a guest id or a registered user's id. */
export const userIdParams = z.object({
  userId: z.string().refine((id) => callerFromUserId(id) !== undefined, {
    message: 'guest_<uuid> or 1–128 of A–Z a–z 0–9 _ . : @ - (not starting with guest_)',
  }),
});

export const creditsResponse = z.object({
  userId: z.string(),
  isGuest: z.boolean(),
  available: z.number().int().min(0),
  max: z.number().int().positive(),
  lastResetAt: z.iso.datetime(),
  resetsAt: z.iso.datetime(),
});
export type CreditsResponse = z.infer<typeof creditsResponse>;

export function toCreditsResponse(a: CreditAccount): CreditsResponse {
  return {
    userId: a.userId,
    isGuest: a.isGuest,
    available: a.available,
    max: a.max,
    lastResetAt: a.lastResetAt.toISOString(),
    resetsAt: a.resetsAt.toISOString(),
  };
}

export const transactionsQuery = z.object({
  ...pageQueryShape,
});

export const transactionItem = z.object({
  id: z.string(),
  type: z.enum(['grant', 'debit', 'refund', 'reset', 'adjustment', 'carryover']),
  amount: z.number().int(),
  balanceAfter: z.number().int().min(0),
  description: z.string().nullable(),
  createdAt: z.iso.datetime(),
});

export const transactionsResponse = z.object({
  items: z.array(transactionItem),
  nextCursor: z.string().nullable(),
});
export type TransactionsResponse = z.infer<typeof transactionsResponse>;

export function toTransactionItem(t: CreditTransaction): z.infer<typeof transactionItem> {
  return { id: t.id, type: t.type, amount: t.amount, balanceAfter: t.balanceAfter, description: t.description, createdAt: t.createdAt.toISOString() };
}

export const adjustBody = z.strictObject({
  amount: z
    .number()
    .int('a whole number')
    .min(-1_000_000, 'from -1000000 to 1000000')
    .max(1_000_000, 'from -1000000 to 1000000')
    .refine((n) => n !== 0, 'not 0'),
  reason: text(1, 500),
});

/** GET /api/v1/admin/ledger/verify. */
export const ledgerReportResponse = z.object({
  users: z.number().int().min(0).describe('Credit rows checked'),
  mismatched: z.number().int().min(0).describe('Users whose `available` differs from the sum of their ledger entries'),
  negative: z.number().int().min(0).describe('Balances below 0'),
  openHolds: z.number().int().min(0).describe('Charges held and not yet settled or refunded'),
  expiredHolds: z.number().int().min(0).describe('Open holds past CHARGE_HOLD_SECONDS that no sweep has refunded yet'),
  examples: z.array(z.string()).max(10).describe('Up to 10 offending user ids'),
});
export type LedgerReportResponse = z.infer<typeof ledgerReportResponse>;
