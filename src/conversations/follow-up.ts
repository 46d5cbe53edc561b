import { parseQueryHints } from '../assistant/catalog/query-hints.js';
import { formatPrice } from '../assistant/providers/catalog.js';
import type { ProductFilters } from '../assistant/providers/provider.js';
import type { ResolvedQuery } from './conversation.store.js';

/**
 * Follow-up questions, read against the conversation's last turn: deterministic and pure (the
 * same words after the same turn always resolve to the same search). The last turn's resolved
 * search already carries every earlier refinement, so a chain ("waterproof hiking boots" →
 * "cheaper" → "for women" → "show me more") accumulates turn by turn.
 *
 * - Price words relative to what was shown: "cheaper", "less expensive", "less than that" set
 *   `maxPrice` just under the lowest price shown ("than that": under the best match's price);
 *   "more expensive", "pricier" set `minPrice` just over the highest one. An amount ("under
 *   $80", "over $200") sets the bound itself. A carried bound the new one contradicts is dropped.
 * - Audiences, colours and attributes ("for women", "in black", "waterproof") are added to the
 *   search words; a new audience or colour replaces the carried one ("for men" after "for women").
 * - "show me more", "next", "other ones": the same search, the next results (`offset`).
 * - Anything else that names something new ("a tent", "what about coffee grinders") starts over,
 *   and so does "new search: …".
 * - Filters sent with the question win over carried ones, key by key.
 *
 * Lookups of the shopper's words use Map and Set only, so no word ("constructor", "__proto__")
 * can reach an object's prototype.
 */

export interface PreviousTurn {
  resolvedQuery: ResolvedQuery;
  /** Prices of the products shown, best match first. */
  prices: readonly number[];
  /** Their currency (ISO 4217), for the explanation; USD when unknown. */
  currency?: string | undefined;
}

export interface FollowUpInput {
  /** The new question, trimmed. */
  query: string;
  /** Filters sent with the question (they win over carried ones). */
  filters?: ProductFilters | undefined;
  /** The conversation's last turn; none for a first question (or when the conversation was reset). */
  previous?: PreviousTurn | undefined;
}

export type FollowUpKind = 'first' | 'refine' | 'more' | 'new-topic';

export interface FollowUpResolution {
  kind: FollowUpKind;
  /** What is searched. */
  resolvedQuery: ResolvedQuery;
  /** One short sentence for the answer text saying how the follow-up was read; none for a first question. */
  explanation?: string;
}

/** How deep "show me more" pages at most. */
export const MAX_OFFSET = 200;
/** The body limit of a question: a resolved search never grows past it. */
const MAX_QUERY_LENGTH = 500;

type Group = 'audience' | 'color';

/** Words that name who a product is for, by the word that is searched. */
const AUDIENCES = new Map<string, string>([
  ...(['women', 'woman', 'womens', "women's", 'ladies', 'lady', "ladies'", 'female', 'her'] as const).map((w) => [w, 'women'] as const),
  ...(['men', 'man', 'mens', "men's", 'male', 'him', 'gentlemen'] as const).map((w) => [w, 'men'] as const),
  ...(['kids', 'kid', "kids'", 'children', 'child', "children's", 'boys', 'girls', 'toddler', 'toddlers', 'youth', 'junior'] as const).map((w) => [w, 'kids'] as const),
]);

const COLORS = new Set([
  'black', 'white', 'red', 'blue', 'green', 'grey', 'gray', 'brown', 'pink', 'purple', 'navy', 'beige', 'orange',
  'yellow', 'silver', 'gold', 'tan', 'burgundy', 'olive', 'khaki', 'teal', 'cream', 'charcoal', 'slate', 'stone',
]);

/** Properties and uses a shopper narrows by: these refine the search, never start a new topic. */
const ATTRIBUTES = new Set([
  'waterproof', 'water-resistant', 'rainproof', 'windproof', 'wireless', 'bluetooth', 'lightweight', 'light', 'heavy-duty',
  'leather', 'vegan', 'organic', 'cotton', 'wool', 'merino', 'insulated', 'warm', 'warmer', 'cozy', 'compact', 'portable',
  'rechargeable', 'cushioned', 'reflective', 'breathable', 'adjustable', 'foldable', 'quiet', 'durable', 'stainless',
  'steel', 'noise', 'cancelling', 'canceling', 'usb-c', 'small', 'smaller', 'large', 'larger', 'big', 'bigger', 'wide',
  'mid', 'low', 'high', 'long', 'short', 'slim', 'winter', 'summer', 'rain', 'snow', 'trail', 'road', 'running',
  'hiking', 'walking', 'camping', 'backpacking', 'travel', 'gaming', 'office', 'outdoor', 'indoor', 'kitchen', 'home',
  'gym', 'workout', 'yoga', 'beginners', 'beginner', 'professional', 'casual', 'formal', 'sport', 'sports', 'kid-friendly',
  'dishwasher-safe', 'machine-washable', 'non-stick', 'gluten-free', 'paperback', 'hardcover', 'gift', 'gifts', 'over-ear',
  'in-ear', 'on-ear', 'mesh', 'suede', 'canvas', 'rubber', 'wooden', 'glass', 'plastic', 'metal',
]);

/** Words that carry no subject of their own in a follow-up ("do you have those in black please"). */
const FILLER = new Set([
  'a', 'an', 'the', 'and', 'or', 'but', 'also', 'only', 'just', 'in', 'for', 'with', 'of', 'on', 'at', 'to', 'by', 'made',
  'ones', 'one', 'those', 'these', 'them', 'that', 'this', 'it', 'they', 'please', 'pls', 'show', 'me', 'give', 'see', 'get',
  'some', 'any', 'do', 'does', 'you', 'have', 'has', 'got', 'what', 'about', 'how', 'something', 'maybe', 'instead', 'i',
  'want', 'need', 'like', 'would', 'prefer', 'id', "i'd", 'size', 'sizes', 'sized', 'version', 'versions', 'color', 'colour',
  'colors', 'colours', 'option', 'options', 'kind', 'kinds', 'type', 'types', 'style', 'styles', 'pair', 'pairs', 'model',
  'models', 'are', 'is', 'there', 'can', 'could', 'now', 'then', 'ok', 'okay', 'yes', 'thanks', 'too', 'my', 'our', 'which',
  'available', 'same', 'rather', 'even', 'still', 'bit', 'little', 'lot', 'much', 'way', 'slightly', 'somewhat', 'yet', 'let', "let's", 'lets', 'try', 'anything', 'stuff', 'items', 'products',
]);

/** Words that ask for the next results of the same search. */
const MORE = new Set(['more', 'next', 'other', 'others', 'another', 'further', 'additional', 'results', 'page', 'load', 'keep', 'going', 'else', 'different']);

const CHEAPER = /\b(?:cheaper|cheapest|cheap|less\s+expensive|lower[-\s]?priced|lower\s+prices?|more\s+affordable|affordable|less\s+pricey|less\s+costly|budget|inexpensive|(?:less|lower)\s+than\s+(?:that|this|those|these|them|it)|(?:under|below)\s+(?:that|this|those|these))\b/giu;
const PRICIER = /\b(?:more\s+expensive|pricier|higher[-\s]?priced|higher[-\s]?end|high[-\s]?end|more\s+premium|premium|fancier|luxury|(?:more|higher)\s+than\s+(?:that|this|those|these|them|it)|(?:over|above)\s+(?:that|this|those|these))\b/giu;
/** "…than that": relative to the best match named in the answer, not to the whole list. */
const THAN_THAT = /\b(?:than|under|below|over|above)\s+(?:that|this|it)\b/iu;
const START_OVER = /^\s*(?:new\s+(?:search|question|topic)|start\s+(?:over|again)|something\s+(?:else|different)|forget\s+(?:that|it|this)|never\s*mind|instead)\b[\s:,.;!-]*/iu;
/** A follow-up that opens like this refines whatever it names: "for running", "in a wide fit". */
const REFINING_START = /^\s*(?:and\s+|but\s+|only\s+|just\s+|also\s+|now\s+)?(in|for|with|without|made\s+of)\b/iu;

const cents = (n: number) => Math.round(n * 100) / 100;

/** Whether a (global) pattern occurs in the text; `test` on a global pattern would keep state between calls. */
const matches = (pattern: RegExp, text: string) => text.search(pattern) >= 0;

/** The shopper's words, lower-cased, typographic apostrophes straightened. */
function wordsOf(text: string): string[] {
  return text
    .normalize('NFC')
    .toLowerCase()
    .replace(/[\u2018\u2019\u02bc]/gu, "'")
    .split(/[^\p{L}\p{N}'-]+/u)
    .map((w) => w.replace(/^['-]+|['-]+$/gu, ''))
    .filter(Boolean);
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The carried text without the words of a group the new question replaces ("women" when it says "for men"). */
function withoutGroup(text: string, group: Group): string {
  // Longest first, so "women's" is taken whole rather than as "women" and a stray "'s".
  const words = (group === 'audience' ? [...AUDIENCES.keys()] : [...COLORS]).sort((a, b) => b.length - a.length);
  const pattern = new RegExp(`(?:\\b(?:for|in)\\s+)?(?<![\\p{L}\\p{N}])(?:${words.map(escapeRegExp).join('|')})(?![\\p{L}\\p{N}'])`, 'giu');
  return tidy(text.replace(/[\u2018\u2019\u02bc]/gu, "'").replace(pattern, ' '));
}

function tidy(text: string): string {
  return text.replace(/\s+/gu, ' ').replace(/\s+(?:for|in|with|and)$/iu, '').trim();
}

/** Reads a question against the last turn of its conversation (see the module comment). */
export function resolveFollowUp(input: FollowUpInput): FollowUpResolution {
  const query = input.query.trim();
  const body = definedFilters(input.filters);
  const previous = input.previous;
  if (!previous) return { kind: 'first', resolvedQuery: { query, filters: body } };

  const startOver = START_OVER.exec(query);
  if (startOver) {
    const rest = query.slice(startOver[0].length).trim();
    return newTopic(rest || query, body);
  }

  // Absolute amounts are bounds of their own ("cheaper than $80" is not "cheaper than what was shown").
  const hints = parseQueryHints(query);
  const absolute = { minPrice: hints.minPrice, maxPrice: hints.maxPrice };
  const cheaper = matches(CHEAPER, query);
  const pricier = matches(PRICIER, query);
  const thanThat = THAN_THAT.test(query);
  const text = hints.text.replace(CHEAPER, ' ').replace(PRICIER, ' ');

  const words = wordsOf(text);
  const content = words.filter((w) => !FILLER.has(w));
  const wantsMore = content.length > 0 && content.every((w) => MORE.has(w));
  const priceChanged = cheaper || pricier || absolute.minPrice !== undefined || absolute.maxPrice !== undefined;

  if (wantsMore && !priceChanged) return more(previous, body);

  // What the last search looked for; price words in its text are lifted into filters, so that
  // a later bound can move them ("hiking boots under $100" → "over $150").
  const carried = parseQueryHints(previous.resolvedQuery.query);
  const filters: ProductFilters = { ...previous.resolvedQuery.filters };
  let carriedText = previous.resolvedQuery.query;
  if (carried.minPrice !== undefined || carried.maxPrice !== undefined) {
    carriedText = carried.text + (carried.preferCheap ? ' budget' : '');
    if (filters.minPrice === undefined && carried.minPrice !== undefined) filters.minPrice = carried.minPrice;
    if (filters.maxPrice === undefined && carried.maxPrice !== undefined) filters.maxPrice = carried.maxPrice;
  }

  const previousWords = new Set(wordsOf(previous.resolvedQuery.query));
  const refining = REFINING_START.exec(query)?.[1]?.toLowerCase().replace(/\s+/gu, ' ');
  const known = (w: string) => AUDIENCES.has(w) || COLORS.has(w) || ATTRIBUTES.has(w) || previousWords.has(w) || MORE.has(w);
  if (!refining && content.some((w) => !known(w))) return newTopic(query, body);

  const notes: string[] = [];
  const shown = previous.prices.filter((p) => Number.isFinite(p));
  const currency = previous.currency ?? 'USD';
  // "Cheaper" lifts a carried lower bound, "pricier" a carried upper one: each undoes the other.
  if (cheaper && !pricier) delete filters.minPrice;
  if (pricier && !cheaper) delete filters.maxPrice;
  if (cheaper && absolute.maxPrice === undefined) {
    if (shown.length > 0) {
      const reference = thanThat ? shown[0]! : Math.min(...shown);
      const bound = cents(Math.max(0, reference - 0.01));
      filters.maxPrice = filters.maxPrice === undefined ? bound : Math.min(filters.maxPrice, bound);
      notes.push(`cheaper than ${thanThat ? 'the best match' : 'anything'} shown (${formatPrice(reference, currency)})`);
    } else {
      carriedText = `${carriedText} budget`;
      notes.push('cheaper options first');
    }
  }
  if (pricier && absolute.minPrice === undefined && shown.length > 0) {
    const reference = thanThat ? shown[0]! : Math.max(...shown);
    filters.minPrice = cents(reference + 0.01);
    notes.push(`pricier than ${thanThat ? 'the best match' : 'anything'} shown (${formatPrice(reference, currency)})`);
  }
  if (absolute.maxPrice !== undefined) {
    filters.maxPrice = absolute.maxPrice;
    notes.push(`under ${formatPrice(absolute.maxPrice, currency)}`);
  }
  if (absolute.minPrice !== undefined) {
    filters.minPrice = absolute.minPrice;
    notes.push(`over ${formatPrice(absolute.minPrice, currency)}`);
  }
  // The newer bound wins over a carried one it contradicts.
  if (filters.minPrice !== undefined && filters.maxPrice !== undefined && filters.minPrice > filters.maxPrice) {
    if (cheaper || absolute.maxPrice !== undefined) delete filters.minPrice;
    else delete filters.maxPrice;
  }

  const additions: string[] = [];
  const audience = content.map((w) => AUDIENCES.get(w)).find((a) => a !== undefined);
  if (audience) {
    carriedText = withoutGroup(carriedText, 'audience');
    additions.push(`for ${audience}`);
    notes.push(`for ${audience}`);
  }
  const color = content.find((w) => COLORS.has(w));
  if (color) {
    carriedText = withoutGroup(carriedText, 'color');
    additions.push(`in ${color}`);
    notes.push(`in ${color}`);
  }
  const carriedWords = new Set(wordsOf(carriedText));
  const others = [...new Set(content.filter((w) => !AUDIENCES.has(w) && !COLORS.has(w) && !MORE.has(w) && !carriedWords.has(w)))];
  if (others.length > 0) {
    // Kept with the word that opened the follow-up: "for students", "with noise cancelling".
    additions.unshift(refining && refining !== 'in' ? `${refining} ${others.join(' ')}` : others.join(' '));
    notes.push(others.join(' '));
  }

  const resolved = withBody({ query: clip(tidy([carriedText, ...additions].join(' ')) || previous.resolvedQuery.query), filters }, body);
  if (notes.length === 0) notes.push('the same search');
  if (Object.keys(body).length > 0) notes.push('with the filters you sent');
  return { kind: 'refine', resolvedQuery: resolved, explanation: `Following up on “${previous.resolvedQuery.query}”: ${notes.join(', ')}.` };
}

function more(previous: PreviousTurn, body: ProductFilters): FollowUpResolution {
  const offset = Math.min(MAX_OFFSET, (previous.resolvedQuery.offset ?? 0) + previous.prices.length);
  const resolved = withBody({ query: previous.resolvedQuery.query, filters: { ...previous.resolvedQuery.filters } }, body);
  if (offset > 0) resolved.offset = offset;
  return { kind: 'more', resolvedQuery: resolved, explanation: `More results for “${previous.resolvedQuery.query}”, after the ${offset} already shown.` };
}

function newTopic(query: string, body: ProductFilters): FollowUpResolution {
  const text = clip(query);
  return { kind: 'new-topic', resolvedQuery: { query: text, filters: body }, explanation: `A new search for “${text}”.` };
}

/** Filters sent with the question replace carried ones key by key; a carried bound they contradict is dropped. */
function withBody(resolved: ResolvedQuery, body: ProductFilters): ResolvedQuery {
  const filters: ProductFilters = { ...resolved.filters, ...body };
  if (filters.minPrice !== undefined && filters.maxPrice !== undefined && filters.minPrice > filters.maxPrice) {
    if (body.maxPrice !== undefined) delete filters.minPrice;
    else delete filters.maxPrice;
  }
  return { ...resolved, filters };
}

/** The filters that were sent, without keys that are present but undefined. */
function definedFilters(filters: ProductFilters | undefined): ProductFilters {
  return Object.fromEntries(Object.entries(filters ?? {}).filter(([, v]) => v !== undefined)) as ProductFilters;
}

function clip(text: string): string {
  const points = [...text];
  return points.length <= MAX_QUERY_LENGTH ? text : points.slice(0, MAX_QUERY_LENGTH).join('').trim();
}
