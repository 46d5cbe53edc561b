import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { guest } from '../support/shoppers.js';

// The body that held the event loop ~100-200 ms per request while a trailing-white-space
// pattern trimmed it (8 in parallel stalled /health/live for over a second). Over HTTP it is now
// refused with 400 for a few milliseconds of CPU in all (server and test client together).
const QUADRATIC = { query: `x${' '.repeat(16_350)}x` };

describe('a body built to make validation quadratic', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ STORAGE_BACKEND: 'memory', CACHE_BACKEND: 'memory' });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('is refused 400, eight at once, for under 150 ms of CPU, while /health/live stays quick', async () => {
    const u = await guest(app);
    const send = () => request(app.app).post('/api/v1/assistant/query').set('Authorization', u.auth).send(QUADRATIC);
    await send(); // warm-up: route, JIT
    const before = process.cpuUsage();
    const started = performance.now();
    const [live, ...refused] = await Promise.all([request(app.app).get('/health/live'), ...Array.from({ length: 8 }, send)]);
    const wallMs = performance.now() - started;
    const used = process.cpuUsage(before);
    for (const res of refused) {
      expect(res.status).toBe(400);
      expect(res.body.error.details).toEqual([{ path: 'query', message: '1–500 characters' }]);
    }
    expect(live.status).toBe(200);
    // Before the fix: ~800 ms of CPU for these eight (and as long for /health/live to answer).
    expect((used.user + used.system) / 1000).toBeLessThan(150);
    expect(wallMs).toBeLessThan(1000);
  });
});
