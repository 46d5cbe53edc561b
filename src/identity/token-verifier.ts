import { randomUUID } from 'node:crypto';
import { createRemoteJWKSet, decodeJwt, errors, jwtVerify, SignJWT, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';
import type { Config } from '../config.js';
import { AppError, StorageUnavailableError } from '../platform/errors.js';
import { VERIFIED_TOKENS_MAX } from '../platform/memory-bounds.js';
import { GUEST_USER_ID, REGISTERED_USER_ID, type Caller } from './caller.js';

/** Issuer and audience of the guest tokens this API signs; registered tokens never carry them. */
const GUEST_ISSUER = 'shopassist-api';
const GUEST_AUDIENCE = 'shopassist-guest';
/** The claim that marks a guest token. A token with it is only ever verified as a guest token. */
const GUEST_CLAIM = 'guest';
const CLOCK_TOLERANCE_SECONDS = 30;
/**
 * A verified token is answered from memory until its `exp`, and for at most this long, so that a
 * key the identity provider withdraws from its key set stops working within this bound.
 */
const VERIFIED_TOKEN_TTL_MS = 5 * 60_000;

interface Verified {
  caller: Caller;
  /** Epoch ms until which the token is answered without verifying it again. */
  until: number;
}

export interface GuestToken {
  userId: string;
  token: string;
  expiresAt: Date;
}

const unauthenticated = (message = 'A valid bearer token is required.') => new AppError('UNAUTHENTICATED', message);

/**
 * Signs guest tokens and verifies both kinds of bearer token:
 * - guest: HS256 with SESSION_SECRET, our issuer/audience, `guest: true`, sub `guest_<uuid>`;
 * - registered: HS256 with AUTH_JWT_SECRET, or RS256/ES256 with the keys at AUTH_JWKS_URL
 *   (jose fetches and caches the key set), iss/aud when configured, a sub by the user-id rules.
 * Both require `exp`, honour `nbf` and allow 30 s of clock skew; `alg: none` and every other
 * algorithm are refused. A guest token is never accepted as a registered one, nor the reverse.
 *
 * A verified token is remembered (a bounded LRU) until its `exp` or for at most 5 minutes,
 * whichever comes first: the same token needs no second signature check. Refusals are never
 * remembered, so a token refused for `nbf` is accepted once that time has come.
 */
export class TokenVerifier {
  private readonly sessionKey: Uint8Array;
  private readonly registeredKey: Uint8Array | JWTVerifyGetKey | undefined;
  private readonly registeredAlgorithms: string[];
  private readonly verified = new LRUCache<string, Verified>({ max: VERIFIED_TOKENS_MAX });

  constructor(
    private readonly settings: { sessions: Config['sessions']; auth: Config['auth'] },
    private readonly now: () => Date = () => new Date(),
  ) {
    this.sessionKey = new TextEncoder().encode(settings.sessions.secret);
    if (settings.auth.jwtSecret) {
      this.registeredKey = new TextEncoder().encode(settings.auth.jwtSecret);
      this.registeredAlgorithms = ['HS256'];
    } else if (settings.auth.jwksUrl) {
      this.registeredKey = createRemoteJWKSet(new URL(settings.auth.jwksUrl), { timeoutDuration: 1500, cooldownDuration: 30_000 });
      this.registeredAlgorithms = ['RS256', 'ES256'];
    } else {
      this.registeredAlgorithms = [];
    }
  }

  async signGuest(): Promise<GuestToken> {
    const userId = `guest_${randomUUID()}`;
    const issuedAt = Math.floor(this.now().getTime() / 1000);
    const expiresAtSeconds = issuedAt + this.settings.sessions.ttlDays * 86_400;
    const token = await new SignJWT({ [GUEST_CLAIM]: true })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(userId)
      .setIssuer(GUEST_ISSUER)
      .setAudience(GUEST_AUDIENCE)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAtSeconds)
      .sign(this.sessionKey);
    return { userId, token, expiresAt: new Date(expiresAtSeconds * 1000) };
  }

  /**
   * The caller of a token verified earlier and still remembered (see above), at once; undefined
   * when the token must go through `verify`.
   */
  remembered(token: string): Caller | undefined {
    const known = this.verified.get(token);
    return known && this.now().getTime() < known.until ? known.caller : undefined;
  }

  /** The caller a bearer token proves, or 401 UNAUTHENTICATED. */
  async verify(token: string): Promise<Caller> {
    const nowMs = this.now().getTime();
    const known = this.verified.get(token);
    if (known && nowMs < known.until) return known.caller;
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch {
      throw unauthenticated('The bearer token is malformed.');
    }
    const { caller, exp } = unverified[GUEST_CLAIM] === undefined ? await this.verifyRegistered(token) : await this.verifyGuest(token);
    const until = Math.min(exp * 1000, nowMs + VERIFIED_TOKEN_TTL_MS);
    if (until > nowMs) this.verified.set(token, { caller, until });
    else this.verified.delete(token);
    return caller;
  }

  private async verifyGuest(token: string): Promise<{ caller: Caller; exp: number }> {
    const payload = await this.check(() =>
      jwtVerify(token, this.sessionKey, {
        algorithms: ['HS256'],
        issuer: GUEST_ISSUER,
        audience: GUEST_AUDIENCE,
        requiredClaims: ['exp', 'sub'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: this.now(),
      }),
    );
    if (payload[GUEST_CLAIM] !== true || typeof payload.sub !== 'string' || !GUEST_USER_ID.test(payload.sub)) throw unauthenticated();
    return { caller: Object.freeze({ userId: payload.sub, isGuest: true }), exp: payload.exp! };
  }

  private async verifyRegistered(token: string): Promise<{ caller: Caller; exp: number }> {
    const key = this.registeredKey;
    if (!key) throw unauthenticated('Registered accounts are not enabled on this server.');
    const options = {
      algorithms: this.registeredAlgorithms,
      issuer: this.settings.auth.issuer,
      audience: this.settings.auth.audience,
      requiredClaims: ['exp', 'sub'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: this.now(),
    };
    const payload = await this.check(() => (key instanceof Uint8Array ? jwtVerify(token, key, options) : jwtVerify(token, key, options)));
    if (typeof payload.sub !== 'string' || !REGISTERED_USER_ID.test(payload.sub)) {
      throw unauthenticated('The token subject is not a valid user id.');
    }
    return { caller: Object.freeze({ userId: payload.sub, isGuest: false }), exp: payload.exp! };
  }

  private async check(verify: () => Promise<{ payload: JWTPayload }>): Promise<JWTPayload> {
    try {
      return (await verify()).payload;
    } catch (err) {
      // The identity provider's key set cannot be fetched: not the caller's fault.
      if (err instanceof errors.JWKSTimeout || (err instanceof TypeError && /fetch/i.test(err.message))) {
        throw new StorageUnavailableError(5, err);
      }
      if (err instanceof errors.JOSEError) {
        throw unauthenticated(err instanceof errors.JWTExpired ? 'The bearer token has expired.' : 'The bearer token is not valid.');
      }
      throw err;
    }
  }
}
