import express, { type Express, type Router } from 'express';
import type { Config } from './config.js';
import { corsFor } from './http/cors.js';
import { errorHandler, notFound } from './http/error-handler.js';
import { httpMetrics } from './http/metrics.middleware.js';
import { requestId } from './http/request-id.js';
import { requestLog } from './http/request-log.js';
import type { RejectionThrottle } from './http/rejection-limit.js';
import { securityHeaders } from './http/security-headers.js';
import type { Logger } from './platform/logger.js';
import type { Metrics } from './platform/metrics.js';

export interface AppDeps {
  config: Config;
  logger: Logger;
  /** Feature routers, each owning full paths (/health/…, /api/v1/…). */
  routers: Router[];
  /** When given, every request is counted and timed by route template (see GET /metrics). */
  metrics?: Metrics;
  /** When given, floods of refused /api requests are throttled (see RejectionThrottle). */
  rejections?: RejectionThrottle;
}

/**
 * The Express app: request id, security headers, metrics, request log, CORS, the refusal
 * throttle, the feature routers, then 404 and the error envelope.
 */
export function createApp({ config, logger, routers, metrics, rejections }: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.set('etag', false);

  app.use(requestId());
  app.use(securityHeaders());
  if (metrics) app.use(httpMetrics(metrics));
  app.use(requestLog(logger));
  if (config.corsOrigins) app.use(corsFor(config.corsOrigins));
  const throttle = rejections?.enabled ? rejections : undefined;
  if (throttle) app.use('/api', throttle.guard());

  for (const router of routers) app.use(router);

  app.use(notFound());
  if (throttle) app.use('/api', throttle.count());
  app.use(errorHandler(logger));
  return app;
}
