import type { QueryResult, ResolvedQuery } from '@shopassist/client';
import { formatPrice } from './messages.js';

/** One chip of the resolved search: the search words, or a filter that can be removed. */
export interface Chip {
  label: string;
  /** The filter the chip stands for; absent for the search words, which cannot be removed. */
  filter?: keyof ResolvedQuery['filters'];
}

/** The resolved search as chips, in a fixed order: words, category, brand, price bounds, page. */
export function chipsOf(resolved: ResolvedQuery, currency = 'USD'): Chip[] {
  const chips: Chip[] = [{ label: `“${resolved.query}”` }];
  const f = resolved.filters;
  if (f.category !== undefined) chips.push({ label: `Category: ${f.category}`, filter: 'category' });
  if (f.brand !== undefined) chips.push({ label: `Brand: ${f.brand}`, filter: 'brand' });
  if (f.minPrice !== undefined) chips.push({ label: `From ${formatPrice(f.minPrice, currency)}`, filter: 'minPrice' });
  if (f.maxPrice !== undefined) chips.push({ label: `Up to ${formatPrice(f.maxPrice, currency)}`, filter: 'maxPrice' });
  if (resolved.offset) chips.push({ label: `After the first ${resolved.offset}` });
  return chips;
}

/** The search again without one of its filters (a new question: the chip removed). */
export function withoutFilter(resolved: ResolvedQuery, filter: keyof ResolvedQuery['filters']): { query: string; filters: ResolvedQuery['filters'] } {
  const filters = { ...resolved.filters };
  delete filters[filter];
  return { query: resolved.query, filters };
}

/** What the thread keeps of an answered turn. */
export interface ShownTurn {
  question: string;
  answer: string;
  result: QueryResult;
}
