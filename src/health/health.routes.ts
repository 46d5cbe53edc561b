import { Router } from 'express';
import { route } from '../http/route.js';
import type { HealthService } from './health.service.js';

export function healthRoutes(health: HealthService): Router {
  const router = Router();
  route(router, '/health/live', {
    get: (_req, res) => {
      res.json({ status: 'ok' });
    },
  });
  route(router, '/health/ready', {
    get: async (_req, res) => {
      const readiness = await health.readiness();
      res
        .status(readiness.status === 'unavailable' ? 503 : 200)
        .set('Cache-Control', 'no-store')
        .json(readiness);
    },
  });
  return router;
}
