import { createHash, timingSafeEqual } from 'node:crypto';
import { Router, type RequestHandler } from 'express';
import { route } from '../http/route.js';
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
export function metricsRoutes(metrics: Metrics, token?: string): Router {
  const router = Router();
  const send: RequestHandler = async (_req, res) => {
    const body = await metrics.registry.metrics();
    res.status(200).set('Content-Type', metrics.registry.contentType).set('Cache-Control', 'no-store').send(body);
  };
  route(router, '/metrics', { get: token ? [requireMetricsToken(token), send] : send });
  return router;
}
