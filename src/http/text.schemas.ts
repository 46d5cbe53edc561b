import { z } from 'zod';

/**
 * The contract's rule for every text field of a request body (API.md, Conventions): the value is
 * NFC-normalised and trimmed of Unicode white space, then its length is counted in code points.
 * A string that is not well-formed Unicode (a lone surrogate) or holds NUL is refused first.
 */
/**
 * Not text: an unpaired surrogate half (with the u flag a pair is one code point, so only a lone
 * half matches) or NUL, neither of which PostgreSQL can store in text or jsonb.
 */
// eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for
const NOT_TEXT = /[\p{Surrogate}\u0000]/u;

export const text = (min: number, max: number) =>
  z
    .string()
    // JSON may carry a lone surrogate ("\ud800") or NUL ("\u0000"): refused before any other rule.
    .refine((s) => !NOT_TEXT.test(s), { message: 'well-formed Unicode text (no lone surrogates, no NUL)', abort: true })
    .transform((s) => s.normalize('NFC').replace(/^[\s\p{White_Space}]+|[\s\p{White_Space}]+$/gu, ''))
    .refine((s) => [...s].length >= min && [...s].length <= max, { message: `${min}–${max} characters` })
    .meta({ description: `${min}–${max} characters (Unicode code points after NFC normalisation and trimming white space)` });
