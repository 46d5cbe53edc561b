import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { named } from '../http/openapi-components.js';
import { ADMIN_ERRORS, BODY_ERRORS, EXAMPLE_TIME, errors, json, noContent } from '../http/openapi-responses.js';
import { jsonBody } from '../http/json-body.js';
import { defineRoutes, type RouteGuards } from '../http/route.js';
import { parseOrThrow } from '../http/validate.js';
import { AppError, isAppError } from '../platform/errors.js';
import { uploadFormatOf } from './catalog-upload.js';
import type { CatalogSummary } from './catalog.store.js';
import { catalogSummaryResponse, productBody, productIdParams, productPatch, productResponse } from './catalog.schemas.js';
import type { CatalogService } from './catalog.service.js';

const summaryView = (s: CatalogSummary) => ({ version: s.version, products: s.products, updatedAt: s.updatedAt.toISOString() });

const tooLarge = (maxBytes: number) => new AppError('PAYLOAD_TOO_LARGE', `A catalog upload may be at most ${maxBytes} bytes (CATALOG_MAX_BYTES).`);

/**
 * The request body as it arrives, stopped with 413 once it passes `maxBytes`. The body is not
 * destroyed when reading stops early (a bad upload): the answer still goes out on its socket.
 */
async function* limited(req: IncomingMessage, maxBytes: number): AsyncGenerator<Buffer> {
  let seen = 0;
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    seen += chunk.length;
    if (seen > maxBytes) throw tooLarge(maxBytes);
    yield chunk;
  }
}

const productExample = {
  id: 'p-1042',
  name: 'Trailmaster GTX',
  brand: 'Northpeak',
  category: 'shoes',
  price: 89.99,
  currency: 'USD',
  description: 'A waterproof hiking boot.',
  tags: ['boots', 'hiking'],
  rating: 4.6,
  url: 'https://shop.example/p/1042',
  imageUrl: 'https://shop.example/img/1042.jpg',
  inStock: true,
};
const catalogSummaryExample = { version: 'a3f1c2d4e5b6a7980123456789abcdef0123456789abcdef0123456789abcdef', products: 580, updatedAt: EXAMPLE_TIME };

const CATALOG_UPLOAD_DESCRIPTION =
  'The body is `application/json` (`{"products": […]}`), `application/x-ndjson` (one product a line) or `text/csv` ' +
  '(a header row of the field names, `tags` separated by `|`), up to CATALOG_MAX_BYTES (default 50 MB; the 16 KiB body limit ' +
  'does not apply). It is read and validated as it streams in, while the old catalog keeps answering; then the new one ' +
  'replaces it in one step. A bad upload changes nothing: 400 VALIDATION_FAILED names the index (`products[3].price`) or ' +
  'line (`line 4.price`) and field of at most 20 bad products. The catalog gets a new `version` (its content hash); every ' +
  'API process answers from it within CATALOG_REFRESH_SECONDS, and the version is part of the answer cache key.';

const catalogSummary = named('CatalogSummary', catalogSummaryResponse);
const product = named('Product', productResponse);

/** Operator routes of the shop's catalog (X-Admin-Key). The upload route reads its body itself: the 16 KiB JSON limit does not apply. */
export const catalogAdminApi = defineRoutes<{ catalog: CatalogService; maxBytes: number }>([
  {
    method: 'get',
    path: '/api/v1/admin/catalog',
    auth: 'admin',
    handle: ({ catalog }) => async (_req, res) => {
      res.set('Cache-Control', 'no-store').json(summaryView(await catalog.summary()));
    },
    doc: {
      tags: ['catalog'],
      operationId: 'adminGetCatalog',
      summary: "The live catalog's summary",
      responses: { 200: json('The live catalog', catalogSummary, catalogSummaryExample, ['Cache-Control']), ...errors(ADMIN_ERRORS) },
    },
  },
  {
    method: 'put',
    path: '/api/v1/admin/catalog',
    auth: 'admin',
    handle: ({ catalog, maxBytes }) => async (req, res) => {
      const format = uploadFormatOf(req.get('content-type'));
      try {
        if (!format) throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'A catalog upload is application/json, application/x-ndjson or text/csv.');
        const declared = Number(req.get('content-length') ?? 0);
        if (declared > maxBytes) throw tooLarge(maxBytes);
        const summary = await catalog.replace(limited(req, maxBytes), format);
        res.set('Cache-Control', 'no-store').json(summaryView(summary));
      } catch (err) {
        // Over the limit: the rest of the body is not worth reading. Otherwise read and drop it,
        // so the answer reaches a client that is still sending.
        if (isAppError(err) && err.code === 'PAYLOAD_TOO_LARGE') res.set('Connection', 'close');
        else req.resume();
        throw err;
      }
    },
    doc: {
      tags: ['catalog'],
      operationId: 'adminReplaceCatalog',
      summary: 'Replace the whole catalog, atomically',
      description: CATALOG_UPLOAD_DESCRIPTION,
      request: {
        body: {
          required: true,
          content: {
            'application/json': { schema: z.object({ products: z.array(productBody) }), example: { products: [productExample] } },
            'application/x-ndjson': { schema: z.string().describe('One product (JSON) per line'), example: `${JSON.stringify(productExample)}\n` },
            'text/csv': {
              schema: z.string().describe('A header row of field names, then one product per row; `tags` separated by |'),
              example: 'id,name,brand,category,price,currency,tags,url,inStock\np-1042,Trailmaster GTX,Northpeak,shoes,89.99,USD,boots|hiking,https://shop.example/p/1042,true\n',
            },
          },
        },
      },
      responses: {
        200: json('The new live catalog', catalogSummary, catalogSummaryExample, ['Cache-Control']),
        ...errors(['VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'CATALOG_READ_ONLY', ...ADMIN_ERRORS]),
      },
    },
  },
  {
    method: 'put',
    path: '/api/v1/admin/catalog/products/:productId',
    auth: 'admin',
    handle: ({ catalog }) => [
      jsonBody(),
      async (req, res) => {
        const { productId } = parseOrThrow(productIdParams, req.params, 'product id');
        const body = parseOrThrow(productBody, req.body, 'product');
        res.set('Cache-Control', 'no-store').json(await catalog.put(productId, body));
      },
    ],
    doc: {
      tags: ['catalog'],
      operationId: 'adminPutProduct',
      summary: 'Create or replace one product',
      description: 'The body is the product; `id`, when given, must be the path\'s. Gives the catalog a new version.',
      request: { params: productIdParams, body: { required: true, content: { 'application/json': { schema: productBody, example: productExample } } } },
      responses: { 200: json('The product as stored', product, productExample, ['Cache-Control']), ...errors([...BODY_ERRORS, 'CATALOG_READ_ONLY', ...ADMIN_ERRORS]) },
    },
  },
  {
    method: 'patch',
    path: '/api/v1/admin/catalog/products/:productId',
    auth: 'admin',
    handle: ({ catalog }) => [
      jsonBody(),
      async (req, res) => {
        const { productId } = parseOrThrow(productIdParams, req.params, 'product id');
        const patch = parseOrThrow(productPatch, req.body, 'change');
        res.set('Cache-Control', 'no-store').json(await catalog.patch(productId, patch));
      },
    ],
    doc: {
      tags: ['catalog'],
      operationId: 'adminPatchProduct',
      summary: 'Change some fields of one product (price, stock, …)',
      description: '`null` removes an optional field (`description`, `tags`, `rating`, `url`, `imageUrl`). Gives the catalog a new version.',
      request: { params: productIdParams, body: { required: true, content: { 'application/json': { schema: productPatch, example: { price: 79.99, inStock: false } } } } },
      responses: {
        200: json('The product as stored', product, { ...productExample, price: 79.99, inStock: false }, ['Cache-Control']),
        ...errors([...BODY_ERRORS, 'PRODUCT_NOT_FOUND', 'CATALOG_READ_ONLY', ...ADMIN_ERRORS]),
      },
    },
  },
  {
    method: 'delete',
    path: '/api/v1/admin/catalog/products/:productId',
    auth: 'admin',
    handle: ({ catalog }) => async (req, res) => {
      const { productId } = parseOrThrow(productIdParams, req.params, 'product id');
      await catalog.remove(productId);
      res.status(204).end();
    },
    doc: {
      tags: ['catalog'],
      operationId: 'adminDeleteProduct',
      summary: 'Remove one product',
      description: 'Gives the catalog a new version.',
      request: { params: productIdParams },
      responses: { 204: noContent('Removed'), ...errors(['VALIDATION_FAILED', 'PRODUCT_NOT_FOUND', 'CATALOG_READ_ONLY', ...ADMIN_ERRORS]) },
    },
  },
]);

export const catalogAdminRoutes = (catalog: CatalogService, guards: RouteGuards, maxBytes: number) => catalogAdminApi.router({ catalog, maxBytes }, guards);
