import { Router } from 'express';
import { z } from 'zod';
import { named } from '../http/openapi-components.js';
import { ADMIN_ERRORS, BALANCE, BODY_ERRORS, errors, json } from '../http/openapi-responses.js';
import { jsonBody } from '../http/json-body.js';
import { defineRoutes, type RouteGuards } from '../http/route.js';
import { parseOrThrow } from '../http/validate.js';
import { balanceHeaders } from './credit.headers.js';
import { creditsExample } from './credit.routes.js';
import { adjustBody, creditsResponse, ledgerReportResponse, toCreditsResponse, userIdParams, type CreditsResponse, type LedgerReportResponse } from './credit.schemas.js';
import type { CreditService } from './credit.service.js';

const userIdParamsDoc = z.object({
  userId: userIdParams.shape.userId.meta({
    description: 'guest_<uuid>, or a registered user id: 1–128 of A–Z a–z 0–9 _ . : @ - not starting with guest_',
    example: 'user_42',
  }),
});

/** Operator routes on any user's credits (X-Admin-Key). Reads never create a row. */
export const creditAdminApi = defineRoutes<CreditService>([
  {
    method: 'get',
    path: '/api/v1/admin/users/:userId/credits',
    auth: 'admin',
    handle: (credits) => async (req, res) => {
      const { userId } = parseOrThrow(userIdParams, req.params, 'user id');
      const account = await credits.find(userId);
      const body: CreditsResponse = toCreditsResponse(account);
      res.set(balanceHeaders(account)).set('Cache-Control', 'no-store').json(body);
    },
    doc: {
      tags: ['operator'],
      operationId: 'adminGetUserCredits',
      summary: "Read any user's balance",
      description: 'Never creates a credit row.',
      request: { params: userIdParamsDoc },
      responses: {
        200: json('The balance', named('Credits', creditsResponse), creditsExample, [...BALANCE, 'Cache-Control']),
        ...errors(['VALIDATION_FAILED', 'USER_NOT_FOUND', ...ADMIN_ERRORS]),
      },
    },
  },
  {
    method: 'post',
    path: '/api/v1/admin/users/:userId/credits/adjust',
    auth: 'admin',
    handle: (credits) => [
      jsonBody(),
      async (req, res) => {
        const { userId } = parseOrThrow(userIdParams, req.params, 'user id');
        const { amount, reason } = parseOrThrow(adjustBody, req.body, 'request body');
        const account = await credits.adjust(userId, amount, reason);
        const body: CreditsResponse = toCreditsResponse(account);
        res.set(balanceHeaders(account)).json(body);
      },
    ],
    doc: {
      tags: ['operator'],
      operationId: 'adminAdjustUserCredits',
      summary: 'Add or remove credits',
      description: 'Writes an `adjustment` entry; may lift `available` above `max`; `reason` becomes its description.',
      request: {
        params: userIdParamsDoc,
        body: { required: true, content: { 'application/json': { schema: adjustBody, example: { amount: 25, reason: 'goodwill after an outage' } } } },
      },
      responses: {
        200: json('The balance', named('Credits', creditsResponse), creditsExample, BALANCE),
        ...errors([...BODY_ERRORS, 'USER_NOT_FOUND', 'BALANCE_WOULD_BE_NEGATIVE', ...ADMIN_ERRORS]),
      },
    },
  },
  {
    method: 'post',
    path: '/api/v1/admin/users/:userId/credits/reset',
    auth: 'admin',
    handle: (credits) => async (req, res) => {
      const { userId } = parseOrThrow(userIdParams, req.params, 'user id');
      const account = await credits.reset(userId);
      const body: CreditsResponse = toCreditsResponse(account);
      res.set(balanceHeaders(account)).json(body);
    },
    doc: {
      tags: ['operator'],
      operationId: 'adminResetUserCredits',
      summary: 'Reset a balance to its allowance now',
      description: 'Writes a `reset` entry (none when already at `max`) and restarts the period.',
      request: { params: userIdParamsDoc },
      responses: { 200: json('The balance', named('Credits', creditsResponse), creditsExample, BALANCE), ...errors(['VALIDATION_FAILED', 'USER_NOT_FOUND', ...ADMIN_ERRORS]) },
    },
  },
]);

/** The operator's check of every balance against the ledger (X-Admin-Key). */
export const ledgerAdminApi = defineRoutes<CreditService>([
  {
    method: 'get',
    path: '/api/v1/admin/ledger/verify',
    auth: 'admin',
    handle: (credits) => async (_req, res) => {
      const body: LedgerReportResponse = await credits.verifyLedger();
      res.set('Cache-Control', 'no-store').json(body);
    },
    doc: {
      tags: ['operator'],
      operationId: 'adminVerifyLedger',
      summary: 'Check every balance against its ledger',
      description:
        'One set-based check of every user (for operators and tests, not for a hot path): `mismatched` counts users whose `available` differs from the sum of their ledger, `negative` balances below 0, `openHolds` charges not yet settled or refunded, `expiredHolds` those past CHARGE_HOLD_SECONDS that no sweep has refunded yet; `examples` names up to 10 offending users. On a healthy system all but `users` and `openHolds` are 0.',
      responses: {
        200: json('The check', named('LedgerReport', ledgerReportResponse), { users: 1204, mismatched: 0, negative: 0, openHolds: 3, expiredHolds: 0, examples: [] }, ['Cache-Control']),
        ...errors(ADMIN_ERRORS),
      },
    },
  },
]);

export function creditAdminRoutes(credits: CreditService, guards: RouteGuards): Router {
  return Router().use(creditAdminApi.router(credits, guards), ledgerAdminApi.router(credits, guards));
}
