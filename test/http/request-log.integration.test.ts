import { Writable } from 'node:stream';
import { Router } from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { jsonBody } from '../../src/http/json-body.js';
import { route } from '../../src/http/route.js';
import { setCaller } from '../../src/identity/caller.js';
import { createLogger } from '../../src/platform/logger.js';
import { testConfig } from '../support/app.js';

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzZWNyZXQtdXNlciJ9.c2lnbmF0dXJlLXRoYXQtbXVzdC1ub3QtbGVhaw';
const QUERY_TEXT = 'waterproof boots for my secret trip';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      raw.push(chunk.toString('utf8'));
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  return { lines, raw, logger: createLogger({ level: 'info', destination }) };
}

describe('the request log', () => {
  const router = Router();
  route(router, '/items/:itemId', {
    post: [
      jsonBody(),
      (req, res) => {
        setCaller(res, { userId: 'guest_00000000-0000-4000-8000-000000000000', isGuest: true });
        res.json({ ok: true });
      },
    ],
    get: () => {
      throw new Error('boom');
    },
  });
  // Answers only once the client has gone away.
  route(router, '/slow', {
    get: (req, res) => {
      req.socket.once('close', () => setImmediate(() => res.json({ late: true })));
    },
  });

  it('writes one line per request: id, method, route template, status, duration and caller kind, nothing the caller sent', async () => {
    const { lines, raw, logger } = capture();
    const app = createApp({ config: testConfig(), logger, routers: [router] });
    const res = await request(app)
      .post('/items/item-42?token=leak')
      .set('Authorization', `Bearer ${TOKEN}`)
      .set('X-Admin-Key', 'admin-key-that-must-not-leak')
      .set('X-Request-Id', 'req-1')
      .send({ query: QUERY_TEXT });
    expect(res.status).toBe(200);
    await new Promise((r) => setImmediate(r));
    const requestLines = lines.filter((l) => l.msg === 'request completed');
    expect(requestLines).toEqual([
      expect.objectContaining({ level: 30, requestId: 'req-1', method: 'POST', route: '/items/:itemId', status: 200, ms: expect.any(Number), user: 'guest' }),
    ]);
    const all = raw.join('');
    for (const secret of [TOKEN, 'admin-key-that-must-not-leak', QUERY_TEXT, 'item-42', 'leak', '127.0.0.1', '::1']) expect(all).not.toContain(secret);
  });

  it('logs a 5xx at error and an unmatched or unauthenticated request without a caller', async () => {
    const { lines, logger } = capture();
    const app = createApp({ config: testConfig(), logger, routers: [router] });
    await request(app).get('/items/x').expect(500);
    await request(app).get('/nowhere/at/all').expect(404);
    await new Promise((r) => setImmediate(r));
    expect(lines.find((l) => l.msg === 'request failed' && l.status === 500)).toMatchObject({ level: 50, route: '/items/:itemId', user: 'none' });
    expect(lines.find((l) => l.status === 404)).toMatchObject({ level: 30, msg: 'request completed', route: 'unmatched', user: 'none' });
  });

  it('logs a request whose client went away before the answer once, as aborted', async () => {
    const { lines, logger } = capture();
    const app = createApp({ config: testConfig(), logger, routers: [router] });
    await expect(request(app).get('/slow').timeout(100)).rejects.toThrow();
    await expect.poll(() => lines.filter((l) => l.route === '/slow').length).toBe(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(lines.filter((l) => l.route === '/slow')).toEqual([expect.objectContaining({ level: 40, msg: 'request aborted', route: '/slow' })]);
  });
});
