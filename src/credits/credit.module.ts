import type { ErrorRequestHandler, RequestHandler, Router } from 'express';
import type { Config } from '../config.js';
import { ConsentService } from '../consent/consent.service.js';
import { consentAdminRoutes } from '../consent/consent.admin.routes.js';
import { MemoryConsentRepository } from '../consent/consent.repository.memory.js';
import { PostgresConsentRepository } from '../consent/consent.repository.postgres.js';
import { consentRoutes } from '../consent/consent.routes.js';
import { requireAdminKey } from '../identity/admin.middleware.js';
import { authenticate, ensureAccount, ensureAccountOnError } from '../identity/auth.middleware.js';
import { GuestSessionService } from '../identity/guest-session.js';
import { guestSessionRoutes } from '../identity/guest-session.routes.js';
import { TokenVerifier } from '../identity/token-verifier.js';
import type { Database } from '../platform/db.js';
import type { Metrics } from '../platform/metrics.js';
import type { StorageGuard } from '../platform/storage-guard.js';
import type { RateLimitStore } from '../rate-limit/rate-limit.store.js';
import { MemoryRateLimitStore } from '../rate-limit/rate-limit.store.memory.js';
import { PostgresRateLimitStore } from '../rate-limit/rate-limit.store.postgres.js';
import type { IdempotencyStore } from '../idempotency/idempotency.store.js';
import { MemoryIdempotencyStore } from '../idempotency/idempotency.store.memory.js';
import { PostgresIdempotencyStore } from '../idempotency/idempotency.store.postgres.js';
import { creditAdminRoutes } from './credit.admin.routes.js';
import type { CreditPolicy, CreditRepository } from './credit.repository.js';
import { MemoryCreditRepository } from './credit.repository.memory.js';
import { PostgresCreditRepository } from './credit.repository.postgres.js';
import { creditRoutes } from './credit.routes.js';
import { CreditService } from './credit.service.js';

/** What the credit, consent and identity features give the rest of the app. */
export interface CreditFeatures {
  credits: CreditService;
  consents: ConsentService;
  /** Fixed-window counters in the storage backend (shared by processes on PostgreSQL). */
  rateLimits: RateLimitStore;
  /**
   * Idempotency-Key records, on the storage of the credits: recording an answer settles its held
   * charge in the same step, so both must live in one place.
   */
  idempotency: IdempotencyStore;
  /** Verifies the bearer token and puts the caller on the response (`callerOf(res)`). */
  authenticate: RequestHandler;
  /** `authenticate`, then creates the caller's credit row on first use: for routes that do not read credits. */
  authenticateAndEnsure: RequestHandler[];
  /**
   * For routes after `authenticate` whose every success reads or charges credits (creating the
   * row): the last handler of the route, creating the row when the request fails instead.
   */
  ensureOnError: ErrorRequestHandler;
  requireAdmin: RequestHandler;
  routers: Router[];
}

export function creditPolicy(config: Config): CreditPolicy {
  return {
    guestAllowance: config.credits.guestAllowance,
    registeredAllowance: config.credits.registeredAllowance,
    resetPeriodMs: Math.round(config.credits.resetPeriodHours * 3_600_000),
  };
}

/** Builds the repositories by STORAGE_BACKEND, the services, the middleware and the routers. */
export function createCreditFeatures(options: { config: Config; database: Database | undefined; dbGuard: StorageGuard; metrics?: Metrics }): CreditFeatures {
  const { config, database, dbGuard, metrics } = options;
  const policy = creditPolicy(config);
  let repository: CreditRepository;
  let consents: ConsentService;
  let rateLimits: RateLimitStore;
  let idempotency: IdempotencyStore;
  if (config.storageBackend === 'postgres') {
    if (!database) throw new Error('STORAGE_BACKEND=postgres needs a database');
    repository = new PostgresCreditRepository(database.sequelize, dbGuard, policy, undefined, database.replicaReads);
    consents = new ConsentService(new PostgresConsentRepository(database.sequelize, dbGuard, undefined, database.replicaReads));
    rateLimits = new PostgresRateLimitStore(database.sequelize, dbGuard);
    idempotency = new PostgresIdempotencyStore(database.sequelize, dbGuard, undefined, {
      maxKeysPerUser: config.idempotencyMaxKeysPerUser,
      // Answers in the `query_cache` table of this database are referred to, not copied (ADR 0010).
      referToCache: config.cacheBackend === 'postgres',
    });
  } else {
    const memory = new MemoryCreditRepository(policy);
    repository = memory;
    consents = new ConsentService(new MemoryConsentRepository());
    rateLimits = new MemoryRateLimitStore();
    idempotency = new MemoryIdempotencyStore(undefined, { maxKeysPerUser: config.idempotencyMaxKeysPerUser }, memory);
  }
  // The repository reports each grant it wrote (new account, reset that raised a balance): no extra round trip.
  if (metrics) repository.onGranted((g) => metrics.creditsGranted.inc({ user_kind: g.isGuest ? 'guest' : 'registered' }, g.amount));
  const credits = new CreditService(repository);
  const verifier = new TokenVerifier(config);
  const auth = authenticate(verifier);
  const authenticateAndEnsure = [auth, ensureAccount((caller) => credits.ensure(caller))];
  const requireAdmin = requireAdminKey(config.adminApiKey);
  const sessions = new GuestSessionService(verifier, rateLimits, { perIpPerHour: config.sessions.perIpPerHour, perHour: config.sessions.perHour });
  return {
    credits,
    consents,
    rateLimits,
    idempotency,
    authenticate: auth,
    authenticateAndEnsure,
    ensureOnError: ensureAccountOnError((caller) => credits.ensure(caller)),
    requireAdmin,
    routers: [
      guestSessionRoutes(sessions),
      creditRoutes(credits, auth),
      consentRoutes(consents, authenticateAndEnsure),
      creditAdminRoutes(credits, requireAdmin),
      consentAdminRoutes(consents, requireAdmin),
    ],
  };
}
