import { named } from '../http/openapi-components.js';
import { ADMIN_ERRORS, errors, json, noContent } from '../http/openapi-responses.js';
import { defineRoutes } from '../http/route.js';
import { requireAdminKey } from '../identity/admin.middleware.js';
import { cacheStatsResponse } from './cache.schemas.js';
import type { QueryCacheService } from './query-cache.service.js';

/** Operator routes of the query cache (X-Admin-Key). */
export const cacheAdminApi = defineRoutes<QueryCacheService>([
  {
    method: 'get',
    path: '/api/v1/admin/cache/stats',
    auth: 'admin',
    handle: (cache) => async (_req, res) => {
      res.set('Cache-Control', 'no-store').json(cacheStatsResponse.parse(await cache.stats()));
    },
    doc: {
      tags: ['operator'],
      operationId: 'adminCacheStats',
      summary: 'Query cache statistics since the process started',
      description: '`entries` (PostgreSQL cache) may be read on a replica (`DATABASE_REPLICA_URLS`), up to `DB_REPLICA_MAX_LAG_SECONDS` behind. On Redis (one Redis or a Redis Cluster, `REDIS_CLUSTER_NODES`) it is null.',
      responses: {
        200: json('Counts since start (clearing keeps them)', named('CacheStats', cacheStatsResponse), { backend: 'postgres', hits: 3, misses: 1, bypasses: 0, hitRate: 0.75, entries: 1, breaker: 'closed' }, ['Cache-Control']),
        ...errors(ADMIN_ERRORS),
      },
    },
  },
  {
    method: 'delete',
    path: '/api/v1/admin/cache',
    auth: 'admin',
    handle: (cache) => async (_req, res) => {
      await cache.clear();
      res.status(204).end();
    },
    doc: {
      tags: ['operator'],
      operationId: 'adminClearCache',
      summary: 'Empty the query cache',
      responses: { 204: noContent('Emptied'), ...errors(ADMIN_ERRORS) },
    },
  },
]);

export const cacheAdminRoutes = (cache: QueryCacheService, adminApiKey: string | undefined) => cacheAdminApi.router(cache, { requireAdmin: requireAdminKey(adminApiKey) });
