import { named } from '../http/openapi-components.js';
import { ADMIN_ERRORS, BODY_ERRORS, errors, json } from '../http/openapi-responses.js';
import { jsonBody } from '../http/json-body.js';
import { defineRoutes, type RouteGuards } from '../http/route.js';
import { parseOrThrow } from '../http/validate.js';
import type { MaintenanceService } from './maintenance.service.js';
import { cleanupBody, cleanupResponse, type CleanupResponse } from './maintenance.schemas.js';

/** POST /api/v1/admin/maintenance/cleanup: retention on demand (defaults to TRANSACTION_RETENTION_DAYS). */
export const maintenanceApi = defineRoutes<{ maintenance: MaintenanceService; retentionDays: number }>([
  {
    method: 'post',
    path: '/api/v1/admin/maintenance/cleanup',
    auth: 'admin',
    handle: ({ maintenance, retentionDays }) => [
      jsonBody(),
      async (req, res) => {
        const body = parseOrThrow(cleanupBody, req.body, 'request body');
        const report: CleanupResponse = await maintenance.cleanup(body?.transactionsOlderThanDays ?? retentionDays);
        res.set('Cache-Control', 'no-store').json(report);
      },
    ],
    doc: {
      tags: ['operator'],
      operationId: 'adminCleanup',
      summary: 'Delete expired cache entries and old ledger entries; refund expired holds',
      description:
        'Old ledger entries are replaced by one `carryover` per user; the default age is TRANSACTION_RETENTION_DAYS. Held charges past CHARGE_HOLD_SECONDS are refunded (as the periodic sweep does).',
      request: { body: { required: false, content: { 'application/json': { schema: cleanupBody, example: { transactionsOlderThanDays: 90 } } } } },
      responses: {
        200: json('What was deleted', named('CleanupReport', cleanupResponse), { expiredCacheEntriesDeleted: 4, transactionsDeleted: 120, expiredHoldsRefunded: 0 }, ['Cache-Control']),
        ...errors([...BODY_ERRORS, ...ADMIN_ERRORS]),
      },
    },
  },
]);

export const maintenanceRoutes = (maintenance: MaintenanceService, guards: RouteGuards, retentionDays: number) => maintenanceApi.router({ maintenance, retentionDays }, guards);
