import type { Catalog, CatalogProduct } from '../catalog/catalog.js';
import { PRICE_FORMATTERS_MAX } from '../../platform/memory-bounds.js';
import { fixedIndex, isCatalogIndex, type CatalogIndex } from '../catalog/catalog-index.js';
import type { CatalogHit, CatalogSearch, CatalogSearchResult } from '../catalog/catalog-search.js';
import {
  throwIfAborted,
  type AnsweredProduct,
  type AssistantAnswer,
  type AssistantProvider,
  type AssistantRequest,
  type ProductFilters,
} from './provider.js';

/**
 * The built-in assistant: full-text search over the catalog and a short answer written from the
 * results. Bump the version in `model` whenever ranking or answer wording changes, so cached
 * answers of the old behaviour are not served.
 */
export const CATALOG_MODEL = 'catalog-search-v4';

export class CatalogProvider implements AssistantProvider {
  readonly name = 'catalog' as const;
  readonly model = CATALOG_MODEL;
  private readonly index: CatalogIndex;

  /** `source`: a fixed catalog, or the live index whose current catalog each answer reads. */
  constructor(source: Catalog | CatalogIndex) {
    this.index = isCatalogIndex(source) ? source : fixedIndex(source);
  }

  get catalogVersion(): string {
    return this.index.current().catalog.hash;
  }

  /** The search over the current catalog. */
  get search(): CatalogSearch {
    return this.index.current().search;
  }

  async answer(request: AssistantRequest, signal: AbortSignal): Promise<AssistantAnswer> {
    throwIfAborted(signal);
    const result = pageOf(this.index.current().search.search({ ...request, limit: (request.offset ?? 0) + request.limit }), request.offset);
    throwIfAborted(signal);
    return { answer: describeResult(result), products: result.hits.map(toAnsweredProduct) };
  }
}

/** The results past the first `offset` ("show me more"); the search ran with `offset + limit`. */
export function pageOf(result: CatalogSearchResult, offset: number | undefined): CatalogSearchResult {
  return offset ? { ...result, hits: result.hits.slice(offset) } : result;
}

export function toAnsweredProduct(hit: CatalogHit): AnsweredProduct {
  const p = hit.product;
  const answered: AnsweredProduct = { id: p.id, name: p.name, brand: p.brand, category: p.category, price: p.price, currency: p.currency, score: hit.score, inStock: p.inStock };
  if (p.url !== undefined) answered.url = p.url;
  if (p.imageUrl !== undefined) answered.imageUrl = p.imageUrl;
  return answered;
}

/**
 * Formatters by currency and whole/cents: building an Intl.NumberFormat costs far more than using
 * one, and every answer formats several prices. Bounded by the catalog's currencies and by
 * PRICE_FORMATTERS_MAX (null: a code Intl does not know).
 */
const formatters = new Map<string, Intl.NumberFormat | null>();

function formatterFor(currency: string, whole: boolean): Intl.NumberFormat | null {
  const key = `${currency}:${whole ? 0 : 2}`;
  let formatter = formatters.get(key);
  if (formatter === undefined) {
    try {
      formatter = new Intl.NumberFormat('en-US', { style: 'currency', currency, minimumFractionDigits: whole ? 0 : 2, maximumFractionDigits: whole ? 0 : 2 });
    } catch {
      formatter = null;
    }
    if (formatters.size < PRICE_FORMATTERS_MAX) formatters.set(key, formatter);
  }
  return formatter;
}

/** "$129.99", "$150" for whole amounts, "129.99 XYZ" for a code Intl does not know. */
export function formatPrice(price: number, currency: string): string {
  const formatter = formatterFor(currency, Number.isInteger(price));
  return formatter ? formatter.format(price) : `${price.toFixed(2)} ${currency}`;
}

/** " in shoes from Northpeak under $150", spelled as the catalog does when a product matched. */
function describeFilters(filters: ProductFilters, first: CatalogProduct | undefined): string {
  const currency = first?.currency ?? 'USD';
  const parts: string[] = [];
  if (filters.category !== undefined) parts.push(`in ${first?.category ?? filters.category.trim()}`);
  if (filters.brand !== undefined) parts.push(`from ${first?.brand ?? filters.brand.trim()}`);
  const { minPrice: lo, maxPrice: hi } = filters;
  if (lo !== undefined && hi !== undefined) parts.push(`between ${formatPrice(lo, currency)} and ${formatPrice(hi, currency)}`);
  else if (hi !== undefined) parts.push(`under ${formatPrice(hi, currency)}`);
  else if (lo !== undefined) parts.push(`over ${formatPrice(lo, currency)}`);
  if (filters.inStock === false) parts.push('that are out of stock');
  return parts.length ? ` ${parts.join(' ')}` : '';
}

const describeProduct = (p: CatalogProduct) => `the ${p.name} by ${p.brand} at ${formatPrice(p.price, p.currency)}`;

/** One or two sentences that say what was found, with the best match and its price. */
export function describeResult(result: CatalogSearchResult): string {
  const where = describeFilters(result.filters, result.hits[0]?.product);
  const topic = result.text ? `“${result.text}”` : 'your question';
  const n = result.hits.length;
  if (n === 0) {
    return `I couldn't find any products matching ${topic}${where}. Try fewer or different words, or widen the filters.`;
  }
  const best = describeProduct(result.hits[0].product);
  if (result.fallback) {
    const what = `${n === 1 ? 'is the' : `are the ${n}`} ${result.preferCheap ? 'most affordable' : 'top-rated'} ${n === 1 ? 'product' : 'products'}`;
    const intro = result.text
      ? `I couldn't find an exact match for ${topic}${where}, so here ${what}${where ? ' that fit your filters' : ''}`
      : `Here ${what}${where}`;
    return `${intro}; the first is ${best}.`;
  }
  const cheap = result.preferCheap ? ', cheaper options first' : '';
  if (n === 1) return `I found one match for ${topic}${where}: ${best}.`;
  return `I found ${n} matches for ${topic}${where}${cheap}; the best match is ${best}.`;
}
