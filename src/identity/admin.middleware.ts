import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { AppError } from '../platform/errors.js';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * Guards the operator routes with `X-Admin-Key`. While ADMIN_API_KEY is unset they answer 403
 * ADMIN_DISABLED whatever is sent; otherwise a missing or wrong key is 401. The comparison is
 * constant-time (over digests, so the key's length does not leak either).
 */
export function requireAdminKey(adminApiKey: string | undefined): RequestHandler {
  const expected = adminApiKey === undefined ? undefined : digest(adminApiKey);
  return (req, _res, next) => {
    if (!expected) {
      next(new AppError('ADMIN_DISABLED', 'Operator routes are disabled: ADMIN_API_KEY is not set.'));
      return;
    }
    const given = req.get('x-admin-key');
    if (given === undefined || !timingSafeEqual(digest(given), expected)) {
      next(new AppError('UNAUTHENTICATED', 'A valid X-Admin-Key header is required.'));
      return;
    }
    next();
  };
}
