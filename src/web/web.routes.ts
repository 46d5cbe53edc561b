import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router } from 'express';
import { route } from '../http/route.js';
import { AppError } from '../platform/errors.js';

/**
 * The demo shopper page (web/, built into dist/web by `npm run build:web`): GET / and its
 * assets. These are not API routes, so the OpenAPI document leaves them out (WEB_PATHS).
 */

/** The page's path templates, as Express and the route checks of the tests see them. */
export const WEB_PATHS = ['/', '/assets/:file'] as const;

/** True when `pathname` is one of the page's routes (not part of the API). */
export function isWebPath(pathname: string): boolean {
  return pathname === '/' || /^\/assets\/[^/]+$/.test(pathname);
}

/**
 * The page may load its own script, styles and icon, the products' https pictures, and call this
 * origin, nothing else: no inline script or style, no other origin, no framing.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  // Product pictures come from the shop's own image host (https only: no mixed content).
  "img-src 'self' https:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Built asset names: content-hashed by esbuild (`app-3KX7QW2M.js`), so a name never changes content. */
const ASSET_NAME = /^[A-Za-z0-9_-]+\.(js|css|svg|map)$/;
const ASSET_TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  map: 'application/json; charset=utf-8',
};

/** dist/web at the project root (found from src/web and dist/src/web alike). */
export function builtWebDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return path.join(dir, 'dist', 'web');
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve('dist', 'web');
    dir = parent;
  }
}

const PAGE_HEADERS = { 'Content-Security-Policy': PAGE_CSP, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' };

/**
 * GET / serves index.html (no-cache: it names the current hashed assets) and GET /assets/:file
 * the built files with a year of immutable caching, as their names change with their content.
 * Both read the disk on each request, so a rebuild shows without a restart. Without a build,
 * GET / answers 404 saying how to build it.
 */
export function webRoutes(dir: string = builtWebDir()): Router {
  const router = Router();
  const assetsDir = path.join(dir, 'assets');

  route(router, '/', {
    get: async (_req, res, next) => {
      let html: Buffer;
      try {
        html = await readFile(path.join(dir, 'index.html'));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        next(new AppError('NOT_FOUND', 'The demo page is not built: run `npm run build` (or `npm run build:web`), then reload. The API is under /api/v1 and documented at /docs.'));
        return;
      }
      res.set(PAGE_HEADERS).type('text/html; charset=utf-8').set('Cache-Control', 'no-cache').send(html);
    },
  });

  route(router, '/assets/:file', {
    get: (req, res, next) => {
      const file = String(req.params.file);
      const match = ASSET_NAME.exec(file);
      if (!match) {
        next(new AppError('NOT_FOUND', `No asset ${file}.`));
        return;
      }
      // Headers only go out with the file: a miss answers the JSON envelope with its own.
      const headers = { ...PAGE_HEADERS, 'Content-Type': ASSET_TYPES[match[1]] };
      res.sendFile(file, { root: assetsDir, dotfiles: 'deny', maxAge: '365d', immutable: true, lastModified: false, headers }, (err) => {
        if (!err) return;
        if ((err as { status?: number }).status === 404) next(new AppError('NOT_FOUND', `No asset ${file}.`));
        else next(err);
      });
    },
  });
  return router;
}
