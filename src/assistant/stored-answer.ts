import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import type { JsonValue } from '../cache/cache.store.js';
import { STORED_ANSWER_FORMS_MAX } from '../platform/memory-bounds.js';
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

/** A cached answer as the query route serves it: validated, and its products already as JSON. */
export interface StoredAnswer {
  /** Frozen: every request that is served this entry shares it. */
  readonly answer: AssistantAnswer;
  /** `JSON.stringify(answer.products)`, made once per entry. */
  readonly productsJson: string;
}

interface Kept {
  value: JsonValue;
  stored: StoredAnswer;
}

/**
 * The cache entries served lately, validated (answerFromJson) and with their products serialised
 * once: a cached answer served again costs a comparison with the value kept, not a validation and
 * a serialisation. An entry rewritten under the same key (a `no-cache` question, another answer)
 * compares unequal and is validated afresh. Bounded by STORED_ANSWER_FORMS_MAX (least recently
 * served first out).
 */
export class StoredAnswers {
  private readonly kept = new LRUCache<string, Kept>({ max: STORED_ANSWER_FORMS_MAX });

  /** The entry `value` read under cache key `key` as an answer; undefined when it does not have an answer's shape. */
  read(key: string, value: JsonValue): StoredAnswer | undefined {
    const kept = this.kept.get(key);
    if (kept && jsonEqual(kept.value, value)) return kept.stored;
    const answer = answerFromJson(value);
    if (!answer) {
      this.kept.delete(key);
      return undefined;
    }
    for (const product of answer.products) Object.freeze(product);
    Object.freeze(answer.products);
    const stored: StoredAnswer = Object.freeze({ answer: Object.freeze(answer), productsJson: JSON.stringify(answer.products) });
    this.kept.set(key, { value, stored });
    return stored;
  }
}

/** Whether two JSON values are the same value (objects compared by their keys, whatever their order). */
export function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  // Counted with for…in, not Object.keys: no array per object compared (JSON objects have no inherited keys).
  let count = 0;
  for (const key in a) {
    if (!Object.prototype.hasOwnProperty.call(b, key) || !jsonEqual(a[key], b[key])) return false;
    count++;
  }
  for (const key in b) if (Object.prototype.hasOwnProperty.call(b, key)) count--;
  return count === 0;
}
