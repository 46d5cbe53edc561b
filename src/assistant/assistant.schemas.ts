import { z } from 'zod';
import { text } from '../http/text.schemas.js';

const price = z.number().finite().min(0, 'a number ≥ 0');

export const queryFilters = z
  .strictObject({
    category: text(1, 100).optional(),
    brand: text(1, 100).optional(),
    minPrice: price.optional(),
    maxPrice: price.optional(),
    inStock: z.boolean('true or false').optional().describe('true: in-stock products only (also when omitted); false: out-of-stock products only'),
  })
  .refine((f) => f.minPrice === undefined || f.maxPrice === undefined || f.minPrice <= f.maxPrice, {
    message: 'minPrice must not be greater than maxPrice',
    path: ['minPrice'],
  });

export const queryBody = z.strictObject({
  query: text(1, 500),
  filters: queryFilters.optional(),
  limit: z.number().int('an integer from 1 to 20').min(1, 'an integer from 1 to 20').max(20, 'an integer from 1 to 20').default(5),
});
export type QueryBody = z.output<typeof queryBody>;

/** 1–255 printable ASCII characters. */
export const idempotencyKeyHeader = z
  .string()
  .regex(/^[\x20-\x7E]{1,255}$/, '1–255 printable ASCII characters')
  .optional();

export const idempotencyHeaders = z.object({ 'Idempotency-Key': idempotencyKeyHeader });

export const answeredProduct = z.object({
  id: z.string(),
  name: z.string(),
  brand: z.string(),
  category: z.string(),
  price: z.number(),
  currency: z.string().regex(/^[A-Z]{3}$/),
  score: z.number().min(0).max(1),
  url: z.url().optional(),
  imageUrl: z.url().optional(),
  inStock: z.boolean(),
});

export const queryResponse = z.object({
  answer: z.string(),
  products: z.array(answeredProduct),
  cached: z.boolean(),
  creditsCharged: z.number().int().min(0),
  credits: z.object({ available: z.number().int().min(0), max: z.number().int().positive(), resetsAt: z.iso.datetime() }),
});
export type QueryResponse = z.infer<typeof queryResponse>;
