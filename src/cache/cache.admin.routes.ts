import { Router } from 'express';
import { route } from '../http/route.js';
import { requireAdminKey } from '../identity/admin.middleware.js';
import { cacheStatsResponse } from './cache.schemas.js';
import type { QueryCacheService } from './query-cache.service.js';

/** Operator routes of the query cache (X-Admin-Key). */
export function cacheAdminRoutes(cache: QueryCacheService, adminApiKey: string | undefined): Router {
  const router = Router();
  const admin = requireAdminKey(adminApiKey);
  route(router, '/api/v1/admin/cache/stats', {
    get: [
      admin,
      async (_req, res) => {
        res.set('Cache-Control', 'no-store').json(cacheStatsResponse.parse(await cache.stats()));
      },
    ],
  });
  route(router, '/api/v1/admin/cache', {
    delete: [
      admin,
      async (_req, res) => {
        await cache.clear();
        res.status(204).end();
      },
    ],
  });
  return router;
}
