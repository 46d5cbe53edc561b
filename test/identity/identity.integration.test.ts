import { randomUUID } from 'node:crypto';
import { generateKeyPair } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { storageBackends } from '../support/storage-backends.js';
import { AUTH_SECRET, registeredToken, SESSION_SECRET, startJwksServer, unsignedToken, type JwksServer } from '../support/tokens.js';

const GUEST_ID = /^guest_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const backends = storageBackends();

describe.each(backends)('identity on $name storage', ({ env }) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ ...env(), SESSION_SECRET, AUTH_JWT_SECRET: AUTH_SECRET, GUEST_SESSIONS_PER_IP_PER_HOUR: '1000' });
  });
  afterAll(async () => {
    await app?.close();
  });

  const unauthenticated = (res: request.Response) => {
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.body.error.code).toBe('UNAUTHENTICATED');
  };

  describe('happy path', () => {
    it('POST /sessions/guest answers 201 with a guest token that authenticates, whatever body is sent', async () => {
      const res = await request(app.app).post('/api/v1/sessions/guest').set('Content-Type', 'text/plain').send('ignored');
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ userId: expect.stringMatching(GUEST_ID), token: expect.any(String), expiresAt: expect.any(String), isGuest: true });
      const ttl = Date.parse(res.body.expiresAt) - Date.now();
      expect(ttl).toBeGreaterThan(29 * 86_400_000);
      expect(ttl).toBeLessThanOrEqual(30 * 86_400_000);
      const credits = await request(app.app).get('/api/v1/credits').set('Authorization', `Bearer ${res.body.token}`);
      expect(credits.status).toBe(200);
      expect(credits.body).toMatchObject({ userId: res.body.userId, isGuest: true, available: 10, max: 10 });
    });

    it('accepts a registered token and matches the Bearer scheme case-insensitively', async () => {
      const sub = `shopper:${randomUUID()}@example.com`;
      const token = await registeredToken(sub);
      for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
        const res = await request(app.app).get('/api/v1/credits').set('Authorization', `${scheme} ${token}`);
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ userId: sub, isGuest: false, available: 100, max: 100 });
      }
    });

    it('allows 30 s of clock skew on exp', async () => {
      const token = await registeredToken(`skew-${randomUUID()}`, { expiresIn: -20 });
      expect((await request(app.app).get('/api/v1/credits').set('Authorization', `Bearer ${token}`)).status).toBe(200);
    });
  });

  describe('every 401', () => {
    it('missing Authorization', async () => unauthenticated(await request(app.app).get('/api/v1/credits')));

    it('malformed header or token', async () => {
      for (const header of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer not-a-jwt', 'Bearer a.b.c', 'Token abc.def.ghi', `Bearer ${'x'.repeat(20)} extra`]) {
        unauthenticated(await request(app.app).get('/api/v1/credits').set('Authorization', header));
      }
    });

    it('expired beyond the skew', async () => {
      const token = await registeredToken('expired-user', { expiresIn: -60 });
      unauthenticated(await request(app.app).get('/api/v1/credits').set('Authorization', `Bearer ${token}`));
    });

    it('no exp at all', async () => {
      const token = await registeredToken('no-exp-user', { expiresIn: 0 });
      unauthenticated(await request(app.app).get('/api/v1/credits').set('Authorization', `Bearer ${token}`));
    });

    it('not yet valid (nbf in the future beyond the skew)', async () => {
      const token = await registeredToken('nbf-user', { claims: { nbf: Math.floor(Date.now() / 1000) + 120 } });
      unauthenticated(await request(app.app).get('/api/v1/credits').set('Authorization', `Bearer ${token}`));
    });

    it('wrong signature', async () => {
      const token = await registeredToken('forger', { secret: 'some-other-secret-that-is-32-bytes-long!!' });
      unauthenticated(await request(app.app).get('/api/v1/credits').set('Authorization', `Bearer ${token}`));
      const tampered = (await registeredToken('honest')).replace(/\.[^.]+\.([^.]+)$/, `.${Buffer.from('{"sub":"admin","exp":9999999999}').toString('base64url')}.$1`);
      unauthenticated(await request(app.app).get('/api/v1/credits').set('Authorization', `Bearer ${tampered}`));
    });

    it('alg: none, as a registered or a guest token', async () => {
      const exp = Math.floor(Date.now() / 1000) + 3600;
      unauthenticated(await request(app.app).get('/api/v1/credits').set('Authorization', `Bearer ${unsignedToken({ sub: 'nobody', exp })}`));
      const guestLike = unsignedToken({ sub: `guest_${randomUUID()}`, exp, guest: true, iss: 'shopassist-api', aud: 'shopassist-guest' });
      unauthenticated(await request(app.app).get('/api/v1/credits').set('Authorization', `Bearer ${guestLike}`));
    });

    it('a registered sub that starts with guest_ or breaks the user-id rules', async () => {
      for (const sub of [`guest_${randomUUID()}`, 'has space', 'x'.repeat(129), 'semi;colon']) {
        const token = await registeredToken(sub);
        unauthenticated(await request(app.app).get('/api/v1/credits').set('Authorization', `Bearer ${token}`));
      }
    });

    it('a guest token is never a registered one, nor the reverse', async () => {
      // Signed with the registered secret but claiming to be a guest token.
      const fakeGuest = await registeredToken(`guest_${randomUUID()}`, {
        claims: { guest: true, iss: 'shopassist-api', aud: 'shopassist-guest' },
      });
      unauthenticated(await request(app.app).get('/api/v1/credits').set('Authorization', `Bearer ${fakeGuest}`));
      // Signed with the session secret but without the guest marker: checked as registered, so refused.
      const fakeRegistered = await registeredToken('someone', { secret: SESSION_SECRET });
      unauthenticated(await request(app.app).get('/api/v1/credits').set('Authorization', `Bearer ${fakeRegistered}`));
    });
  });

  describe('guest sessions per IP', () => {
    it('answers 429 RATE_LIMITED with Retry-After past the hourly limit', async () => {
      const limited = await createTestApp({ ...env(), SESSION_SECRET, GUEST_SESSIONS_PER_IP_PER_HOUR: '2', TRUST_PROXY: 'loopback' });
      try {
        const ip = `203.0.113.${Math.floor(Math.random() * 250)}`;
        for (let i = 0; i < 2; i++) {
          expect((await request(limited.app).post('/api/v1/sessions/guest').set('X-Forwarded-For', ip)).status).toBe(201);
        }
        const res = await request(limited.app).post('/api/v1/sessions/guest').set('X-Forwarded-For', ip);
        expect(res.status).toBe(429);
        expect(res.body.error.code).toBe('RATE_LIMITED');
        const retryAfter = Number(res.headers['retry-after']);
        expect(retryAfter).toBeGreaterThanOrEqual(1);
        expect(retryAfter).toBeLessThanOrEqual(3600);
        // Another client address has its own allowance.
        expect((await request(limited.app).post('/api/v1/sessions/guest').set('X-Forwarded-For', '198.51.100.7')).status).toBe(201);
      } finally {
        await limited.close();
      }
    });

    it('ignores X-Forwarded-For unless TRUST_PROXY names the proxy', async () => {
      const limited = await createTestApp({ ...env(), SESSION_SECRET, GUEST_SESSIONS_PER_IP_PER_HOUR: '2' });
      try {
        // The socket address (loopback) is shared with the other tests of this file: start its count afresh.
        await limited.database?.sequelize.query('DELETE FROM rate_limit_counters');
        const statuses: number[] = [];
        for (let i = 0; i < 3; i++) {
          statuses.push((await request(limited.app).post('/api/v1/sessions/guest').set('X-Forwarded-For', `192.0.2.${i}`)).status);
        }
        expect(statuses).toEqual([201, 201, 429]);
      } finally {
        await limited.close();
      }
    });
  });
});

describe('the guest limit holds across two API processes sharing PostgreSQL', () => {
  it('counts sessions from both instances in one window', async () => {
    const env = { ...backends[1].env(), SESSION_SECRET, GUEST_SESSIONS_PER_IP_PER_HOUR: '3', TRUST_PROXY: 'loopback' };
    const [a, b] = [await createTestApp(env), await createTestApp(env)];
    try {
      const ip = '203.0.113.250';
      const statuses: number[] = [];
      for (const app of [a, b, a, b, a]) statuses.push((await request(app.app).post('/api/v1/sessions/guest').set('X-Forwarded-For', ip)).status);
      expect(statuses).toEqual([201, 201, 201, 429, 429]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('guest farming from many addresses', () => {
  it('counts every address of one IPv6 /64 against one allowance', async () => {
    const app = await createTestApp({ ...backends[1].env(), SESSION_SECRET, GUEST_SESSIONS_PER_IP_PER_HOUR: '2', TRUST_PROXY: 'loopback' });
    try {
      const mint = (ip: string) => request(app.app).post('/api/v1/sessions/guest').set('X-Forwarded-For', ip);
      const prefix = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:1`;
      const statuses: number[] = [];
      for (const host of ['::1', ':dead:beef:0:1', ':ffff:ffff:ffff:ffff']) statuses.push((await mint(`${prefix}${host}`)).status);
      expect(statuses).toEqual([201, 201, 429]);
      // The next /64 is another subscriber.
      expect((await mint(`${prefix.replace(/:1$/, ':2')}::1`)).status).toBe(201);
    } finally {
      await app.close();
    }
  });

  it('holds the hourly ceiling of all guest sessions across two app instances on one database', async () => {
    const env = { ...backends[1].env(), SESSION_SECRET, GUEST_SESSIONS_PER_HOUR: '4', TRUST_PROXY: 'loopback' };
    const [a, b] = [await createTestApp(env), await createTestApp(env)];
    try {
      // Other tests of this file minted guests on this database: start the window's count afresh.
      await a.database?.sequelize.query(`DELETE FROM rate_limit_counters WHERE key = 'guest-sessions:all'`);
      const statuses: number[] = [];
      // Every request from an address (and network) of its own: only the ceiling can refuse them.
      for (const [i, app] of [a, b, a, b, a, b].entries()) {
        statuses.push((await request(app.app).post('/api/v1/sessions/guest').set('X-Forwarded-For', `198.18.${i}.1`)).status);
      }
      expect(statuses).toEqual([201, 201, 201, 201, 429, 429]);
      const refused = await request(b.app).post('/api/v1/sessions/guest').set('X-Forwarded-For', '198.18.99.1');
      expect(refused.body.error.code).toBe('RATE_LIMITED');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('has no ceiling when GUEST_SESSIONS_PER_HOUR=0', async () => {
    const app = await createTestApp({ STORAGE_BACKEND: 'memory', CACHE_BACKEND: 'memory', SESSION_SECRET, GUEST_SESSIONS_PER_HOUR: '0', TRUST_PROXY: 'loopback' });
    try {
      for (let i = 0; i < 5; i++) expect((await request(app.app).post('/api/v1/sessions/guest').set('X-Forwarded-For', `198.19.${i}.1`)).status).toBe(201);
    } finally {
      await app.close();
    }
  });
});

describe('registered tokens from a JWKS endpoint (RS256 / ES256)', () => {
  let jwks: JwksServer;
  let app: TestApp;
  beforeAll(async () => {
    jwks = await startJwksServer();
    app = await createTestApp({
      STORAGE_BACKEND: 'memory',
      CACHE_BACKEND: 'memory',
      SESSION_SECRET,
      AUTH_JWKS_URL: jwks.url,
      AUTH_ISSUER: 'https://id.shop.example',
      AUTH_AUDIENCE: 'shopassist',
    });
  });
  afterAll(async () => {
    await app?.close();
    await jwks?.close();
  });

  const claims = { iss: 'https://id.shop.example', aud: 'shopassist' };

  it('accepts RS256 and ES256 tokens signed by the key set, fetching the keys once', async () => {
    const rs = await registeredToken('rs-user', { alg: 'RS256', key: jwks.rsa, kid: 'rsa-1', claims });
    const es = await registeredToken('es-user', { alg: 'ES256', key: jwks.ec, kid: 'ec-1', claims });
    for (const [token, sub] of [[rs, 'rs-user'], [es, 'es-user'], [rs, 'rs-user']]) {
      const res = await request(app.app).get('/api/v1/credits').set('Authorization', `Bearer ${token}`);
      expect(res.status).toBe(200);
      expect(res.body.userId).toBe(sub);
    }
    expect(jwks.requests()).toBe(1);
  });

  it('refuses a wrong issuer, a wrong audience, an unknown key and an HS256 token', async () => {
    const cases = [
      await registeredToken('u1', { alg: 'RS256', key: jwks.rsa, kid: 'rsa-1', claims: { ...claims, iss: 'https://evil.example' } }),
      await registeredToken('u2', { alg: 'RS256', key: jwks.rsa, kid: 'rsa-1', claims: { ...claims, aud: 'someone-else' } }),
      await registeredToken('u3', { alg: 'RS256', key: (await generateKeyPair('RS256')).privateKey, kid: 'rsa-9', claims }),
      await registeredToken('u4', { claims }),
    ];
    for (const token of cases) {
      const res = await request(app.app).get('/api/v1/credits').set('Authorization', `Bearer ${token}`);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHENTICATED');
    }
  });
});
