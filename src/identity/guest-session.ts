import { AppError } from '../platform/errors.js';
import type { RateLimitStore } from '../rate-limit/rate-limit.store.js';
import type { GuestToken, TokenVerifier } from './token-verifier.js';

const HOUR_SECONDS = 3600;

/**
 * Mints guest sessions, at most `perIpPerHour` per client IP in fixed one-hour windows. The
 * counters live in the storage backend, so the limit holds across API processes; past it,
 * 429 RATE_LIMITED with Retry-After = seconds to the window's end. This stops credit farming.
 */
export class GuestSessionService {
  constructor(
    private readonly verifier: TokenVerifier,
    private readonly rateLimits: RateLimitStore,
    private readonly perIpPerHour: number,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async create(clientIp: string): Promise<GuestToken> {
    const hit = await this.rateLimits.hit(`guest-sessions:${clientIp}`, HOUR_SECONDS);
    if (hit.count > this.perIpPerHour) {
      const retryAfter = Math.max(1, Math.ceil((hit.resetsAt.getTime() - this.now().getTime()) / 1000));
      throw new AppError('RATE_LIMITED', 'Too many guest sessions from this address; try again later.', {
        headers: { 'Retry-After': String(retryAfter) },
      });
    }
    return this.verifier.signGuest();
  }
}
