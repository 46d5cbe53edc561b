import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { eventually, OUTAGE_BUDGET_MS, timed } from '../support/outage.js';
import { requireScaleService, TEST_REDIS_CLUSTER_NODES } from '../support/scale.js';
import { guest } from '../support/shoppers.js';

/**
 * A master of the cache's Redis Cluster killed (SIGKILL): queries keep answering 200, uncached
 * (X-Cache: BYPASS), within the outage budget. The cluster here is this file's own (three
 * redis-server processes on free loopback ports, made with `redis-cli --cluster create`), so
 * killing one of its masters never touches the cluster other tests share. It runs where the
 * shared one runs (TEST_REDIS_CLUSTER_NODES: redis-server and redis-cli are installed).
 */
const up = requireScaleService('the Redis Cluster failover test', { TEST_REDIS_CLUSTER_NODES });
const run = promisify(execFile);
const QUERY = '/api/v1/assistant/query';

/** A port whose cluster bus port (port + 10000) is free too. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 25_000);
    if (taken.has(port) || taken.has(port + 10_000)) continue;
    if ((await free(port)) && (await free(port + 10_000))) {
      taken.add(port);
      return port;
    }
  }
  throw new Error('no free port pair for a cluster node');
}

describe.skipIf(!up)('query cache on a Redis Cluster whose master is killed', () => {
  let dir: string;
  const ports: number[] = [];
  const nodes = new Map<number, ChildProcess>();
  let app: TestApp;

  const clusterState = async (port: number) => {
    const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {});
    try {
      await client.connect();
      const info = (await client.call('CLUSTER', 'INFO')) as string;
      return /cluster_state:(\w+)/.exec(info)?.[1];
    } catch {
      return 'unreachable';
    } finally {
      client.disconnect();
    }
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shopassist-cluster-'));
    const taken = new Set<number>();
    for (let i = 0; i < 3; i++) ports.push(await freeClusterPort(taken));
    for (const port of ports) {
      const node = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '1000', '--save', '', '--appendonly', 'no'],
        { stdio: 'ignore' },
      );
      nodes.set(port, node);
    }
    await eventually('the cluster nodes answer', async () => Promise.all(ports.map(clusterState)), (states) => states.every((s) => s !== 'unreachable'), 10_000);
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    await eventually('cluster_state:ok', async () => Promise.all(ports.map(clusterState)), (states) => states.every((s) => s === 'ok'), 15_000);
    app = await createTestApp({
      STORAGE_BACKEND: 'memory',
      CACHE_BACKEND: 'redis',
      REDIS_CLUSTER_NODES: ports.map((p) => `127.0.0.1:${p}`).join(','),
      SESSION_SECRET: 'guest-session-secret-of-at-least-32-bytes!!',
      GUEST_SESSIONS_PER_IP_PER_HOUR: '100000',
      QUERY_RATE_LIMIT_PER_MINUTE: '0',
      GUEST_CREDITS: '1000',
    });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    for (const node of nodes.values()) node.kill('SIGKILL');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('answers 200 with X-Cache: BYPASS within the outage budget, never 5xx', async () => {
    const u = await guest(app);
    const ask = (query: string) => request(app.app).post(QUERY).set('Authorization', u.auth).send({ query });
    // Questions enough that their entries sit on every master.
    const questions = Array.from({ length: 12 }, (_, i) => `waterproof hiking boots ${i} ${randomUUID().slice(0, 8)}`);
    for (const q of questions) expect((await ask(q)).headers['x-cache']).toBe('MISS');
    for (const q of questions) await eventually('a hit on the cluster', () => ask(q), (r) => r.headers['x-cache'] === 'HIT');

    const victim = ports[0]!;
    nodes.get(victim)!.kill('SIGKILL');
    await eventually('the killed master is gone', () => clusterState(victim), (s) => s === 'unreachable', 5000);

    const seen = new Set<string>();
    for (let round = 0; round < 3; round++) {
      for (const q of questions) {
        const { value: res, ms } = await timed(() => ask(q));
        expect(res.status).toBe(200);
        expect(['HIT', 'BYPASS']).toContain(res.headers['x-cache']);
        expect(ms).toBeLessThan(OUTAGE_BUDGET_MS);
        seen.add(res.headers['x-cache'] as string);
      }
    }
    // The killed master's entries (and, once the cluster marks itself failed, every entry) bypass.
    expect(seen.has('BYPASS')).toBe(true);
    // Readiness: degraded (the cache is down or partly down), never unavailable.
    const ready = await request(app.app).get('/health/ready');
    expect(ready.status).toBe(200);
    expect(['ready', 'degraded']).toContain(ready.body.status);
  }, 60_000);
});
