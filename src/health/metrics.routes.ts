import { Router } from 'express';
import { route } from '../http/route.js';
import type { Metrics } from '../platform/metrics.js';

/** `GET /metrics`: the app's registry in the Prometheus text format. */
export function metricsRoutes(metrics: Metrics): Router {
  const router = Router();
  route(router, '/metrics', {
    get: async (_req, res) => {
      const body = await metrics.registry.metrics();
      res.status(200).set('Content-Type', metrics.registry.contentType).set('Cache-Control', 'no-store').send(body);
    },
  });
  return router;
}
