import { z } from 'zod';

/** GET /api/v1/admin/cache/stats: counts since the process started (clearing keeps them). */
export const cacheStatsResponse = z
  .object({
    backend: z.enum(['postgres', 'redis', 'memory', 'none']),
    hits: z.number().int().min(0),
    misses: z.number().int().min(0),
    bypasses: z.number().int().min(0),
    hitRate: z.number().min(0).max(1).describe('hits / (hits + misses); 0 before any lookup'),
    entries: z.number().int().min(0).nullable().describe('live entries; null where counting is costly or the store does not answer'),
    breaker: z.enum(['closed', 'open', 'halfOpen']),
  })
  .describe('Query cache statistics');

export type CacheStatsResponse = z.infer<typeof cacheStatsResponse>;
