import { Router, type RequestHandler } from 'express';
import { jsonBody } from '../http/json-body.js';
import { route } from '../http/route.js';
import { parseOrThrow } from '../http/validate.js';
import type { MaintenanceService } from './maintenance.service.js';
import { cleanupBody, type CleanupResponse } from './maintenance.schemas.js';

/** POST /api/v1/admin/maintenance/cleanup: retention on demand (defaults to TRANSACTION_RETENTION_DAYS). */
export function maintenanceRoutes(maintenance: MaintenanceService, requireAdmin: RequestHandler, retentionDays: number): Router {
  const router = Router();
  route(router, '/api/v1/admin/maintenance/cleanup', {
    post: [
      requireAdmin,
      jsonBody(),
      async (req, res) => {
        const body = parseOrThrow(cleanupBody, req.body, 'request body');
        const report: CleanupResponse = await maintenance.cleanup(body?.transactionsOlderThanDays ?? retentionDays);
        res.set('Cache-Control', 'no-store').json(report);
      },
    ],
  });
  return router;
}
