import { z } from 'zod';

/**
 * Characters the contract trims: Unicode White_Space plus what JavaScript's `\s` adds (U+FEFF).
 * Every one of them is a single UTF-16 code unit, so a trim tests one code unit at a time.
 */
const TRIMMED = /^[\s\p{White_Space}]$/u;

function isTrimmed(code: number): boolean {
  // ASCII fast path: tab, line feed, vertical tab, form feed, carriage return, space.
  if (code < 0x80) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  return TRIMMED.test(String.fromCharCode(code));
}

/**
 * Trims the contract's white space from both ends by walking inwards from each end: every code
 * unit is looked at at most once, whatever the string (a trailing-white-space pattern would
 * backtrack over every inner run of spaces and take quadratic time).
 */
export function trimWhiteSpace(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isTrimmed(s.charCodeAt(start))) start++;
  while (end > start && isTrimmed(s.charCodeAt(end - 1))) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

/** Code points of `s` (a surrogate pair counts once), counted without building an array. */
export function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/**
 * The longest raw value (in UTF-16 code units) a field of `max` code points may arrive as: each
 * code point may take up to 4 code units before NFC composes it (decomposed Hangul takes 3, a
 * surrogate pair 2), plus room for white space that trimming removes. Anything longer is refused
 * before it is normalised or scanned at all.
 */
export function rawLengthLimit(max: number): number {
  return max * 4 + 256;
}

/**
 * Not text: an unpaired surrogate half (with the u flag a pair is one code point, so only a lone
 * half matches) or NUL. One pass over the string, no backtracking.
 */
// eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for
const NOT_TEXT = /[\p{Surrogate}\u0000]/u;

/**
 * The contract's rule for every text field of a request body (docs/contract.md, Conventions): the value is
 * NFC-normalised and trimmed of Unicode white space, then its length is counted in code points.
 * Every step is linear in the input, and a value far over the limit is refused before any of them.
 * A string that is not well-formed Unicode (a lone surrogate) or holds NUL is refused too.
 */
export const text = (min: number, max: number) => {
  const message = `${min}–${max} characters`;
  const rawLimit = rawLengthLimit(max);
  return z
    .string()
    .transform((s, ctx) => {
      if (s.length > rawLimit) {
        ctx.issues.push({ code: 'custom', message, input: s });
        return z.NEVER;
      }
      // JSON may carry a lone surrogate ("\ud800") or NUL ("\u0000"): no text, and PostgreSQL
      // could store neither in text or jsonb.
      if (NOT_TEXT.test(s)) {
        ctx.issues.push({ code: 'custom', message: 'well-formed Unicode text (no lone surrogates, no NUL)', input: s });
        return z.NEVER;
      }
      return trimWhiteSpace(s.normalize('NFC'));
    })
    .refine((s) => {
      // A string of n code units holds between n/2 and n code points: decide without counting when possible.
      if (s.length < min || s.length > 2 * max) return false;
      const n = codePointLength(s);
      return n >= min && n <= max;
    }, { message })
    .meta({ description: `${min}–${max} characters (Unicode code points after NFC normalisation and trimming white space)` });
};
