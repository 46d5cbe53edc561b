/**
 * Price hints in a shopper's own words ("under $150", "between 20 and 40 dollars", "budget").
 * They become price filters (hard bounds, both inclusive) or a soft "cheaper first" preference,
 * and are removed from the text that goes to full-text search so "under" or "$30" never count
 * as search words.
 */

export interface QueryHints {
  /** The question without its price phrases, whitespace collapsed (may be empty). */
  text: string;
  minPrice?: number;
  maxPrice?: number;
  /** "budget", "cheap", "affordable"…: prefer cheaper products without a hard bound. */
  preferCheap: boolean;
}

// A price: "$30", "30", "30.50", "30 dollars", "$1,299", "30 usd", "30 bucks".
const AMOUNT = String.raw`\$\s*(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?|(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?(?:\s*(?:dollars?|usd|bucks|\$))?`;
// A number followed by one of these is a spec ("less than 2 kg", "over 16GB"), not a price.
const NOT_A_PRICE = String.raw`(?!\d|[.,]\d)(?!\s*(?:kg|g|lbs?|oz|gb|tb|mb|inch(?:es)?|in\b|"|mm|cm|m\b|l\b|ml|hours?|hrs?|h\b|pieces?|pcs|w\b|watts?|hz|mah|%|years?|yrs?|months?|players?|people|persons?|qt|x\b|-?piece|-?inch|-?hour))`;
const MONEY = `(?:${AMOUNT})${NOT_A_PRICE}`;

const RANGE = new RegExp(String.raw`\b(?:between|from)\s+(${MONEY})\s*(?:and|to|-|–)\s*(${MONEY})`, 'gi');
const DASH_RANGE = new RegExp(String.raw`(\$\s*\d[\d,]*(?:\.\d{1,2})?)\s*(?:-|–|to)\s*(\$?\s*\d[\d,]*(?:\.\d{1,2})?(?:\s*(?:dollars?|usd|bucks))?)${NOT_A_PRICE}`, 'gi');
const MAX = new RegExp(String.raw`\b(?:under|below|less\s+than|cheaper\s+than|up\s+to|at\s+most|no\s+more\s+than|not\s+more\s+than|max(?:imum)?|within|for\s+less\s+than)\s*(${MONEY})|<=?\s*(${MONEY})`, 'gi');
const MIN = new RegExp(String.raw`\b(?:over|above|more\s+than|at\s+least|min(?:imum)?|starting\s+at|from)\s*(${MONEY})|>=?\s*(${MONEY})`, 'gi');
const AROUND = new RegExp(String.raw`\b(?:around|about|roughly|approximately|~)\s*(${MONEY})`, 'gi');
const CHEAP = /\b(?:budget|cheap(?:er|est)?|affordable|inexpensive|low[-\s]?cost|bargain|economical|on\s+a\s+budget)\b/gi;

function money(text: string): number | undefined {
  const m = /(\d[\d,]*)(?:\.(\d{1,2}))?/.exec(text);
  if (!m) return undefined;
  const value = Number(`${m[1].replace(/,/g, '')}.${m[2] ?? '0'}`);
  return Number.isFinite(value) ? value : undefined;
}

/** Reads price hints out of a question; later, explicit filters override what it finds. */
export function parseQueryHints(query: string): QueryHints {
  let text = ` ${query.normalize('NFC')} `;
  let minPrice: number | undefined;
  let maxPrice: number | undefined;
  const lower = (v: number | undefined) => {
    if (v !== undefined) minPrice = minPrice === undefined ? v : Math.max(minPrice, v);
  };
  const upper = (v: number | undefined) => {
    if (v !== undefined) maxPrice = maxPrice === undefined ? v : Math.min(maxPrice, v);
  };

  const take = (re: RegExp, onMatch: (m: RegExpExecArray) => void) => {
    text = text.replace(re, (...args: unknown[]) => {
      const groups = args.slice(0, -2) as string[];
      onMatch(groups as unknown as RegExpExecArray);
      return ' ';
    });
  };
  const firstMoney = (m: RegExpExecArray, ...indexes: number[]) => {
    for (const i of indexes) if (m[i]) return money(m[i]);
    return undefined;
  };

  take(RANGE, (m) => {
    const a = money(m[1]);
    const b = money(m[6]);
    if (a !== undefined && b !== undefined) {
      lower(Math.min(a, b));
      upper(Math.max(a, b));
    }
  });
  take(DASH_RANGE, (m) => {
    const a = money(m[1]);
    const b = money(m[2]);
    if (a !== undefined && b !== undefined) {
      lower(Math.min(a, b));
      upper(Math.max(a, b));
    }
  });
  take(MAX, (m) => upper(firstMoney(m, 1, 6)));
  take(MIN, (m) => lower(firstMoney(m, 1, 6)));
  take(AROUND, (m) => {
    const v = money(m[1]);
    if (v !== undefined) {
      lower(Math.floor(v * 0.8));
      upper(Math.ceil(v * 1.2));
    }
  });
  let preferCheap = false;
  text = text.replace(CHEAP, () => {
    preferCheap = true;
    return ' ';
  });

  // A contradictory pair ("over $200 under $100") keeps the explicit upper bound only.
  if (minPrice !== undefined && maxPrice !== undefined && minPrice > maxPrice) minPrice = undefined;
  const cleaned = text
    .replace(/\s+/g, ' ')
    .replace(/^[\s,.;:!?-]+|[\s,.;:!?-]+$/g, '')
    .replace(/\s+(?:for|with|and|in|at|of|to)$/i, '')
    .trim();
  return { text: cleaned, minPrice, maxPrice, preferCheap };
}
