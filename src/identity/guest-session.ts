import { AppError } from '../platform/errors.js';
import type { RateLimitStore } from '../rate-limit/rate-limit.store.js';
import { addressGroup } from './client-address.js';
import type { GuestToken, TokenVerifier } from './token-verifier.js';

const HOUR_SECONDS = 3600;
/** The counter of every guest session minted, whatever the address. */
const ALL_GUESTS_KEY = 'guest-sessions:all';

export interface GuestSessionLimits {
  /** Sessions one address group (IPv4 /32, IPv6 /64) may mint per hour. */
  perIpPerHour: number;
  /** Sessions all addresses together may mint per hour; 0 = no ceiling. */
  perHour: number;
}

/**
 * Mints guest sessions, at most `perIpPerHour` per client address group (an IPv6 client counts
 * by its /64) and at most `perHour` in all, in fixed one-hour windows. The counters live in the
 * storage backend, so both limits hold across API processes; past either, 429 RATE_LIMITED with
 * Retry-After = seconds to the window's end. This stops credit farming: from many addresses of
 * one network, and from many networks at once.
 */
export class GuestSessionService {
  constructor(
    private readonly verifier: TokenVerifier,
    private readonly rateLimits: RateLimitStore,
    private readonly limits: GuestSessionLimits,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async create(clientIp: string): Promise<GuestToken> {
    const perAddress = await this.rateLimits.hit(`guest-sessions:${addressGroup(clientIp)}`, HOUR_SECONDS);
    if (perAddress.count > this.limits.perIpPerHour) {
      throw this.limited('Too many guest sessions from this address; try again later.', perAddress.resetsAt);
    }
    // Counted only for sessions the address limit let through: one address cannot use up the
    // ceiling beyond its own allowance.
    if (this.limits.perHour > 0) {
      const all = await this.rateLimits.hit(ALL_GUESTS_KEY, HOUR_SECONDS);
      if (all.count > this.limits.perHour) {
        throw this.limited('Too many guest sessions are being created right now; try again later.', all.resetsAt);
      }
    }
    return this.verifier.signGuest();
  }

  private limited(message: string, resetsAt: Date): AppError {
    const retryAfter = Math.max(1, Math.ceil((resetsAt.getTime() - this.now().getTime()) / 1000));
    return new AppError('RATE_LIMITED', message, { headers: { 'Retry-After': String(retryAfter) } });
  }
}
