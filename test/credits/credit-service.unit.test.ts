import { describe, expect, it } from 'vitest';
import { MemoryCreditRepository } from '../../src/credits/credit.repository.memory.js';
import { CreditService } from '../../src/credits/credit.service.js';
import { AppError } from '../../src/platform/errors.js';
import { TestClock } from '../contracts/clock.js';

const policy = { guestAllowance: 10, registeredAllowance: 100, resetPeriodMs: 24 * 3_600_000 };
const guest = { userId: 'guest_00000000-0000-4000-8000-000000000001', isGuest: true };

function service() {
  const clock = new TestClock();
  return { clock, credits: new CreditService(new MemoryCreditRepository(policy, clock.now), clock.now) };
}

describe('CreditService', () => {
  it('an insufficient charge is 402 with the contract details, the balance headers and Retry-After to the reset', async () => {
    const { clock, credits } = service();
    await credits.charge(guest, 8, 'q');
    clock.advance(3_600_000);
    const err = await credits.charge(guest, 3, 'q').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    const e = err as AppError<'INSUFFICIENT_CREDITS'>;
    expect(e.code).toBe('INSUFFICIENT_CREDITS');
    const resetsAt = new Date(Date.parse('2026-01-02T00:00:00.000Z'));
    expect(e.details).toEqual({ available: 2, required: 3, resetsAt: resetsAt.toISOString() });
    expect(e.headers).toEqual({
      'X-Credits-Remaining': '2',
      'X-Credits-Limit': '10',
      'X-Credits-Reset': String(resetsAt.getTime() / 1000),
      'Retry-After': String(23 * 3600),
    });
  });

  it('returns the balance right after the charge and the charge id; a replay returns the original', async () => {
    const { credits } = service();
    const first = await credits.charge(guest, 2, 'q', 'key-1');
    expect(first).toMatchObject({ replayed: false, balanceAfter: 8, chargeId: expect.any(String) });
    await credits.charge(guest, 1, 'other');
    const again = await credits.charge(guest, 2, 'q', 'key-1');
    expect(again).toMatchObject({ replayed: true, balanceAfter: 8, chargeId: first.chargeId, account: { available: 7 } });
  });

  it('the same key for another cost is 409 IDEMPOTENCY_CONFLICT', async () => {
    const { credits } = service();
    await credits.charge(guest, 2, 'q', 'key-2');
    await expect(credits.charge(guest, 1, 'q', 'key-2')).rejects.toMatchObject({ code: 'IDEMPOTENCY_CONFLICT' });
  });

  it('operator calls on an unknown user are 404 USER_NOT_FOUND; an adjustment below zero is 409', async () => {
    const { credits } = service();
    await expect(credits.find('nobody')).rejects.toMatchObject({ code: 'USER_NOT_FOUND' });
    await expect(credits.adjust('nobody', 1, 'x')).rejects.toMatchObject({ code: 'USER_NOT_FOUND' });
    await expect(credits.reset('nobody')).rejects.toMatchObject({ code: 'USER_NOT_FOUND' });
    await credits.get(guest);
    await expect(credits.adjust(guest.userId, -11, 'x')).rejects.toMatchObject({ code: 'BALANCE_WOULD_BE_NEGATIVE' });
  });

  it('a bad cursor is 400 VALIDATION_FAILED on the cursor', async () => {
    const { credits } = service();
    await expect(credits.history(guest, { limit: 5, cursor: 'nope!' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      details: [{ path: 'cursor', message: expect.any(String) }],
    });
  });
});
