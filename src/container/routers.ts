import type { Router } from 'express';
import type { Config } from '../config.js';
import { assistantRoutes } from '../assistant/assistant.routes.js';
import { cacheAdminRoutes } from '../cache/cache.admin.routes.js';
import { catalogAdminRoutes } from '../catalog/catalog.admin.routes.js';
import { consentAdminRoutes } from '../consent/consent.admin.routes.js';
import { consentRoutes } from '../consent/consent.routes.js';
import { conversationRoutes } from '../conversations/conversation.routes.js';
import { creditAdminRoutes } from '../credits/credit.admin.routes.js';
import { creditRoutes } from '../credits/credit.routes.js';
import { healthRoutes } from '../health/health.routes.js';
import { metricsRoutes } from '../health/metrics.routes.js';
import { docsRoutes } from '../http/docs.routes.js';
import { buildOpenApiDocument } from '../http/openapi.js';
import { requireAdminKey } from '../identity/admin.middleware.js';
import { authenticate, ensureAccount, ensureAccountOnError } from '../identity/auth.middleware.js';
import { guestSessionRoutes } from '../identity/guest-session.routes.js';
import { maintenanceRoutes } from '../maintenance/maintenance.routes.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import { webRoutes } from '../web/web.routes.js';
import type { Services } from './services.js';

// Stage 3 of the wiring (src/container.ts): the middleware the routes share, then every router.

export function createRouters(config: Config, { logger, metrics }: { logger: Logger; metrics: Metrics }, services: Services): Router[] {
  const { credits } = services;
  // Verifies the bearer token and puts the caller on the response (`callerOf(res)`).
  const auth = authenticate(services.verifier);
  // For routes that do not read credits: `auth`, then the caller's credit row is made on first use.
  const authenticateAndEnsure = [auth, ensureAccount((caller) => credits.ensure(caller))];
  // For routes whose every success reads or charges credits (making the row): their last
  // handler, making the row when the request fails instead.
  const ensureOnError = ensureAccountOnError((caller) => credits.ensure(caller));
  const requireAdmin = requireAdminKey(config.adminApiKey);
  const retentionDays = config.maintenance.transactionRetentionDays;

  // Every request walks the routers in this order until one matches: the assistant's (the
  // route the shop's frontend lives on) go first. Paths never overlap, so order is only speed.
  return [
    // Every answer charges (or, replayed, reads) the caller's credits, which makes their row.
    assistantRoutes(services.assistant, [auth], ensureOnError, config.queryHashKey, logger),
    maintenanceRoutes(services.maintenance, requireAdmin, retentionDays),
    guestSessionRoutes(services.sessions),
    creditRoutes(credits, auth),
    consentRoutes(services.consents, authenticateAndEnsure),
    creditAdminRoutes(credits, requireAdmin),
    consentAdminRoutes(services.consents, requireAdmin),
    conversationRoutes(services.conversations, authenticateAndEnsure),
    catalogAdminRoutes(services.catalog, requireAdmin, config.assistant.catalogMaxBytes),
    healthRoutes(services.health),
    // With METRICS_PORT set, /metrics is served by an app of its own (see createContainer).
    ...(config.metrics.port === undefined ? [metricsRoutes(metrics, config.metrics.token)] : []),
    cacheAdminRoutes(services.cache, config.adminApiKey),
    docsRoutes(buildOpenApiDocument()),
    webRoutes(),
  ];
}
