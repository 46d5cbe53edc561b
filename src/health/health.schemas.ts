import { z } from 'zod';
import type { Readiness } from './health.service.js';

/** GET /health/live while the process runs. */
export const liveResponse = z.object({ status: z.literal('ok') });
export type LiveResponse = z.infer<typeof liveResponse>;

const componentHealth = z.object({
  status: z.enum(['up', 'down', 'disabled']).describe('disabled: memory storage for database, none for cache'),
  latencyMs: z.number().min(0).nullable(),
});

/** GET /health/ready: 200 ready or degraded, 503 unavailable (the database is down). */
export const readinessResponse = z.object({
  status: z.enum(['ready', 'degraded', 'unavailable']),
  checks: z.object({ database: componentHealth, cache: componentHealth, assistant: componentHealth }),
}) satisfies z.ZodType<Readiness>;
export type ReadinessResponse = z.infer<typeof readinessResponse>;
