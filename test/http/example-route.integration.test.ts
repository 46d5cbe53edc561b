import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApp } from '../../src/app.js';
import { named } from '../../src/http/openapi-components.js';
import { errors, json, USER_ERRORS } from '../../src/http/openapi-responses.js';
import { API_ROUTE_TABLES, buildOpenApiDocument } from '../../src/http/openapi.js';
import { defineRoutes, type RouteGuards } from '../../src/http/route.js';
import { authenticate } from '../../src/identity/auth.middleware.js';
import { callerOf, type Caller } from '../../src/identity/caller.js';
import { TokenVerifier } from '../../src/identity/token-verifier.js';
import { AppError } from '../../src/platform/errors.js';
import { createLogger } from '../../src/platform/logger.js';
import { testConfig } from '../support/app.js';
import { AUTH_SECRET, registeredToken, SESSION_SECRET } from '../support/tokens.js';

// ---- The example of docs/adding-a-route.md: one operation, declared once. ----

const whoAmIResponse = z.object({ userId: z.string(), isGuest: z.boolean() });

const exampleApi = defineRoutes<{ greeting: string }>([
  {
    method: 'get',
    path: '/api/v1/whoami',
    auth: 'caller',
    // The handler never touches credits: the caller's row is ensured before it.
    firstUse: 'ensure',
    handle: ({ greeting }) => (_req, res) => {
      const { userId, isGuest } = callerOf(res);
      res.set('Cache-Control', 'no-store').set('X-Greeting', greeting).json({ userId, isGuest });
    },
    doc: {
      tags: ['identity'],
      operationId: 'whoAmI',
      summary: 'Who the bearer token says the caller is',
      responses: {
        200: json('The caller', named('WhoAmI', whoAmIResponse), { userId: 'user_42', isGuest: false }, ['Cache-Control']),
        ...errors(USER_ERRORS),
      },
    },
  },
]);

// ---- The app's access checks, as src/container/routers.ts builds them, with a counting ensure. ----

const config = testConfig({ SESSION_SECRET, AUTH_JWT_SECRET: AUTH_SECRET });
const logger = createLogger({ level: 'silent' });

function guardsCounting(ensured: Caller[]): RouteGuards {
  return {
    authenticate: authenticate(new TokenVerifier(config)),
    requireAdmin: (_req, _res, next) => next(new AppError('ADMIN_DISABLED', 'no operator routes here')),
    ensureAccount: async (caller) => {
      ensured.push(caller);
    },
  };
}

describe('a route declared with defineRoutes', () => {
  it('is served with its handler, behind its access check, and ensures the caller first', async () => {
    const ensured: Caller[] = [];
    const app = createApp({ config, logger, routers: [exampleApi.router({ greeting: 'hello' }, guardsCounting(ensured))] });

    const res = await request(app).get('/api/v1/whoami').set('Authorization', `Bearer ${await registeredToken('user_42')}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ userId: 'user_42', isGuest: false });
    expect(res.headers['x-greeting']).toBe('hello');
    expect(ensured).toEqual([{ userId: 'user_42', isGuest: false }]);

    expect((await request(app).get('/api/v1/whoami')).status).toBe(401);
    const wrongMethod = await request(app).post('/api/v1/whoami');
    expect([wrongMethod.status, wrongMethod.headers.allow]).toEqual([405, 'GET, HEAD']);
    expect(ensured).toHaveLength(1);
  });

  it('appears in the assembled OpenAPI document with its security, responses and named schema', () => {
    const doc = buildOpenApiDocument({ routeTables: [...API_ROUTE_TABLES, exampleApi] });
    const op = doc.paths?.['/api/v1/whoami']?.get;
    expect(op?.operationId).toBe('whoAmI');
    expect(op?.security).toEqual([{ guestToken: [] }, { registeredToken: [] }]);
    expect(Object.keys(op?.responses ?? {}).sort()).toEqual(['200', '401', '429', '500', '503']);
    expect(doc.components?.schemas?.WhoAmI).toMatchObject({ type: 'object', required: ['userId', 'isGuest'] });
    // The app's own document does not have it: only the tables it is given.
    expect(buildOpenApiDocument().paths?.['/api/v1/whoami']).toBeUndefined();
  });
});

describe('first use, declared per operation', () => {
  const table = defineRoutes([
    {
      method: 'get',
      path: '/reads-credits',
      auth: 'caller',
      firstUse: 'handler',
      handle: () => (req, res) => {
        if (req.query.fail) throw new AppError('VALIDATION_FAILED', 'asked to fail', { details: [] });
        res.json({ ok: true });
      },
      doc: { operationId: 'readsCredits', responses: {} },
    },
    {
      method: 'get',
      path: '/never-touches-credits',
      auth: 'caller',
      firstUse: 'ensure',
      handle: () => (_req, res) => {
        res.json({ ok: true });
      },
      doc: { operationId: 'neverTouchesCredits', responses: {} },
    },
  ]);

  it("'handler' pays no ensure when it answers and one when it fails; 'ensure' one per request", async () => {
    const ensured: Caller[] = [];
    const app = createApp({ config, logger, routers: [table.router(undefined, guardsCounting(ensured))] });
    const auth = `Bearer ${await registeredToken('user_7')}`;

    expect((await request(app).get('/reads-credits').set('Authorization', auth)).status).toBe(200);
    expect(ensured).toHaveLength(0);
    expect((await request(app).get('/reads-credits?fail=1').set('Authorization', auth)).status).toBe(400);
    expect(ensured).toHaveLength(1);
    expect((await request(app).get('/never-touches-credits').set('Authorization', auth)).status).toBe(200);
    expect(ensured).toHaveLength(2);
    // No caller, nothing to create.
    expect((await request(app).get('/reads-credits?fail=1')).status).toBe(401);
    expect(ensured).toHaveLength(2);
  });

  it('refuses to mount an operation whose access check the app did not give', () => {
    expect(() => table.router(undefined, {})).toThrow(/GET \/reads-credits needs authenticate/);
  });
});
