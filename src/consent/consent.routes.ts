import { named } from '../http/openapi-components.js';
import { BODY_ERRORS, EXAMPLE_GUEST_ID, EXAMPLE_TIME, USER_ERRORS, errors, json } from '../http/openapi-responses.js';
import { jsonBody } from '../http/json-body.js';
import { defineRoutes, type RouteGuards } from '../http/route.js';
import { parseOrThrow } from '../http/validate.js';
import { callerOf } from '../identity/caller.js';
import { consentBody, consentResponse, toConsentResponse, type ConsentResponse } from './consent.schemas.js';
import type { ConsentService } from './consent.service.js';

export const consentExample = { userId: EXAMPLE_GUEST_ID, termsAccepted: true, marketingConsent: false, timestamp: EXAMPLE_TIME, updatedAt: EXAMPLE_TIME };

/** The caller's own consent. Neither route touches credits: the row is ensured first. */
export const consentApi = defineRoutes<ConsentService>([
  {
    method: 'get',
    path: '/api/v1/consent',
    auth: 'caller',
    firstUse: 'ensure',
    handle: (consents) => async (_req, res) => {
      const body: ConsentResponse = toConsentResponse(await consents.get(callerOf(res)));
      res.set('Cache-Control', 'no-store').json(body);
    },
    doc: {
      tags: ['consent'],
      operationId: 'getConsent',
      summary: "The caller's consent",
      responses: { 200: json('The consent record', named('Consent', consentResponse), consentExample, ['Cache-Control']), ...errors(['CONSENT_NOT_FOUND', ...USER_ERRORS]) },
    },
  },
  {
    method: 'put',
    path: '/api/v1/consent',
    auth: 'caller',
    firstUse: 'ensure',
    handle: (consents) => [
      jsonBody(),
      async (req, res) => {
        const choice = parseOrThrow(consentBody, req.body, 'request body');
        const body: ConsentResponse = toConsentResponse(await consents.record(callerOf(res), choice));
        res.json(body);
      },
    ],
    doc: {
      tags: ['consent'],
      operationId: 'putConsent',
      summary: "Record the caller's consent",
      description: '`timestamp` is when consent was first recorded, `updatedAt` the last change.',
      request: { body: { required: true, content: { 'application/json': { schema: consentBody, example: { termsAccepted: true, marketingConsent: false } } } } },
      responses: { 200: json('The consent record', named('Consent', consentResponse), consentExample), ...errors([...BODY_ERRORS, ...USER_ERRORS]) },
    },
  },
]);

export const consentRoutes = (consents: ConsentService, guards: RouteGuards) => consentApi.router(consents, guards);
