import { Router, type RequestHandler } from 'express';
import { route } from '../http/route.js';
import { parseOrThrow } from '../http/validate.js';
import { callerOf } from '../identity/caller.js';
import { balanceHeaders } from './credit.headers.js';
import { toCreditsResponse, toTransactionItem, transactionsQuery, type CreditsResponse, type TransactionsResponse } from './credit.schemas.js';
import type { CreditService } from './credit.service.js';

/**
 * The caller's own credits. Both routes create the credit row on first use themselves, so they
 * take `authenticate` alone (no separate "ensure" round trip).
 */
export function creditRoutes(credits: CreditService, authenticate: RequestHandler): Router {
  const router = Router();
  route(router, '/api/v1/credits', {
    get: [
      authenticate,
      async (_req, res) => {
        const account = await credits.get(callerOf(res));
        const body: CreditsResponse = toCreditsResponse(account);
        res.set(balanceHeaders(account)).set('Cache-Control', 'no-store').json(body);
      },
    ],
  });
  route(router, '/api/v1/credits/transactions', {
    get: [
      authenticate,
      async (req, res) => {
        const query = parseOrThrow(transactionsQuery, { limit: req.query.limit, cursor: req.query.cursor }, 'query');
        const { account, page } = await credits.history(callerOf(res), query);
        const body: TransactionsResponse = { items: page.items.map(toTransactionItem), nextCursor: page.nextCursor };
        res.set(balanceHeaders(account)).set('Cache-Control', 'no-store').json(body);
      },
    ],
  });
  return router;
}
