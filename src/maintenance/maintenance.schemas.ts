import { z } from 'zod';

export const cleanupBody = z
  .strictObject({
    transactionsOlderThanDays: z
      .number()
      .int('a whole number of days from 0 to 36500')
      .min(0, 'a whole number of days from 0 to 36500')
      .max(36_500, 'a whole number of days from 0 to 36500')
      .optional(),
  })
  .optional();

export const cleanupResponse = z.object({
  expiredCacheEntriesDeleted: z.number().int().min(0),
  transactionsDeleted: z.number().int().min(0),
  /** Held charges past CHARGE_HOLD_SECONDS that this run refunded. */
  expiredHoldsRefunded: z.number().int().min(0),
});
export type CleanupResponse = z.infer<typeof cleanupResponse>;
