import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { headerRefs } from '../http/openapi-components.js';
import { errors } from '../http/openapi-responses.js';
import { defineRoutes } from '../http/route.js';
import { AppError } from '../platform/errors.js';
import type { Metrics } from '../platform/metrics.js';

const BEARER = /^bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * With METRICS_TOKEN set, GET /metrics answers only `Authorization: Bearer <token>`; anything
 * else is 401 UNAUTHENTICATED (with WWW-Authenticate: Bearer). The comparison takes the same
 * time whatever the guess (both sides hashed to one length, then compared in constant time).
 */
export function requireMetricsToken(token: string): RequestHandler {
  const expected = createHash('sha256').update(token).digest();
  return (req, _res, next) => {
    const match = BEARER.exec(req.get('authorization') ?? '');
    const given = createHash('sha256').update(match?.[1] ?? '').digest();
    if (!match || !timingSafeEqual(given, expected)) {
      next(new AppError('UNAUTHENTICATED', 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>.'));
      return;
    }
    next();
  };
}

/** `GET /metrics`: the app's registry in the Prometheus text format (behind METRICS_TOKEN when set). */
export const metricsApi = defineRoutes<{ metrics: Metrics; token?: string }>([
  {
    method: 'get',
    path: '/metrics',
    // Its own check: the metrics token, when set.
    auth: 'none',
    handle: ({ metrics, token }) => {
      const send: RequestHandler = async (_req, res) => {
        const body = await metrics.registry.metrics();
        res.status(200).set('Content-Type', metrics.registry.contentType).set('Cache-Control', 'no-store').send(body);
      };
      return token ? [requireMetricsToken(token), send] : send;
    },
    doc: {
      tags: ['operations'],
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      description:
        'With METRICS_TOKEN set, only `Authorization: Bearer <METRICS_TOKEN>` is answered (401 otherwise). ' +
        'With METRICS_PORT set, this route is served on that port only (a second listener) and is 404 on the API port.',
      security: [{}, { metricsToken: [] }],
      responses: {
        200: {
          description: 'The Prometheus text exposition format',
          headers: headerRefs('Cache-Control'),
          content: { 'text/plain': { schema: { type: 'string' }, example: 'http_requests_total{method="GET",route="/health/live",status="200"} 1\n' } },
        },
        ...errors(['UNAUTHENTICATED', 'NOT_FOUND', 'INTERNAL_ERROR']),
      },
    },
  },
]);

export const metricsRoutes = (metrics: Metrics, token?: string) => metricsApi.router({ metrics, token });
