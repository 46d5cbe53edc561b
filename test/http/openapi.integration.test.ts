import { validate, compileErrors } from '@readme/openapi-parser';
import type { Express } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../src/http/openapi.js';
import { ERROR_STATUS } from '../../src/platform/errors.js';
import { WEB_PATHS } from '../../src/web/web.routes.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { contractChecksSoFar, OpenApiContract, takeContractViolations } from '../support/openapi-contract.js';

interface Layer {
  name?: string;
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/**
 * Every (METHOD, /path/{param}) Express answers, from the router stacks (HEAD and the 405
 * catch-all left out, and the demo page's routes, which are not part of the API).
 */
function servedRoutes(app: Express): Set<string> {
  const found = new Set<string>();
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const method of Object.keys(layer.route.methods)) {
          if (method === '_all' || method === 'head') continue;
          for (const p of paths) if (!(WEB_PATHS as readonly string[]).includes(p)) found.add(`${method.toUpperCase()} ${p.replace(/:(\w+)/g, '{$1}')}`);
        }
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return found;
}

function documentedRoutes(doc: ReturnType<typeof buildOpenApiDocument>): Set<string> {
  const found = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) if (item[method]) found.add(`${method.toUpperCase()} ${path}`);
  }
  return found;
}

describe('the OpenAPI document', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ STORAGE_BACKEND: 'memory', CACHE_BACKEND: 'memory', ADMIN_API_KEY: 'operator-key-0123456789abcdef' });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const doc = buildOpenApiDocument();
    expect(doc.openapi).toMatch(/^3\.1\./);
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid, compileErrors(result)).toBe(true);
  });

  it('lists exactly the routes Express serves', () => {
    const served = servedRoutes(app.app);
    expect(served.size).toBeGreaterThan(15);
    expect([...documentedRoutes(buildOpenApiDocument())].sort()).toEqual([...served].sort());
  });

  it('describes the error envelope with the closed list of codes, and the three security schemes', () => {
    const doc = buildOpenApiDocument();
    const envelope = doc.components?.schemas?.ErrorEnvelope as { properties: { error: { properties: { code: { enum: string[] } } } } };
    expect(envelope.properties.error.properties.code.enum.sort()).toEqual(Object.keys(ERROR_STATUS).sort());
    expect(doc.components?.securitySchemes).toMatchObject({
      guestToken: { type: 'http', scheme: 'bearer' },
      registeredToken: { type: 'http', scheme: 'bearer' },
      adminKey: { type: 'apiKey', in: 'header', name: 'X-Admin-Key' },
    });
    const query = doc.paths?.['/api/v1/assistant/query']?.post;
    expect(Object.keys(query?.responses ?? {}).sort()).toEqual(['200', '400', '401', '402', '403', '404', '409', '413', '415', '429', '500', '502', '503', '504']);
    expect(query?.parameters?.map((p) => ('name' in p ? p.name : undefined))).toContain('Idempotency-Key');
  });

  it('is served at /openapi.json, the same document as npm run openapi writes', async () => {
    const res = await request(app.app).get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument())));
  });

  it('has a /docs page that renders it from local files (no CDN)', async () => {
    const page = await request(app.app).get('/docs');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).not.toMatch(/https?:\/\//);
    // No inline script: every script is a file of this origin, which the page's CSP allows alone.
    expect([...page.text.matchAll(/<script([^>]*)>([^<]*)<\/script>/g)].map(([, attrs, body]) => [/src="\/docs\/assets\//.test(attrs), body.trim()])).toEqual([
      [true, ''],
      [true, ''],
    ]);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).not.toMatch(/script-src[^;]*unsafe-inline/);
    let scripts = '';
    for (const asset of page.text.matchAll(/(?:src|href)="([^"]+)"/g)) {
      const res = await request(app.app).get(asset[1]);
      expect(res.status, asset[1]).toBe(200);
      expect(Number(res.headers['content-length'])).toBeGreaterThan(asset[1].includes('swagger-ui') ? 1000 : 0);
      scripts += res.text;
    }
    expect(scripts).toContain("url: '/openapi.json'");
    expect((await request(app.app).get('/docs/assets/package.json')).status).toBe(404);
    // Names of built-in object properties name no asset either (once a 500).
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) expect((await request(app.app).get(`/docs/assets/${name}`)).status).toBe(404);
  });
});

describe('the response check that every API test runs', () => {
  let contract: OpenApiContract;
  beforeAll(async () => {
    contract = await OpenApiContract.load();
  });
  const json = (value: unknown) => Buffer.from(JSON.stringify(value));
  const credits = { userId: 'u1', isGuest: false, available: 3, max: 100, lastResetAt: '2026-01-01T00:00:00.000Z', resetsAt: '2026-01-02T00:00:00.000Z' };
  const balance = { 'content-type': 'application/json; charset=utf-8', 'x-request-id': 'r1', 'x-credits-remaining': '3', 'x-credits-limit': '100', 'x-credits-reset': '1767312000' };

  it('accepts a response that matches the document', () => {
    expect(contract.check({ method: 'GET', path: '/api/v1/credits', status: 200, headers: balance, body: json(credits) })).toEqual([]);
    expect(contract.check({ method: 'GET', path: '/api/v1/admin/users/u1/credits?x=1', status: 200, headers: balance, body: json(credits) })).toEqual([]);
  });

  it('rejects a wrong body, a missing documented header, an undocumented status and an unknown route', () => {
    expect(contract.check({ method: 'GET', path: '/api/v1/credits', status: 200, headers: balance, body: json({ ...credits, available: -1 }) })).toHaveLength(1);
    const { 'x-credits-limit': _limit, ...withoutLimit } = balance;
    expect(contract.check({ method: 'GET', path: '/api/v1/credits', status: 200, headers: withoutLimit, body: json(credits) })[0]).toMatch(/x-credits-limit/);
    expect(contract.check({ method: 'GET', path: '/api/v1/credits', status: 418, headers: balance, body: json(credits) })[0]).toMatch(/not documented/);
    expect(contract.check({ method: 'GET', path: '/api/v1/nothing', status: 200, headers: balance, body: json(credits) })[0]).toMatch(/not in the document/);
    const envelope = { error: { code: 'CONSENT_REQUIRED', message: 'm', requestId: 'r1' } };
    expect(contract.check({ method: 'GET', path: '/api/v1/credits', status: 403, headers: balance, body: json(envelope) })[0]).toMatch(/not documented/);
  });

  it('accepts 404 for unknown routes and 405 with Allow for other methods, in the envelope', () => {
    const h = { 'content-type': 'application/json', 'x-request-id': 'r1' };
    expect(contract.check({ method: 'GET', path: '/nope', status: 404, headers: h, body: json({ error: { code: 'NOT_FOUND', message: 'm', requestId: 'r1' } }) })).toEqual([]);
    expect(contract.check({ method: 'PATCH', path: '/api/v1/credits', status: 405, headers: { ...h, allow: 'GET, HEAD' }, body: json({ error: { code: 'METHOD_NOT_ALLOWED', message: 'm', requestId: 'r1' } }) })).toEqual([]);
    expect(contract.check({ method: 'PATCH', path: '/api/v1/credits', status: 405, headers: h, body: json({ error: { code: 'METHOD_NOT_ALLOWED', message: 'm', requestId: 'r1' } }) })).toHaveLength(1);
  });

  it('sees the responses of apps built by createTestApp', async () => {
    const app = await createTestApp({ STORAGE_BACKEND: 'memory', CACHE_BACKEND: 'memory' });
    try {
      const before = contractChecksSoFar();
      await request(app.app).get('/api/v1/credits').set('Authorization', 'Bearer nonsense');
      await request(app.app).get('/health/live');
      expect(contractChecksSoFar() - before).toBe(2);
      expect(takeContractViolations()).toEqual([]);
    } finally {
      await app.close();
    }
  });
});
