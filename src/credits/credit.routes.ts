import { z } from 'zod';
import { named } from '../http/openapi-components.js';
import { BALANCE, EXAMPLE_GUEST_ID, EXAMPLE_RESETS_AT, EXAMPLE_TIME, USER_ERRORS, errors, json, pageCursor, pageLimit } from '../http/openapi-responses.js';
import { defineRoutes, type RouteGuards } from '../http/route.js';
import { parseOrThrow } from '../http/validate.js';
import { callerOf } from '../identity/caller.js';
import { balanceHeaders } from './credit.headers.js';
import { creditsResponse, toCreditsResponse, toTransactionItem, transactionsQuery, transactionsResponse, type CreditsResponse, type TransactionsResponse } from './credit.schemas.js';
import type { CreditService } from './credit.service.js';

export const creditsExample = { userId: EXAMPLE_GUEST_ID, isGuest: true, available: 9, max: 10, lastResetAt: EXAMPLE_TIME, resetsAt: EXAMPLE_RESETS_AT };

const transactionsQueryDoc = z.object({ limit: pageLimit.optional(), cursor: pageCursor }) satisfies z.ZodObject<Record<keyof z.input<typeof transactionsQuery>, z.ZodType>>;

/** The caller's own credits. Both read the credits, which creates the row on first use. */
export const creditApi = defineRoutes<CreditService>([
  {
    method: 'get',
    path: '/api/v1/credits',
    auth: 'caller',
    firstUse: 'handler',
    handle: (credits) => async (_req, res) => {
      const account = await credits.get(callerOf(res));
      const body: CreditsResponse = toCreditsResponse(account);
      res.set(balanceHeaders(account)).set('Cache-Control', 'no-store').json(body);
    },
    doc: {
      tags: ['credits'],
      operationId: 'getCredits',
      summary: "The caller's balance",
      description: "Creates the caller's credit row on first use. The allowance resets lazily at `resetsAt`.",
      responses: { 200: json('The balance', named('Credits', creditsResponse), creditsExample, [...BALANCE, 'Cache-Control']), ...errors(USER_ERRORS) },
    },
  },
  {
    method: 'get',
    path: '/api/v1/credits/transactions',
    auth: 'caller',
    firstUse: 'handler',
    handle: (credits) => async (req, res) => {
      const query = parseOrThrow(transactionsQuery, { limit: req.query.limit, cursor: req.query.cursor }, 'query');
      const { account, page } = await credits.history(callerOf(res), query);
      const body: TransactionsResponse = { items: page.items.map(toTransactionItem), nextCursor: page.nextCursor };
      res.set(balanceHeaders(account)).set('Cache-Control', 'no-store').json(body);
    },
    doc: {
      tags: ['credits'],
      operationId: 'listCreditTransactions',
      summary: "The caller's ledger, newest first",
      description:
        'Where the API runs with read replicas (`DATABASE_REPLICA_URLS`), a page may be read on one and be up to `DB_REPLICA_MAX_LAG_SECONDS` (5 s) behind the balance (`GET /api/v1/credits`, always current): the newest entry may appear a moment later.',
      request: { query: transactionsQueryDoc },
      responses: {
        200: json(
          'One page of ledger entries',
          named('TransactionPage', transactionsResponse),
          { items: [{ id: '17', type: 'debit', amount: -1, balanceAfter: 9, description: 'assistant query', createdAt: EXAMPLE_TIME }], nextCursor: null },
          [...BALANCE, 'Cache-Control'],
        ),
        ...errors(['VALIDATION_FAILED', ...USER_ERRORS]),
      },
    },
  },
]);

export const creditRoutes = (credits: CreditService, guards: RouteGuards) => creditApi.router(credits, guards);
