import { z } from 'zod';
import { resolvedQuerySchema } from '../conversations/conversation.schemas.js';
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
  conversationId: z
    .string()
    .min(1, '1–128 characters: the conversationId of an earlier answer')
    .max(128, '1–128 characters: the conversationId of an earlier answer')
    .optional()
    .describe('Asks a follow-up in this conversation (the `conversationId` of an earlier answer); unknown, expired or another shopper’s: 404'),
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
  conversationId: z.string().describe('Send it back with the next question to ask a follow-up'),
  resolvedQuery: resolvedQuerySchema.describe('What was actually searched: the question read in its conversation'),
});
export type QueryResponse = z.infer<typeof queryResponse>;
