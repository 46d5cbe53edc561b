import { z } from 'zod';

/**
 * The contract's rule for every text field of a request body (API.md, Conventions): the value is
 * NFC-normalised and trimmed of Unicode white space, then its length is counted in code points.
 */
export const text = (min: number, max: number) =>
  z
    .string()
    .transform((s) => s.normalize('NFC').replace(/^[\s\p{White_Space}]+|[\s\p{White_Space}]+$/gu, ''))
    .refine((s) => [...s].length >= min && [...s].length <= max, { message: `${min}–${max} characters` })
    .meta({ description: `${min}–${max} characters (Unicode code points after NFC normalisation and trimming white space)` });
