import { z } from 'zod';

export const guestSessionResponse = z.object({
  userId: z.string().regex(/^guest_/),
  token: z.string(),
  expiresAt: z.iso.datetime(),
  isGuest: z.literal(true),
});
export type GuestSessionResponse = z.infer<typeof guestSessionResponse>;
