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
import type { MountableRoutes, RouteGuards } from '../http/route.js';
import { requireAdminKey } from '../identity/admin.middleware.js';
import { authenticate } from '../identity/auth.middleware.js';
import { guestSessionRoutes } from '../identity/guest-session.routes.js';
import { maintenanceRoutes } from '../maintenance/maintenance.routes.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import { webRoutes } from '../web/web.routes.js';
import type { Services } from './services.js';

// Stage 3 of the wiring (src/container.ts): the middleware the routes share, then every router.

export function createRouters(config: Config, { logger, metrics }: { logger: Logger; metrics: Metrics }, services: Services): (Router | MountableRoutes)[] {
  const { credits } = services;
  // The access checks each route table declares per operation (auth: caller/admin/none, and
  // firstUse): the bearer token, X-Admin-Key, and the caller's credit row made on first use.
  const guards: RouteGuards = {
    authenticate: authenticate(services.verifier),
    requireAdmin: requireAdminKey(config.adminApiKey),
    ensureAccount: (caller) => credits.ensure(caller),
  };
  const retentionDays = config.maintenance.transactionRetentionDays;

  // Every request walks the routers in this order until one matches: the assistant's (the
  // route the shop's frontend lives on) go first. Paths never overlap, so order is only speed.
  return [
    assistantRoutes(services.assistant, guards, config.queryHashKey, logger),
    maintenanceRoutes(services.maintenance, guards, retentionDays),
    guestSessionRoutes(services.sessions),
    creditRoutes(credits, guards),
    consentRoutes(services.consents, guards),
    creditAdminRoutes(credits, guards),
    consentAdminRoutes(services.consents, guards),
    conversationRoutes(services.conversations, guards),
    catalogAdminRoutes(services.catalog, guards, config.assistant.catalogMaxBytes),
    healthRoutes(services.health),
    // With METRICS_PORT set, /metrics is served by an app of its own (see createContainer).
    ...(config.metrics.port === undefined ? [metricsRoutes(metrics, config.metrics.token)] : []),
    cacheAdminRoutes(services.cache, config.adminApiKey),
    docsRoutes(buildOpenApiDocument()),
    webRoutes(),
  ];
}
