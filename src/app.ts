import express, { type Express, type Router } from 'express';
import type { Config } from './config.js';
import { errorHandler, notFound } from './http/error-handler.js';
import { httpMetrics } from './http/metrics.middleware.js';
import { requestId } from './http/request-id.js';
import { requestLog } from './http/request-log.js';
import type { Logger } from './platform/logger.js';
import type { Metrics } from './platform/metrics.js';

export interface AppDeps {
  config: Config;
  logger: Logger;
  /** Feature routers, each owning full paths (/health/…, /api/v1/…). */
  routers: Router[];
  /** When given, every request is counted and timed by route template (see GET /metrics). */
  metrics?: Metrics;
}

/** The Express app: request id, request log, the feature routers, then 404 and the error envelope. */
export function createApp({ config, logger, routers, metrics }: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.set('etag', false);

  app.use(requestId());
  if (metrics) app.use(httpMetrics(metrics));
  app.use(requestLog(logger));

  for (const router of routers) app.use(router);

  app.use(notFound());
  app.use(errorHandler(logger));
  return app;
}
