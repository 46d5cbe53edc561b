import { z } from 'zod';
import { pageQueryShape } from '../http/pagination.schemas.js';
import type { Consent } from './consent.repository.js';

export const consentBody = z.strictObject({
  termsAccepted: z.boolean(),
  marketingConsent: z.boolean(),
});

export const consentResponse = z.object({
  userId: z.string(),
  termsAccepted: z.boolean(),
  marketingConsent: z.boolean(),
  /** When consent was first recorded. */
  timestamp: z.iso.datetime(),
  /** The last change. */
  updatedAt: z.iso.datetime(),
});
export type ConsentResponse = z.infer<typeof consentResponse>;

export function toConsentResponse(c: Consent): ConsentResponse {
  return {
    userId: c.userId,
    termsAccepted: c.termsAccepted,
    marketingConsent: c.marketingConsent,
    timestamp: c.recordedAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
}

export const consentListQuery = z.object({
  marketingConsent: z
    .enum(['true', 'false'], { message: 'true or false' })
    .transform((v) => v === 'true')
    .optional(),
  ...pageQueryShape,
});

export const consentListResponse = z.object({
  items: z.array(consentResponse),
  nextCursor: z.string().nullable(),
});
export type ConsentListResponse = z.infer<typeof consentListResponse>;
