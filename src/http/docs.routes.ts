import { createRequire } from 'node:module';
import path from 'node:path';
import type { OpenAPIObject } from 'openapi3-ts/oas31';
import { z } from 'zod';
import { AppError } from '../platform/errors.js';
import { headerRefs } from './openapi-components.js';
import { errors } from './openapi-responses.js';
import { defineRoutes } from './route.js';

const swaggerUiDir = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** Starts the renderer on the page (a file of its own: the page runs no inline script). */
const DOCS_INIT_SCRIPT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#docs', deepLinking: true, tryItOutEnabled: false, persistAuthorization: false });
`;

/**
 * The renderer's files served under /docs/assets/ (bundled in the package: the page works
 * offline), and the page's own start-up script.
 */
export const DOCS_ASSETS: Record<string, { type: string } & ({ file: string } | { body: string })> = {
  'swagger-ui.css': { file: path.join(swaggerUiDir, 'swagger-ui.css'), type: 'text/css; charset=utf-8' },
  'swagger-ui-bundle.js': { file: path.join(swaggerUiDir, 'swagger-ui-bundle.js'), type: 'application/javascript; charset=utf-8' },
  'docs.js': { body: DOCS_INIT_SCRIPT, type: 'application/javascript; charset=utf-8' },
};

/**
 * What the /docs page may do: run and style itself from this origin only (the renderer sets
 * style attributes, hence 'unsafe-inline' for styles, never for scripts), show its inline SVG
 * icons (data: images), fetch /openapi.json, and nothing else: no other origin, no framing.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>ShopAssist API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="docs"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/docs.js"></script>
</body>
</html>
`;

/** GET /openapi.json (the document) and GET /docs (a page to read and try it, no CDN). */
export const docsApi = defineRoutes<OpenAPIObject>([
  {
    method: 'get',
    path: '/openapi.json',
    auth: 'none',
    handle: (document) => {
      const body = JSON.stringify(document);
      return (_req, res) => {
        res.type('application/json').set('Cache-Control', 'no-cache').send(body);
      };
    },
    doc: {
      tags: ['operations'],
      operationId: 'openapi',
      summary: 'This document',
      responses: {
        200: {
          description: 'OpenAPI 3.1',
          headers: headerRefs(),
          content: {
            'application/json': {
              schema: { type: 'object', properties: { openapi: { type: 'string', pattern: '^3\\.1\\.' }, info: { type: 'object' }, paths: { type: 'object' } }, required: ['openapi', 'info', 'paths'] },
            },
          },
        },
        ...errors(['INTERNAL_ERROR']),
      },
    },
  },
  {
    method: 'get',
    path: '/docs',
    auth: 'none',
    handle: () => (_req, res) => {
      res.type('text/html; charset=utf-8').set('Cache-Control', 'no-cache').set('Content-Security-Policy', DOCS_CSP).send(DOCS_PAGE);
    },
    doc: {
      tags: ['operations'],
      operationId: 'docs',
      summary: 'A page to read and try this API (works offline)',
      responses: { 200: { description: 'HTML', headers: headerRefs(), content: { 'text/html': { schema: { type: 'string' } } } }, ...errors(['INTERNAL_ERROR']) },
    },
  },
  {
    method: 'get',
    path: '/docs/assets/:file',
    auth: 'none',
    handle: () => (req, res, next) => {
      const name = String(req.params.file);
      // Own keys only: "constructor" or "__proto__" names no asset.
      const asset = Object.hasOwn(DOCS_ASSETS, name) ? DOCS_ASSETS[name] : undefined;
      if (!asset) {
        next(new AppError('NOT_FOUND', `No route ${req.method} ${req.path}.`));
        return;
      }
      res.type(asset.type).set('Cache-Control', 'public, max-age=86400').set('Content-Security-Policy', DOCS_CSP);
      if ('body' in asset) {
        res.send(asset.body);
        return;
      }
      res.sendFile(asset.file, (err) => {
        if (err) next(err);
      });
    },
    doc: {
      tags: ['operations'],
      operationId: 'docsAsset',
      summary: 'The scripts and styles of the /docs page',
      request: { params: z.object({ file: z.enum(Object.keys(DOCS_ASSETS) as [string, ...string[]]) }) },
      responses: {
        200: {
          description: 'The file',
          headers: headerRefs(),
          content: { 'application/javascript': { schema: { type: 'string' } }, 'text/css': { schema: { type: 'string' } } },
        },
        // 400: a file name that is not valid percent-encoded UTF-8.
        ...errors(['VALIDATION_FAILED', 'NOT_FOUND', 'INTERNAL_ERROR']),
      },
    },
  },
]);

export const docsRoutes = (document: OpenAPIObject) => docsApi.router(document);
