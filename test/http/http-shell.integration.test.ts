import { Router } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { jsonBody, MAX_BODY_BYTES } from '../../src/http/json-body.js';
import { route } from '../../src/http/route.js';
import { createLogger } from '../../src/platform/logger.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createTestApp, testConfig, type TestApp } from '../support/app.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('HTTP shell: request ids and the error envelope', () => {
  // A route that takes a JSON body, mounted through the real middleware chain.
  const echo = Router();
  route(echo, '/echo', { post: [jsonBody(), (req, res) => void res.json({ got: req.body as unknown })] });
  route(echo, '/boom', {
    get: () => {
      throw new Error('connect ECONNREFUSED postgres://app:hunter2@db:5432/shop at Query.run (/srv/x.js:1:1)');
    },
  });
  const app = createApp({ config: testConfig(), logger: createLogger({ level: 'silent' }), routers: [echo] });

  it('answers an unknown route with 404 NOT_FOUND in the envelope', async () => {
    const res = await request(app).get('/api/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.body).toEqual({
      error: { code: 'NOT_FOUND', message: expect.any(String), requestId: res.headers['x-request-id'] },
    });
    expect(res.headers['x-request-id']).toMatch(UUID);
  });

  it('echoes a well-formed caller request id and replaces a malformed one', async () => {
    const ok = await request(app).get('/nothing').set('X-Request-Id', 'abc.DEF_1:2-3');
    expect(ok.headers['x-request-id']).toBe('abc.DEF_1:2-3');
    expect(ok.body.error.requestId).toBe('abc.DEF_1:2-3');
    const bad = await request(app).get('/nothing').set('X-Request-Id', 'has spaces!');
    expect(bad.headers['x-request-id']).toMatch(UUID);
    const long = await request(app).get('/nothing').set('X-Request-Id', 'a'.repeat(129));
    expect(long.headers['x-request-id']).toMatch(UUID);
  });

  it('answers a known path with a wrong method with 405 and Allow', async () => {
    const res = await request(app).delete('/echo');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
    expect(res.body.error.code).toBe('METHOD_NOT_ALLOWED');
  });

  it('answers malformed JSON with 400 INVALID_JSON', async () => {
    const res = await request(app).post('/echo').set('Content-Type', 'application/json').send('{"query": ');
    expect(res.status).toBe(400);
    expect(res.body.error).toEqual({ code: 'INVALID_JSON', message: expect.any(String), requestId: expect.any(String) });
  });

  it('answers a body that is not JSON with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const res = await request(app).post('/echo').set('Content-Type', 'text/plain').send('hello');
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('accepts a body of exactly 16384 bytes and answers one byte more with 413', async () => {
    const bodyOf = (bytes: number) => `{"p":"${'x'.repeat(bytes - 8)}"}`;
    expect(Buffer.byteLength(bodyOf(MAX_BODY_BYTES))).toBe(16_384);
    const ok = await request(app).post('/echo').set('Content-Type', 'application/json').send(bodyOf(MAX_BODY_BYTES));
    expect(ok.status).toBe(200);
    const tooLarge = await request(app).post('/echo').set('Content-Type', 'application/json').send(bodyOf(MAX_BODY_BYTES + 1));
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('answers an unexpected failure with a generic 500 that leaks nothing', async () => {
    const res = await request(app).get('/boom');
    expect(res.status).toBe(500);
    expect(res.body.error.code).toBe('INTERNAL_ERROR');
    const text = JSON.stringify(res.body);
    for (const leak of ['hunter2', 'postgres://', 'ECONNREFUSED', 'x.js', 'at Query']) expect(text).not.toContain(leak);
  });
});

describe('health', () => {
  let testDb: TestDatabase;
  let proxy: TcpProxy;
  let app: TestApp;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    proxy = await TcpProxy.forUrl(testDb.url).start();
    app = await createTestApp({ DATABASE_URL: proxy.rewrite(testDb.url), DB_CONNECT_TIMEOUT_MS: '500', DB_QUERY_TIMEOUT_MS: '800' });
  });

  afterAll(async () => {
    await app?.close();
    await proxy?.stop();
    await testDb?.dispose();
  });

  it('is live while the process runs', async () => {
    const res = await request(app.app).get('/health/live');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('is ready with the database check and its latency', async () => {
    const res = await request(app.app).get('/health/ready');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ready');
    expect(res.body.checks.database).toEqual({ status: 'up', latencyMs: expect.any(Number) });
  });

  it.each(['refuse', 'blackhole'] as const)('turns 503 unavailable, in time, when the database is cut (%s), and recovers', async (mode) => {
    proxy.setMode(mode);
    const started = Date.now();
    const down = await request(app.app).get('/health/ready');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ status: 'unavailable', checks: { database: { status: 'down', latencyMs: null } } });

    proxy.setMode('pass');
    await expect.poll(async () => (await request(app.app).get('/health/ready')).status, { timeout: 15_000, interval: 250 }).toBe(200);
  });
});

describe('memory storage', () => {
  it('reports the database as disabled and never connects to one', async () => {
    const app = await createTestApp({ STORAGE_BACKEND: 'memory', DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    try {
      expect(app.database).toBeUndefined();
      const res = await request(app.app).get('/health/ready');
      expect(res.status).toBe(200);
      expect(res.body.checks.database).toEqual({ status: 'disabled', latencyMs: null });
    } finally {
      await app.close();
    }
  });
});
