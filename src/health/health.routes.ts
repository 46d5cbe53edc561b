import { Router } from 'express';
import { route } from '../http/route.js';
import type { LiveResponse, ReadinessResponse } from './health.schemas.js';
import type { HealthService } from './health.service.js';

export function healthRoutes(health: HealthService): Router {
  const router = Router();
  route(router, '/health/live', {
    get: (_req, res) => {
      const body: LiveResponse = { status: 'ok' };
      res.json(body);
    },
  });
  route(router, '/health/ready', {
    get: async (_req, res) => {
      const readiness: ReadinessResponse = await health.readiness();
      res
        .status(readiness.status === 'unavailable' ? 503 : 200)
        .set('Cache-Control', 'no-store')
        .json(readiness);
    },
  });
  return router;
}
