import { Router, type RequestHandler } from 'express';
import { jsonBody } from '../http/json-body.js';
import { route } from '../http/route.js';
import { parseOrThrow } from '../http/validate.js';
import { balanceHeaders } from './credit.headers.js';
import { adjustBody, toCreditsResponse, userIdParams, type CreditsResponse, type LedgerReportResponse } from './credit.schemas.js';
import type { CreditService } from './credit.service.js';

/** Operator routes on any user's credits, and the ledger check (X-Admin-Key). Reads never create a row. */
export function creditAdminRoutes(credits: CreditService, requireAdmin: RequestHandler): Router {
  const router = Router();
  route(router, '/api/v1/admin/users/:userId/credits', {
    get: [
      requireAdmin,
      async (req, res) => {
        const { userId } = parseOrThrow(userIdParams, req.params, 'user id');
        const account = await credits.find(userId);
        const body: CreditsResponse = toCreditsResponse(account);
        res.set(balanceHeaders(account)).set('Cache-Control', 'no-store').json(body);
      },
    ],
  });
  route(router, '/api/v1/admin/users/:userId/credits/adjust', {
    post: [
      requireAdmin,
      jsonBody(),
      async (req, res) => {
        const { userId } = parseOrThrow(userIdParams, req.params, 'user id');
        const { amount, reason } = parseOrThrow(adjustBody, req.body, 'request body');
        const account = await credits.adjust(userId, amount, reason);
        const body: CreditsResponse = toCreditsResponse(account);
        res.set(balanceHeaders(account)).json(body);
      },
    ],
  });
  route(router, '/api/v1/admin/users/:userId/credits/reset', {
    post: [
      requireAdmin,
      async (req, res) => {
        const { userId } = parseOrThrow(userIdParams, req.params, 'user id');
        const account = await credits.reset(userId);
        const body: CreditsResponse = toCreditsResponse(account);
        res.set(balanceHeaders(account)).json(body);
      },
    ],
  });
  route(router, '/api/v1/admin/ledger/verify', {
    get: [
      requireAdmin,
      async (_req, res) => {
        const body: LedgerReportResponse = await credits.verifyLedger();
        res.set('Cache-Control', 'no-store').json(body);
      },
    ],
  });
  return router;
}
