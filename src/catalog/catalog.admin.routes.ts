import type { IncomingMessage } from 'node:http';
import { Router, type RequestHandler } from 'express';
import { jsonBody } from '../http/json-body.js';
import { route } from '../http/route.js';
import { parseOrThrow } from '../http/validate.js';
import { AppError, isAppError } from '../platform/errors.js';
import { uploadFormatOf } from './catalog-upload.js';
import type { CatalogSummary } from './catalog.store.js';
import { productBody, productIdParams, productPatch } from './catalog.schemas.js';
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

/** Operator routes of the shop's catalog (X-Admin-Key). The upload route reads its body itself: the 16 KiB JSON limit does not apply. */
export function catalogAdminRoutes(catalog: CatalogService, admin: RequestHandler, maxBytes: number): Router {
  const router = Router();
  route(router, '/api/v1/admin/catalog', {
    get: [
      admin,
      async (_req, res) => {
        res.set('Cache-Control', 'no-store').json(summaryView(await catalog.summary()));
      },
    ],
    put: [
      admin,
      async (req, res) => {
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
    ],
  });
  route(router, '/api/v1/admin/catalog/products/:productId', {
    put: [
      admin,
      jsonBody(),
      async (req, res) => {
        const { productId } = parseOrThrow(productIdParams, req.params, 'product id');
        const body = parseOrThrow(productBody, req.body, 'product');
        res.set('Cache-Control', 'no-store').json(await catalog.put(productId, body));
      },
    ],
    patch: [
      admin,
      jsonBody(),
      async (req, res) => {
        const { productId } = parseOrThrow(productIdParams, req.params, 'product id');
        const patch = parseOrThrow(productPatch, req.body, 'change');
        res.set('Cache-Control', 'no-store').json(await catalog.patch(productId, patch));
      },
    ],
    delete: [
      admin,
      async (req, res) => {
        const { productId } = parseOrThrow(productIdParams, req.params, 'product id');
        await catalog.remove(productId);
        res.status(204).end();
      },
    ],
  });
  return router;
}
