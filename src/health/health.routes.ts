import { errors, json } from '../http/openapi-responses.js';
import { defineRoutes } from '../http/route.js';
import { liveResponse, readinessResponse, type LiveResponse, type ReadinessResponse } from './health.schemas.js';
import type { HealthService } from './health.service.js';

export const healthApi = defineRoutes<HealthService>([
  {
    method: 'get',
    path: '/health/live',
    auth: 'none',
    handle: () => (_req, res) => {
      const body: LiveResponse = { status: 'ok' };
      res.json(body);
    },
    doc: {
      tags: ['operations'],
      operationId: 'live',
      summary: 'Liveness',
      responses: { 200: json('The process runs', liveResponse, { status: 'ok' }), ...errors(['INTERNAL_ERROR']) },
    },
  },
  {
    method: 'get',
    path: '/health/ready',
    auth: 'none',
    handle: (health) => async (_req, res) => {
      const readiness: ReadinessResponse = await health.readiness();
      res
        .status(readiness.status === 'unavailable' ? 503 : 200)
        .set('Cache-Control', 'no-store')
        .json(readiness);
    },
    doc: {
      tags: ['operations'],
      operationId: 'ready',
      summary: 'Readiness',
      description:
        'A cache or assistant outage is `degraded` (200); a database outage is `unavailable` (503). The database check runs a statement the way the hot path does, so a pooler in transaction mode in front of an API with named statements (`DB_PREPARED_STATEMENTS=true`) is `unavailable` too. A read replica that is down or behind never changes the status: its reads go to the primary.',
      responses: {
        200: json('Ready or degraded', readinessResponse, { status: 'ready', checks: { database: { status: 'up', latencyMs: 1.2 }, cache: { status: 'up', latencyMs: 0.4 }, assistant: { status: 'up', latencyMs: null } } }, ['Cache-Control']),
        503: json('Unavailable: the database is down', readinessResponse, { status: 'unavailable', checks: { database: { status: 'down', latencyMs: null }, cache: { status: 'up', latencyMs: 0.4 }, assistant: { status: 'up', latencyMs: null } } }, ['Cache-Control']),
        ...errors(['INTERNAL_ERROR']),
      },
    },
  },
]);

export const healthRoutes = (health: HealthService) => healthApi.router(health);
