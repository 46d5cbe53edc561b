import { z } from 'zod';
import type { Conversation, ResolvedQuery } from './conversation.store.js';

/** What was actually searched for an answer: the question as read in its conversation. */
export const resolvedQuerySchema = z.object({
  query: z.string().describe('The search words (a follow-up resolved against the earlier turns)'),
  filters: z
    .object({
      category: z.string().optional(),
      brand: z.string().optional(),
      minPrice: z.number().optional(),
      maxPrice: z.number().optional(),
      inStock: z.boolean().optional(),
    })
    .describe('The filters applied: carried from earlier turns, moved by price words, overridden by the filters sent'),
  offset: z.int().min(1).optional().describe('Best matches skipped ("show me more"); absent on a first page'),
});

export const conversationParams = z.object({
  conversationId: z.string().describe('The `conversationId` of an answer'),
});

export const conversationResponse = z.object({
  conversationId: z.string(),
  turns: z.array(
    z.object({
      query: z.string().describe("The shopper's own words"),
      resolvedQuery: resolvedQuerySchema,
      productIds: z.array(z.string()).describe('The products shown, best first'),
      createdAt: z.iso.datetime(),
    }),
  ),
  expiresAt: z.iso.datetime().describe('CONVERSATION_TTL_SECONDS after the last turn'),
});
export type ConversationResponse = z.infer<typeof conversationResponse>;

export function toResolvedQuery(r: ResolvedQuery): z.infer<typeof resolvedQuerySchema> {
  return { query: r.query, filters: { ...r.filters }, ...(r.offset ? { offset: r.offset } : {}) };
}

/** The contract's view of a conversation: internal fields of a turn (prices shown) stay inside. */
export function toConversationResponse(c: Conversation): ConversationResponse {
  return {
    conversationId: c.id,
    turns: c.turns.map((t) => ({ query: t.query, resolvedQuery: toResolvedQuery(t.resolvedQuery), productIds: t.productIds, createdAt: t.createdAt })),
    expiresAt: c.expiresAt.toISOString(),
  };
}
