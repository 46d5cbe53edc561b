/**
 * How product text and questions become search terms. The same function runs when the index is
 * built and when a question is searched, so "boots", "Boots" and "boot" all meet as "boot".
 * Deliberately light: lower-casing, accent folding, stop words, a few synonyms and plural
 * stripping, which is what shoppers' questions need; no full stemmer to surprise anyone.
 */

const STOP_WORDS = new Set(
  (
    'a an the and or but for with without of in on at to from by as is are be was it its this that these those ' +
    'i im me my we our you your some any please can could would should will find show get give need needs want ' +
    'looking look search recommend suggest suggestion suggestions something anything thing things stuff item items ' +
    'product products idea ideas option options good best great nice top really very more most one ones what which ' +
    'who how do does there here s t'
  ).split(' '),
);

/**
 * Words that mean the same to a shopper: the left side is searched as the right side. A Map, not
 * an object literal: a shopper's word such as "constructor" or "__proto__" must find nothing
 * here, not a property that every object inherits.
 */
const SYNONYMS: ReadonlyMap<string, string> = new Map([
  ['women', 'woman'],
  ['womens', 'woman'],
  ['ladies', 'woman'],
  ['lady', 'woman'],
  ['female', 'woman'],
  ['men', 'man'],
  ['mens', 'man'],
  ['male', 'man'],
  ['children', 'kid'],
  ['child', 'kid'],
  ['kids', 'kid'],
  ['present', 'gift'],
  ['presents', 'gift'],
  ['cancelling', 'cancel'],
  ['canceling', 'cancel'],
  ['cancellation', 'cancel'],
  ['cancel', 'cancel'],
  ['anc', 'cancel'],
  ['earphones', 'earbud'],
  ['earphone', 'earbud'],
  ['headset', 'headphone'],
  ['headsets', 'headphone'],
  ['sneakers', 'sneaker'],
  ['trainers', 'sneaker'],
  ['wellies', 'rain'],
  ['wellington', 'rain'],
  ['rainproof', 'waterproof'],
  ['notebooks', 'notebook'],
  ['feet', 'foot'],
]);

/** Plural to singular for regular English plurals; short words are left alone. */
export function stem(term: string): string {
  if (term.length <= 3) return term;
  if (term.endsWith('ies') && term.length > 4) return `${term.slice(0, -3)}y`;
  if (term.endsWith('sses')) return term.slice(0, -2);
  if (/(?:ches|shes|xes|zes)$/.test(term)) return term.slice(0, -2);
  if (/(?:ss|us|is)$/.test(term)) return term;
  if (term.endsWith('s')) return term.slice(0, -1);
  return term;
}

/** One token → its search term, or null to drop it (stop words, stray letters). */
export function processTerm(token: string): string | null {
  const term = token
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
  if (!term || STOP_WORDS.has(term)) return null;
  const mapped = SYNONYMS.get(term);
  if (mapped) return mapped;
  return stem(term);
}

/** Splits text like the index does (whitespace and punctuation, keeping "usb-c" as two terms). */
export function tokenize(text: string): string[] {
  return text.split(/[\s\p{P}\p{S}]+/u).filter(Boolean);
}

/** The distinct search terms of a text. */
export function termsOf(text: string): string[] {
  return [...new Set(tokenize(text).flatMap((t) => processTerm(t) ?? []))];
}
