import type { QueryRequest } from '@shopassist/client';
import type { PlainMessage } from './messages.js';

export type ReadQuery = { ok: true; body: QueryRequest } | { ok: false; message: PlainMessage };

/**
 * The search form as a query body. Only what the page can tell at once is checked here (an
 * empty question, a price that is not a number); every other rule is the API's, whose
 * validation answer names the field.
 */
export function readQuery(form: HTMLFormElement): ReadQuery {
  const input = (name: string) => form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement;
  const query = input('query').value.trim();
  if (!query) return { ok: false, message: { title: 'Please type a question first.', text: 'For example: “running shoes under $80”.', fields: ['query'] } };

  const filters: NonNullable<QueryRequest['filters']> = {};
  const category = input('category').value.trim();
  const brand = input('brand').value.trim();
  if (category) filters.category = category;
  if (brand) filters.brand = brand;
  for (const [name, label] of [['minPrice', 'Min price'], ['maxPrice', 'Max price']] as const) {
    const field = input(name) as HTMLInputElement;
    if (field.validity.badInput) {
      return { ok: false, message: { title: `Please check “${label}”.`, text: `${label}: enter a number such as 25 or 19.99.`, fields: [name] } };
    }
    if (field.value !== '') filters[name] = Number(field.value);
  }
  const body: QueryRequest = { query, limit: Number(input('limit').value) };
  if (Object.keys(filters).length > 0) body.filters = filters;
  return { ok: true, body };
}
