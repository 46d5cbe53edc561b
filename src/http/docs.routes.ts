import { createRequire } from 'node:module';
import path from 'node:path';
import { Router } from 'express';
import type { OpenAPIObject } from 'openapi3-ts/oas31';
import { AppError } from '../platform/errors.js';
import { route } from './route.js';

const swaggerUiDir = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** The renderer's files served under /docs/assets/ (bundled in the package: the page works offline). */
export const DOCS_ASSETS: Record<string, { file: string; type: string }> = {
  'swagger-ui.css': { file: path.join(swaggerUiDir, 'swagger-ui.css'), type: 'text/css; charset=utf-8' },
  'swagger-ui-bundle.js': { file: path.join(swaggerUiDir, 'swagger-ui-bundle.js'), type: 'application/javascript; charset=utf-8' },
};

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
  <script>
    window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#docs', deepLinking: true, tryItOutEnabled: false, persistAuthorization: false });
  </script>
</body>
</html>
`;

/** GET /openapi.json (the document) and GET /docs (a page to read and try it, no CDN). */
export function docsRoutes(document: OpenAPIObject): Router {
  const router = Router();
  const body = JSON.stringify(document);
  route(router, '/openapi.json', {
    get: (_req, res) => {
      res.type('application/json').set('Cache-Control', 'no-cache').send(body);
    },
  });
  route(router, '/docs', {
    get: (_req, res) => {
      res.type('text/html; charset=utf-8').set('Cache-Control', 'no-cache').send(DOCS_PAGE);
    },
  });
  route(router, '/docs/assets/:file', {
    get: (req, res, next) => {
      const name = String(req.params.file);
      // Own keys only: "constructor" or "__proto__" names no asset.
      const asset = Object.hasOwn(DOCS_ASSETS, name) ? DOCS_ASSETS[name] : undefined;
      if (!asset) {
        next(new AppError('NOT_FOUND', `No route ${req.method} ${req.path}.`));
        return;
      }
      res.type(asset.type).set('Cache-Control', 'public, max-age=86400');
      res.sendFile(asset.file, (err) => {
        if (err) next(err);
      });
    },
  });
  return router;
}
