import type { Request, RequestHandler, Response } from 'express';
import { HTTP_METRIC_LABEL_SETS_MAX } from '../platform/memory-bounds.js';
import type { Metrics } from '../platform/metrics.js';

/** The route label of a request that matched no route: never the raw URL, so cardinality stays bounded. */
export const UNMATCHED_ROUTE = 'unmatched';

type Labels = { method: string; route: string; status: string };

/**
 * Counts every answered request and observes its duration in `http_requests_total` and
 * `http_request_duration_seconds`, labelled by method, route TEMPLATE and status. The label
 * objects are interned (see labelInterner), so the hot path allocates nothing per request beyond
 * the finish listener.
 */
export function httpMetrics(metrics: Metrics): RequestHandler {
  const record = httpMetricsRecorder(metrics);
  return (req, res, next) => {
    record(req, res);
    next();
  };
}

/** What httpMetrics() does to a request, as a function (the app runs it in its first middleware). */
export function httpMetricsRecorder(metrics: Metrics): (req: Request, res: Response) => void {
  const labelsFor = labelInterner();
  return (req, res) => {
    const started = performance.now();
    // 'finish' is emitted once, so `on` does what `once` would without its wrapper.
    res.on('finish', () => {
      const labels = labelsFor(req.method, routeTemplate(req), res.statusCode);
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, (performance.now() - started) / 1000);
    });
  };
}

/**
 * The template of the route that handled the request (`/api/v1/admin/users/:userId/credits`),
 * including the mount path of its router, or `unmatched`. A route that answered 405 counts
 * under its own template: the path is known, the method is not.
 */
export function routeTemplate(req: Request): string {
  const route = req.route as { path?: unknown } | undefined;
  if (!route || typeof route.path !== 'string') return UNMATCHED_ROUTE;
  return req.baseUrl ? req.baseUrl + route.path : route.path;
}

/**
 * The label object of each (method, route, status), kept in nested maps (method → route →
 * status). Every key is bounded (HTTP methods, declared routes, status codes); the sets kept are
 * capped at `max` (HTTP_METRIC_LABEL_SETS_MAX) all the same: past it a label object is made per
 * call and not kept. `size` tells how many are kept.
 */
export function labelInterner(max = HTTP_METRIC_LABEL_SETS_MAX): ((method: string, route: string, status: number) => Labels) & { readonly size: number } {
  const interned = new Map<string, Map<string, Map<number, Labels>>>();
  let size = 0;
  const labelsFor = (method: string, route: string, status: number): Labels => {
    const kept = interned.get(method)?.get(route)?.get(status);
    if (kept) return kept;
    const labels = { method, route, status: String(status) };
    if (size >= max) return labels;
    let byRoute = interned.get(method);
    if (!byRoute) interned.set(method, (byRoute = new Map()));
    let byStatus = byRoute.get(route);
    if (!byStatus) byRoute.set(route, (byStatus = new Map()));
    byStatus.set(status, labels);
    size++;
    return labels;
  };
  return Object.defineProperty(labelsFor, 'size', { get: () => size }) as typeof labelsFor & { readonly size: number };
}
