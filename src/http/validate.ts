import type { z } from 'zod';
import { AppError, type ValidationIssue } from '../platform/errors.js';

/** Turns zod issues into the contract's `details` list: `{ path: "filters.maxPrice", message }`. */
export function toValidationIssues(error: z.ZodError): ValidationIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.length ? issue.path.map(String).join('.') : '(body)',
    message: issue.message,
  }));
}

/** Parses `input` with `schema` or throws 400 VALIDATION_FAILED listing every problem. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, what = 'request'): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new AppError('VALIDATION_FAILED', `The ${what} is not valid.`, { details: toValidationIssues(result.error) });
  }
  return result.data;
}
