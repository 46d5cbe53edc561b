/**
 * Cost of the HTTP metrics middleware: the same trivial route served with and without it,
 * alternated over several rounds, reported as a throughput ratio (with / without).
 */
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Request, Response } from 'express';
import { Router } from 'express';
import autocannon from 'autocannon';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { httpMetrics } from '../src/http/metrics.middleware.js';
import { route } from '../src/http/route.js';
import { createLogger } from '../src/platform/logger.js';
import { Metrics } from '../src/platform/metrics.js';
import type { BenchRow, BenchSuite } from './run.js';

const ROUNDS = 3;
const SECONDS = 3;

async function serve(withMetrics: boolean): Promise<{ url: string; close(): Promise<void> }> {
  const router = Router();
  route(router, '/api/v1/items/:itemId', { get: (req, res) => void res.json({ id: req.params.itemId }) });
  const app = createApp({
    config: loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' }),
    logger: createLogger({ level: 'silent' }),
    routers: [router],
    metrics: withMetrics ? new Metrics() : undefined,
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function load(url: string): Promise<{ rps: number; p99: number }> {
  // Distinct ids on every request: the label set must stay one route template regardless.
  let n = 0;
  const result = await autocannon({
    url,
    connections: 32,
    duration: SECONDS,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/api/v1/items/${n++}` }) }],
  });
  return { rps: result.requests.average, p99: result.latency.p99 };
}

/**
 * In process, without sockets: ns per request of the middleware (listener + finish) against the
 * same bookkeeping done naively (a fresh label object per request), on the same fake requests.
 */
function inProcess(): BenchRow[] {
  const N = 200_000;
  const routes = ['/api/v1/items/:itemId', '/api/v1/sessions/guest', '/health/live'];
  const reqs = routes.map((path) => ({ method: 'GET', baseUrl: '', route: { path } }) as unknown as Request);
  const run = (handle: (req: Request, res: Response) => void): number => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) {
      const res = Object.assign(new EventEmitter(), { statusCode: 200 }) as unknown as Response;
      handle(reqs[i % reqs.length]!, res);
      res.emit('finish');
    }
    return Number(process.hrtime.bigint() - t0) / N;
  };
  const m1 = new Metrics();
  const mw = httpMetrics(m1);
  const m2 = new Metrics();
  const naive = (req: Request, res: Response) => {
    const started = performance.now();
    res.once('finish', () => {
      const labels = { method: req.method, route: `${req.baseUrl}${String(req.route?.path)}`, status: String(res.statusCode) };
      m2.httpRequests.inc(labels);
      m2.httpDuration.observe(labels, (performance.now() - started) / 1000);
    });
  };
  const bare = (_req: Request, res: Response) => void res.once('finish', () => {});
  run((req, res) => mw(req, res, () => {})); // warm-up
  run(naive);
  run(bare);
  const ns = { bare: run(bare), middleware: run((req, res) => mw(req, res, () => {})), naive: run(naive) };
  return [
    { round: 'in-process ns/request: listener only', value: Math.round(ns.bare) },
    { round: 'in-process ns/request: metrics middleware', value: Math.round(ns.middleware) },
    { round: 'in-process ns/request: naive labels', value: Math.round(ns.naive) },
    { round: 'ratio middleware/naive', value: Number((ns.middleware / ns.naive).toFixed(3)) },
  ];
}

const suite: BenchSuite = {
  name: 'http-metrics',
  async run() {
    const rows: BenchRow[] = [];
    const without = await serve(false);
    const withM = await serve(true);
    try {
      await load(without.url); // warm-up
      await load(withM.url);
      let a = 0;
      let b = 0;
      for (let i = 0; i < ROUNDS; i++) {
        const off = await load(without.url);
        const on = await load(withM.url);
        a += off.rps;
        b += on.rps;
        rows.push({ round: i + 1, 'req/s without': Math.round(off.rps), 'req/s with': Math.round(on.rps), 'p99 ms without': off.p99, 'p99 ms with': on.p99 });
      }
      rows.push({ round: 'ratio with/without', 'req/s with': Number((b / a).toFixed(3)) });
    } finally {
      await without.close();
      await withM.close();
    }
    rows.push(...inProcess());
    return rows;
  },
};
export default suite;
