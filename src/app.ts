import express, { type Express, type Request, type Response, type RequestHandler, type Router } from 'express';
import type { Config } from './config.js';
import { corsFor } from './http/cors.js';
import { errorHandler, notFound } from './http/error-handler.js';
import { httpMetricsRecorder } from './http/metrics.middleware.js';
import { assignRequestId } from './http/request-id.js';
import { requestLogger } from './http/request-log.js';
import type { RejectionThrottle } from './http/rejection-limit.js';
import type { MountableRoutes } from './http/route.js';
import { securityHeaderWriter } from './http/security-headers.js';
import type { Logger } from './platform/logger.js';
import type { Metrics } from './platform/metrics.js';

export interface AppDeps {
  config: Config;
  logger: Logger;
  /**
   * Feature routers, each owning full paths (/health/…, /api/v1/…), walked in this order; a route
   * table's routes (RouteTable.routes) are registered on the app's own router at their place.
   */
  routers: (Router | MountableRoutes)[];
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

  // What every request gets first, in this order, in one middleware: each step is a layer
  // fewer for the router to walk on every request.
  const setSecurityHeaders = securityHeaderWriter();
  const steps: ((req: Request, res: Response) => void)[] = [assignRequestId, (_req, res) => setSecurityHeaders(res)];
  if (metrics) steps.push(httpMetricsRecorder(metrics));
  steps.push(requestLogger(logger));
  app.use(everyRequest(steps));
  if (config.corsOrigins) app.use(corsFor(config.corsOrigins));
  const throttle = rejections?.enabled ? rejections : undefined;
  if (throttle) app.use(throttle.guard('/api'));

  for (const router of routers) {
    if ('mountOn' in router) router.mountOn(app);
    else app.use(router);
  }

  app.use(notFound());
  if (throttle) app.use('/api', throttle.count());
  app.use(errorHandler(logger));
  return app;
}

/** Runs `steps` on the request, in order, then passes it on. */
function everyRequest(steps: readonly ((req: Request, res: Response) => void)[]): RequestHandler {
  return (req, res, next) => {
    for (let i = 0; i < steps.length; i++) steps[i]!(req, res);
    next();
  };
}
