import { Router, type RequestHandler } from 'express';
import { jsonBody } from '../http/json-body.js';
import { route } from '../http/route.js';
import { parseOrThrow } from '../http/validate.js';
import { callerOf } from '../identity/caller.js';
import { consentBody, toConsentResponse, type ConsentResponse } from './consent.schemas.js';
import type { ConsentService } from './consent.service.js';

/** The caller's own consent. `authenticate` also creates the caller's credit row on first use. */
export function consentRoutes(consents: ConsentService, authenticate: RequestHandler[]): Router {
  const router = Router();
  route(router, '/api/v1/consent', {
    get: [
      ...authenticate,
      async (_req, res) => {
        const body: ConsentResponse = toConsentResponse(await consents.get(callerOf(res)));
        res.set('Cache-Control', 'no-store').json(body);
      },
    ],
    put: [
      ...authenticate,
      jsonBody(),
      async (req, res) => {
        const choice = parseOrThrow(consentBody, req.body, 'request body');
        const body: ConsentResponse = toConsentResponse(await consents.record(callerOf(res), choice));
        res.json(body);
      },
    ],
  });
  return router;
}
