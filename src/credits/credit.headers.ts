import type { CreditAccount } from './credit.repository.js';

/** The balance headers of every 200 and 402 of the credit and assistant routes. */
export function balanceHeaders(account: Pick<CreditAccount, 'available' | 'max' | 'resetsAt'>): Record<string, string> {
  return {
    'X-Credits-Remaining': String(account.available),
    'X-Credits-Limit': String(account.max),
    'X-Credits-Reset': String(Math.ceil(account.resetsAt.getTime() / 1000)),
  };
}
