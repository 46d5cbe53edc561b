import express, { type RequestHandler } from 'express';
import helmet from 'helmet';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { headersOf, SECURITY_HEADERS, securityHeaders } from '../../src/http/security-headers.js';

const headersSentWith = async (middleware: RequestHandler) => {
  const app = express();
  app.disable('etag');
  app.use((_req, res, next) => {
    res.setHeader('X-Powered-By', 'something');
    next();
  });
  app.use(middleware);
  app.get('/', (_req, res) => {
    res.json({ ok: true });
  });
  const res = await request(app).get('/');
  const { date: _date, ...rest } = res.headers;
  return rest;
};

describe('securityHeaders', () => {
  it('sends exactly what helmet sends with the same options, in the same order', async () => {
    const ours = await headersSentWith(securityHeaders());
    const helmets = await headersSentWith(helmet(SECURITY_HEADERS));
    expect(Object.entries(ours)).toEqual(Object.entries(helmets));
    expect(ours['x-powered-by']).toBeUndefined();
    expect(ours['content-security-policy']).toBe("default-src 'none';base-uri 'none';form-action 'none';frame-ancestors 'none'");
  });

  it('refuses, at startup, a middleware whose headers depend on the request', () => {
    const reads: RequestHandler = (req, res, next) => {
      res.setHeader('X-Path', req.path);
      next();
    };
    expect(() => headersOf(reads)).toThrow();
    const later: RequestHandler = (_req, res, next) => {
      setImmediate(() => {
        res.setHeader('X-Late', '1');
        next();
      });
    };
    expect(() => headersOf(later)).toThrow(/at once/);
  });
});
