import { z } from 'zod';

/** `limit` (1–100, default 20) and the opaque `cursor` of every paginated list's query string. */
export const pageQueryShape = {
  limit: z
    .string()
    .regex(/^\d{1,3}$/, 'an integer from 1 to 100')
    .transform(Number)
    .pipe(z.number().int().min(1, 'an integer from 1 to 100').max(100, 'an integer from 1 to 100'))
    .default(20),
  cursor: z.string().min(1, 'the nextCursor of a previous page').optional(),
};
