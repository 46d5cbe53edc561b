import { hash } from 'node:crypto';

/**
 * The query cache key (docs/contract.md, "Cache key"). Two requests that can only get the same answer
 * share a key; anything that changes the answer changes it:
 * - the query: NFC-normalised, lower-cased, trimmed of Unicode white space, inner white space
 *   collapsed to one space;
 * - the filters: `category`/`brand` normalised like the query, prices as numbers, keys in a
 *   canonical order, absent keys left out (so `{}` is the same as no filters), `inStock: true`
 *   the same as no `inStock` (in-stock products only is the default);
 * - the effective limit (omitted = 5), and the results skipped ("show me more" in a
 *   conversation; only when there are some, so first pages keep the keys they always had);
 * - the assistant provider and model, and the catalog version (its content hash), so a new
 *   catalog, new prices or another model never serve a stale answer.
 * The key is the SHA-256 (hex) of these parts as JSON: fixed length, whatever the query.
 */

export const DEFAULT_LIMIT = 5;

/** Bumped when the key's shape changes, so old entries are never read under new rules. */
const KEY_VERSION = 1;

export interface CacheKeyQuery {
  query: string;
  filters?: { category?: string; brand?: string; minPrice?: number; maxPrice?: number; inStock?: boolean } | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
}

export interface CacheKeyContext {
  provider: string;
  model: string | null;
  catalogVersion: string;
}

/** Lower-cased, NFC, trimmed of Unicode white space, inner white space runs collapsed to one space. */
export function normalizeText(text: string): string {
  return text.normalize('NFC').toLowerCase().normalize('NFC').trim().replace(/\s+/gu, ' ');
}

export function cacheKey(request: CacheKeyQuery, context: CacheKeyContext): string {
  const f = request.filters ?? {};
  // Listed in a fixed order; JSON.stringify drops the undefined ones.
  const filters = {
    brand: f.brand === undefined ? undefined : normalizeText(f.brand),
    category: f.category === undefined ? undefined : normalizeText(f.category),
    // Omitted and `true` both mean in-stock products only: one entry.
    inStock: f.inStock === false ? false : undefined,
    maxPrice: f.maxPrice,
    minPrice: f.minPrice,
  };
  const parts: unknown[] = [
    KEY_VERSION,
    normalizeText(request.query),
    filters,
    request.limit ?? DEFAULT_LIMIT,
    context.provider,
    context.model,
    context.catalogVersion,
  ];
  if (request.offset) parts.push({ offset: request.offset });
  // One-shot: the same digest as createHash's, without a Hash object per key.
  return hash('sha256', JSON.stringify(parts), 'hex');
}
