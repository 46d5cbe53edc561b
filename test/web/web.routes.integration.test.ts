import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Express } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWeb } from '../../scripts/build-web.js';
import { createApp } from '../../src/app.js';
import { createLogger } from '../../src/platform/logger.js';
import { webRoutes } from '../../src/web/web.routes.js';
import { createTestApp, testConfig } from '../support/app.js';

/** An app with only the page's routes (and the 404/405 envelope), serving the build in `dir`. */
function pageApp(dir: string): Express {
  return createApp({ config: testConfig(), logger: createLogger({ level: 'silent' }), routers: [webRoutes(dir)] });
}

describe('the demo page at /', () => {
  let tmp: string;
  let app: Express;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'shopassist-web-'));
    await buildWeb({ outDir: path.join(tmp, 'web') });
    app = pageApp(path.join(tmp, 'web'));
  });
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('serves index.html, never cached without revalidation, under a CSP that allows no inline script', async () => {
    const res = await request(app).get('/');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = res.text;
    expect(html).toContain('<title>ShopAssist');
    // Nothing the CSP would block: no inline script or style, no other origin.
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=/);
    expect(html).not.toMatch(/(?:src|href)="https?:/);
    expect((await request(app).head('/')).status).toBe(200);
  });

  it('serves each asset the page names with its type and a year of immutable caching (the names are content hashes)', async () => {
    const page = (await request(app).get('/')).text;
    const assets = [...page.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets.map((a) => a.replace(/-[A-Za-z0-9]+\./, '-HASH.')).sort()).toEqual(['/assets/app-HASH.js', '/assets/favicon-HASH.svg', '/assets/styles-HASH.css']);
    const types: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', svg: 'image/svg+xml' };
    for (const asset of assets) {
      const res = await request(app).get(asset).buffer(true).parse((r, done) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => done(null, Buffer.concat(chunks)));
      });
      expect(res.status, asset).toBe(200);
      expect(res.headers['content-type'], asset).toBe(types[asset.split('.').pop()!]);
      expect(res.headers['cache-control'], asset).toBe('public, max-age=31536000, immutable');
      expect(res.headers['x-content-type-options'], asset).toBe('nosniff');
      expect((res.body as Buffer).length, asset).toBeGreaterThan(300);
    }
  });

  it('answers 404 in the error envelope for an unknown asset, another file type or a path outside assets/', async () => {
    for (const url of ['/assets/app-NOTBUILT.js', '/assets/index.html', '/assets/..%2Findex.html', '/assets/.hidden.js', '/index.html']) {
      const res = await request(app).get(url);
      expect(res.status, url).toBe(404);
      expect(res.headers['content-type'], url).toMatch(/^application\/json/);
      expect(res.body.error.code, url).toBe('NOT_FOUND');
    }
  });

  it('answers other methods on / with 405 and Allow', async () => {
    const res = await request(app).post('/').send({});
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
    expect(res.body.error.code).toBe('METHOD_NOT_ALLOWED');
  });

  it('says how to build the page when dist/web was not built (a 404, never a 500)', async () => {
    const bare = pageApp(path.join(tmp, 'not-built'));
    const res = await request(bare).get('/');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NOT_FOUND');
    expect(res.body.error.message).toContain('npm run build');
    expect((await request(bare).get('/assets/app-ABCDEFGH.js')).status).toBe(404);
  });

  it('is mounted by the app the server runs', async () => {
    const full = await createTestApp({ STORAGE_BACKEND: 'memory', CACHE_BACKEND: 'memory' });
    try {
      // Only a mounted page route answers 405 here; an unknown path would be 404.
      const res = await request(full.app).delete('/');
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe('GET, HEAD');
    } finally {
      await full.close();
    }
  });
});
