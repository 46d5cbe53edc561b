import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueryCacheService } from '../../src/cache/query-cache.service.js';
import { cacheBackend } from '../../src/container/backends.js';
import { BreakerRegistry } from '../../src/platform/breaker.js';
import { createLogger } from '../../src/platform/logger.js';
import { createTestApp, testConfig, type TestApp } from '../support/app.js';
import { requireRedis, TEST_REDIS_URL } from '../support/redis.js';
import { TcpProxy, type ProxyMode } from '../support/tcp-proxy.js';
import { OUTAGE_BUDGET_MS, eventually, timed } from '../support/outage.js';

/**
 * Redis cut for real: a TCP proxy between the cache and Redis refuses or blackholes connections.
 * The cache must keep answering (bypass, skipped writes) within the outage budget, readiness must
 * say degraded, and hits must come back by themselves once Redis is reachable again.
 */



const redisUp = await requireRedis('the Redis cache outage tests');

describe.skipIf(!redisUp)('the Redis cache through a cut connection', () => {
  let proxy: TcpProxy;
  let breakers: BreakerRegistry;
  let cache: QueryCacheService;
  let app: TestApp;
  const prefix = `shopassist:test:${randomBytes(6).toString('hex')}:`;
  const key = 'f'.repeat(64);
  const answer = { answer: 'Try the Trailblazer GTX', products: [{ id: 'p-1', price: 129.5 }] };

  beforeAll(async () => {
    proxy = await TcpProxy.forUrl(TEST_REDIS_URL).start();
    const env = { STORAGE_BACKEND: 'memory', CACHE_BACKEND: 'redis', REDIS_URL: proxy.rewrite(TEST_REDIS_URL), ADMIN_API_KEY: 'k'.repeat(32) };
    const config = testConfig(env);
    const logger = createLogger({ level: 'silent' });
    breakers = new BreakerRegistry(logger);
    // The Redis store behind the `cache` breaker, as the app wires it.
    const { store, breaker } = await cacheBackend(config, { database: undefined, databaseGuard: undefined, breakers, logger }, prefix);
    cache = new QueryCacheService(store, { ttlSeconds: config.cache.ttlSeconds, breaker, logger });
    app = await createTestApp(env);
  });
  afterAll(async () => {
    proxy?.setMode('pass');
    await cache?.clear().catch(() => {});
    await cache?.close();
    breakers?.shutdown();
    await app?.close();
    await proxy?.stop();
  });

  for (const mode of ['refuse', 'blackhole'] as ProxyMode[]) {
    it(`${mode}: lookups bypass and writes are skipped within ${OUTAGE_BUDGET_MS} ms, readiness is degraded, and hits return after the cut heals`, async () => {
      await eventually('a hit before the cut', async () => (await cache.set(key, answer), cache.get(key)), (r) => r.status === 'hit');
      await expect(cache.get(key)).resolves.toEqual({ status: 'hit', value: answer });
      const before = await cache.stats();

      proxy.setMode(mode);

      for (let i = 0; i < 6; i++) {
        const read = await timed(() => cache.get(key));
        expect(read.value).toEqual({ status: 'bypass' });
        expect(read.ms).toBeLessThan(OUTAGE_BUDGET_MS);
        const write = await timed(() => cache.set(`${key.slice(0, 60)}beef`, answer));
        expect(write.value).toBe(false);
        expect(write.ms).toBeLessThan(OUTAGE_BUDGET_MS);
      }
      const during = await cache.stats();
      expect(during.bypasses).toBeGreaterThanOrEqual(before.bypasses + 6);
      expect(during.hits).toBe(before.hits);
      expect(during.breaker).toBe('open');
      // With the breaker open, a lookup does not even try Redis.
      expect((await timed(() => cache.get(key))).value).toEqual({ status: 'bypass' });

      const ready = await eventually('readiness degraded', async () => (await timed(() => request(app.app).get('/health/ready'))), (r) => r.value.body.status === 'degraded');
      expect(ready.value.status).toBe(200);
      expect(ready.value.body.checks.cache.status).toBe('down');
      expect(ready.ms).toBeLessThan(OUTAGE_BUDGET_MS);

      proxy.setMode('pass');

      await eventually('a hit after the cut healed', () => cache.get(key), (r) => r.status === 'hit');
      expect((await cache.stats()).breaker).toBe('closed');
      const healed = await eventually('readiness ready', () => request(app.app).get('/health/ready'), (r) => r.body.status === 'ready');
      expect(healed.body.checks.cache.status).toBe('up');
    });
  }

  it('reports the breaker and the counters at the operator stats route', async () => {
    const res = await request(app.app).get('/api/v1/admin/cache/stats').set('X-Admin-Key', 'k'.repeat(32));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ backend: 'redis', breaker: 'closed', entries: null });
  });
});
