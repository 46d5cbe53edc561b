import { z } from 'zod';
import type { JsonValue } from '../cache/cache.store.js';
import type { AssistantAnswer } from './providers/provider.js';

/**
 * An answer as the query cache keeps it, and the product shape an idempotency record replays:
 * written from the typed answer, and checked where it comes back from storage, so an entry of
 * another shape (an older layout, a hand-edited row) is never served as if it were one.
 */
export const storedProduct = z.object({
  id: z.string(),
  name: z.string(),
  brand: z.string(),
  category: z.string(),
  price: z.number(),
  currency: z.string(),
  score: z.number(),
  url: z.string().optional(),
  imageUrl: z.string().optional(),
  inStock: z.boolean(),
});

const storedAnswer = z.object({ answer: z.string(), products: z.array(storedProduct) });

/** The cache's value for an answer: its text and products, nothing else the provider attached. */
export function answerToJson(answer: AssistantAnswer): JsonValue {
  return {
    answer: answer.answer,
    products: answer.products.map((p) => {
      const product: { [key: string]: JsonValue } = {
        id: p.id,
        name: p.name,
        brand: p.brand,
        category: p.category,
        price: p.price,
        currency: p.currency,
        score: p.score,
        inStock: p.inStock,
      };
      if (p.url !== undefined) product.url = p.url;
      if (p.imageUrl !== undefined) product.imageUrl = p.imageUrl;
      return product;
    }),
  };
}

/** A cached value read back as an answer; undefined when it does not have an answer's shape. */
export function answerFromJson(value: JsonValue): AssistantAnswer | undefined {
  const parsed = storedAnswer.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
