import { createHash } from 'node:crypto';
import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import { LRUCache } from 'lru-cache';
import type { Caller } from '../identity/caller.js';
import { addressGroup } from '../identity/client-address.js';
import { AppError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { REJECTION_BLOCKED_MAX } from '../platform/memory-bounds.js';
import type { RateLimitStore } from '../rate-limit/rate-limit.store.js';
import { expectedError } from './error-handler.js';

const WINDOW_SECONDS = 60;
/** The answers counted: a request the API refused for its own shape (400, 413, 415). */
const COUNTED_STATUSES = new Set([400, 413, 415]);

export interface RejectionLimits {
  /** Refused requests per caller (user id) and minute; 0 = not counted per caller. */
  perCallerPerMinute: number;
  /** Refused requests per client address group (IPv4 /32, IPv6 /64) and minute; 0 = not counted per address. */
  perIpPerMinute: number;
}

/**
 * Throttles floods of refused requests. Every 400/413/415 answer of an /api route is counted
 * per caller and per client address in one-minute windows in the storage backend (so the
 * counts hold across processes). The refusal that goes past a limit is answered 429
 * RATE_LIMITED instead, and from then until the window ends this process answers that
 * address (and that bearer token) 429 before parsing anything: validation work of a flood is
 * bounded by the limit, not by the sender. Other processes learn of it at their next refusal.
 */
export class RejectionThrottle {
  private readonly blocked = new LRUCache<string, number>({ max: REJECTION_BLOCKED_MAX });

  constructor(
    private readonly store: RateLimitStore,
    private readonly limits: RejectionLimits,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  get enabled(): boolean {
    return this.limits.perCallerPerMinute > 0 || this.limits.perIpPerMinute > 0;
  }

  /**
   * Early in the chain: turns away an address or token blocked on this process, on the paths
   * under `mountPath` (matched as Express matches a mount path: case-insensitively, whole
   * segments). Not mounted itself, so that while nothing is blocked a request pays one check, not
   * the router's trimming and restoring of its URL.
   */
  guard(mountPath: string): RequestHandler {
    const prefix = mountPath.toLowerCase();
    return (req, _res, next) => {
      if (this.blocked.size === 0 || !isUnder(req.path, prefix)) {
        next();
        return;
      }
      const until = Math.max(this.blockedUntil(`ip:${addressOf(req)}`), this.blockedUntil(tokenKey(req)));
      if (until > 0) {
        next(this.limited(until));
        return;
      }
      next();
    };
  }

  /** Just before the error envelope: counts refusals and turns the one past a limit into 429. */
  count(): ErrorRequestHandler {
    return (err: unknown, req, res, next) => {
      const status = expectedError(err)?.status;
      if (status === undefined || !COUNTED_STATUSES.has(status)) {
        next(err);
        return;
      }
      const caller = (res.locals as { caller?: Caller }).caller;
      this.record(req, caller).then(
        (until) => next(until > 0 ? this.limited(until) : err),
        (e: unknown) => {
          // A storage outage must not turn a 400 into a 503: the refusal goes out as it was.
          this.logger.warn({ err: e }, 'refused request not counted: the rate-limit store did not answer');
          next(err);
        },
      );
    };
  }

  /** Counts one refusal; resolves when its sender is blocked until (epoch ms), or 0. */
  private async record(req: Request, caller: Caller | undefined): Promise<number> {
    const { perCallerPerMinute, perIpPerMinute } = this.limits;
    let until = 0;
    if (perIpPerMinute > 0) {
      const key = `ip:${addressOf(req)}`;
      const hit = await this.store.hit(`rejected:${key}`, WINDOW_SECONDS);
      if (hit.count > perIpPerMinute) until = this.block(key, hit.resetsAt);
    }
    if (perCallerPerMinute > 0 && caller) {
      const hit = await this.store.hit(`rejected:user:${caller.userId}`, WINDOW_SECONDS);
      if (hit.count > perCallerPerMinute) {
        const token = tokenKey(req);
        if (token) until = Math.max(until, this.block(token, hit.resetsAt));
        else until = Math.max(until, hit.resetsAt.getTime());
      }
    }
    return until;
  }

  private block(key: string, resetsAt: Date): number {
    this.blocked.set(key, resetsAt.getTime());
    return resetsAt.getTime();
  }

  private blockedUntil(key: string | undefined): number {
    if (!key) return 0;
    const until = this.blocked.get(key);
    if (until === undefined) return 0;
    if (until <= this.now().getTime()) {
      this.blocked.delete(key);
      return 0;
    }
    return until;
  }

  private limited(until: number): AppError {
    const retryAfter = Math.max(1, Math.ceil((until - this.now().getTime()) / 1000));
    return new AppError('RATE_LIMITED', `Too many refused requests; try again in ${retryAfter} s.`, {
      headers: { 'Retry-After': String(retryAfter) },
    });
  }
}

/** Whether `path` is `prefix` (lower case, no trailing slash) or below it, as a mount path matches. */
function isUnder(path: string, prefix: string): boolean {
  return path.slice(0, prefix.length).toLowerCase() === prefix && (path.length === prefix.length || path[prefix.length] === '/');
}

function addressOf(req: Request): string {
  return addressGroup(req.ip ?? req.socket.remoteAddress ?? 'unknown');
}

/** A bearer token's key (a hash: the token itself is never kept). */
function tokenKey(req: Request): string | undefined {
  const header = req.get('authorization');
  return header ? `token:${createHash('sha256').update(header).digest('base64url')}` : undefined;
}
