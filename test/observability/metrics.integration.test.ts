import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/** One sample's value from Prometheus text, or undefined when the series is absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.lastIndexOf('}');
    const got = Object.fromEntries([...line.slice(name.length + 1, close).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const wanted = Object.entries(labels);
    if (Object.keys(got).length === wanted.length && wanted.every(([k, v]) => got[k] === v)) return Number(line.slice(close + 1).trim());
  }
  return undefined;
}

async function scrape(app: TestApp): Promise<string> {
  const res = await request(app.app).get('/metrics');
  expect(res.status).toBe(200);
  return res.text;
}

describe('GET /metrics on memory storage', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ STORAGE_BACKEND: 'memory', CACHE_BACKEND: 'memory' });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('answers in the Prometheus text format with the registry content type', async () => {
    const res = await request(app.app).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(app.metrics.registry.contentType);
    expect(res.text).toMatch(/^# HELP http_requests_total /m);
    expect(res.text).toMatch(/^# TYPE http_request_duration_seconds histogram$/m);
  });

  it('counts each request once under its route template, 404s under "unmatched", never the raw URL', async () => {
    const live = { method: 'GET', route: '/health/live', status: '200' };
    const unknown = { method: 'GET', route: 'unmatched', status: '404' };
    const wrongMethod = { method: 'DELETE', route: '/health/live', status: '405' };
    const before = await scrape(app);

    await request(app.app).get('/health/live').expect(200);
    await request(app.app).get('/health/live').expect(200);
    await request(app.app).get('/health/live').expect(200);
    await request(app.app).get('/api/v1/no-such-thing/12345').expect(404);
    await request(app.app).get('/api/v1/another/unknown/path').expect(404);
    await request(app.app).delete('/health/live').expect(405);

    const after = await scrape(app);
    const moved = (labels: Record<string, string>) => (sample(after, 'http_requests_total', labels) ?? 0) - (sample(before, 'http_requests_total', labels) ?? 0);
    expect(moved(live)).toBe(3);
    expect(moved(unknown)).toBe(2);
    expect(moved(wrongMethod)).toBe(1);
    // The histogram saw the same requests: its _count moved exactly as the counter did.
    const count = (text: string) => sample(text, 'http_request_duration_seconds_count', live) ?? 0;
    expect(count(after) - count(before)).toBe(3);
    expect(sample(after, 'http_request_duration_seconds_bucket', { ...live, le: '+Inf' })).toBe(count(after));
    // Raw paths never become label values.
    expect(after).not.toContain('no-such-thing');
    expect(after).not.toContain('12345');
  });

  it('exports the process defaults and no pool gauges without a database', async () => {
    const text = await scrape(app);
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d/m);
    expect(sample(text, 'shopassist_db_pool_connections', { state: 'size' })).toBeUndefined();
  });
});

describe('GET /metrics on PostgreSQL', () => {
  let db: TestDatabase;
  let app: TestApp;
  beforeAll(async () => {
    db = await createTestDatabase();
    app = await createTestApp({ STORAGE_BACKEND: 'postgres', DATABASE_URL: db.url, CACHE_BACKEND: 'memory' });
  });
  afterAll(async () => {
    await app?.close();
    await db?.dispose();
  });

  it('exports the database pool gauges read at scrape time', async () => {
    await request(app.app).get('/health/ready');
    const text = await scrape(app);
    const size = sample(text, 'shopassist_db_pool_connections', { state: 'size' });
    expect(size).toBeGreaterThanOrEqual(1);
    const inUse = sample(text, 'shopassist_db_pool_connections', { state: 'in_use' });
    const idle = sample(text, 'shopassist_db_pool_connections', { state: 'idle' });
    expect(inUse).toBeGreaterThanOrEqual(0);
    expect(idle).toBeGreaterThanOrEqual(0);
    expect(inUse! + idle!).toBe(size);
    expect(sample(text, 'shopassist_db_pool_connections', { state: 'waiting' })).toBe(0);
  });
});
