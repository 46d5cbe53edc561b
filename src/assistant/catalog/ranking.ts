import type { ProductFilters } from '../providers/provider.js';
import { processTerm, tokenize } from './terms.js';

/** The ranking's helpers: what a question asks for, the best few in order, the budget tilt, the filters in force. */

/** Words that end the name of what is asked for: "running shoes for women" asks for shoes. */
export const HEAD_ENDS = new Set(['for', 'with', 'without', 'to', 'from', 'by', 'in', 'on', 'near', 'like', 'that', 'which']);
/** How much the thing asked for counts towards covering the question, against 1 for each other word. */
export const HEAD_WEIGHT = 2;

/** The processed term of the thing a question asks for: its last word before "for", "with"…. */
export function headTerm(text: string): string | undefined {
  let head: string | undefined;
  for (const token of tokenize(text)) {
    if (HEAD_ENDS.has(token.toLowerCase())) break;
    head = processTerm(token) ?? head;
  }
  return head;
}

/**
 * The first `k` of the numbers 0…n−1 in `order`, without sorting them all (the same as sorting
 * and slicing, ties kept in their order). `key`, when given, must be the order's first criterion
 * (a higher key first).
 */
export function topK(n: number, k: number, order: (a: number, b: number) => number, key?: Float64Array): number[] {
  const best: number[] = [];
  for (let item = 0; item < n; item++) {
    // `key` (highest first, the order's first criterion) settles most items without a call.
    if (best.length === k && ((key !== undefined && key[item] < key[best[k - 1]]) || order(item, best[k - 1]) >= 0)) continue;
    let lo = 0;
    let hi = best.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (order(item, best[mid]) < 0) hi = mid;
      else lo = mid + 1;
    }
    if (lo >= k) continue;
    // Into place at `lo`, the last dropped once `k` are held (no array made per insertion).
    let i = best.length < k ? best.length : k - 1;
    for (; i > lo; i--) best[i] = best[i - 1];
    best[lo] = item;
  }
  return best;
}

/**
 * "budget laptop": among the products about as relevant as the best one, cheaper ones gain up
 * to 40% (by log price, so $200 vs $400 counts like $1,000 vs $2,000); less relevant products do
 * not get pulled up by being cheap. Changes `relevance` in place. `logPriceOf(i)`: log(1 + the
 * price of item i).
 */
export function cheaperFirst(relevance: Float64Array, logPriceOf: (i: number) => number): void {
  let best = 0;
  // Indexed: iterating a typed array with for…of costs several times as much per element.
  for (let i = 0; i < relevance.length; i++) if (relevance[i] > best) best = relevance[i];
  const threshold = best * 0.75;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < relevance.length; i++) {
    if (relevance[i] < threshold) continue;
    const log = logPriceOf(i);
    lo = Math.min(lo, log);
    hi = Math.max(hi, log);
  }
  const span = hi - lo;
  for (let i = 0; i < relevance.length; i++) {
    if (relevance[i] < threshold) relevance[i] *= 0.6;
    else if (span > 0) relevance[i] *= 1 - (0.4 * (logPriceOf(i) - lo)) / span;
  }
}

/** Explicit filters win; a price hint fills a bound the request left open, unless it contradicts one. */
export function effectiveFilters(explicit: ProductFilters, hints: { minPrice?: number; maxPrice?: number }): ProductFilters {
  const out: ProductFilters = {};
  if (explicit.category !== undefined) out.category = explicit.category;
  if (explicit.brand !== undefined) out.brand = explicit.brand;
  if (explicit.inStock !== undefined) out.inStock = explicit.inStock;
  let minPrice = explicit.minPrice ?? hints.minPrice;
  let maxPrice = explicit.maxPrice ?? hints.maxPrice;
  if (minPrice !== undefined && maxPrice !== undefined && minPrice > maxPrice) {
    if (explicit.minPrice === undefined) minPrice = undefined;
    else if (explicit.maxPrice === undefined) maxPrice = undefined;
  }
  if (minPrice !== undefined) out.minPrice = minPrice;
  if (maxPrice !== undefined) out.maxPrice = maxPrice;
  return out;
}
