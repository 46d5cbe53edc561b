import type { Response } from 'express';

/** Who is calling: the small identity the services work with, whatever authenticated it. */
export interface Caller {
  userId: string;
  isGuest: boolean;
}

/** Guest ids are minted by this API: `guest_` and a lower-case UUID. */
export const GUEST_USER_ID = /^guest_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A registered user's id is the identity provider's `sub`: 1–128 of these characters, never `guest_…`. */
export const REGISTERED_USER_ID = /^(?!guest_)[A-Za-z0-9_.:@-]{1,128}$/;

export function isGuestUserId(userId: string): boolean {
  return GUEST_USER_ID.test(userId);
}

export function isRegisteredUserId(userId: string): boolean {
  return REGISTERED_USER_ID.test(userId);
}

/** A user id by the rules above (operator routes address users by it), or undefined. */
export function callerFromUserId(userId: string): Caller | undefined {
  if (isGuestUserId(userId)) return { userId, isGuest: true };
  if (isRegisteredUserId(userId)) return { userId, isGuest: false };
  return undefined;
}

/** The caller that `authenticate()` put on the response; throws if the route forgot the middleware. */
export function callerOf(res: Response): Caller {
  const caller = (res.locals as { caller?: Caller }).caller;
  if (!caller) throw new Error('route is missing the authenticate() middleware');
  return caller;
}

export function setCaller(res: Response, caller: Caller): void {
  (res.locals as { caller?: Caller }).caller = caller;
}
