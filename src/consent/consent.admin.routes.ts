import { z } from 'zod';
import { named } from '../http/openapi-components.js';
import { ADMIN_ERRORS, errors, json, pageCursor, pageLimit } from '../http/openapi-responses.js';
import { defineRoutes, type RouteGuards } from '../http/route.js';
import { parseOrThrow } from '../http/validate.js';
import { consentExample } from './consent.routes.js';
import { consentListQuery, consentListResponse, toConsentResponse, type ConsentListResponse } from './consent.schemas.js';
import type { ConsentService } from './consent.service.js';

const consentListQueryDoc = z.object({
  marketingConsent: z.enum(['true', 'false']).optional().openapi({ description: 'Only records with this marketing choice.' }),
  limit: pageLimit.optional(),
  cursor: pageCursor,
}) satisfies z.ZodObject<Record<keyof z.input<typeof consentListQuery>, z.ZodType>>;

/** Operators list consent records (e.g. everyone who accepted marketing), newest first. */
export const consentAdminApi = defineRoutes<ConsentService>([
  {
    method: 'get',
    path: '/api/v1/admin/consents',
    auth: 'admin',
    handle: (consents) => async (req, res) => {
      const query = parseOrThrow(
        consentListQuery,
        { marketingConsent: req.query.marketingConsent, limit: req.query.limit, cursor: req.query.cursor },
        'query',
      );
      const page = await consents.list(query);
      const body: ConsentListResponse = { items: page.items.map(toConsentResponse), nextCursor: page.nextCursor };
      res.set('Cache-Control', 'no-store').json(body);
    },
    doc: {
      tags: ['operator'],
      operationId: 'adminListConsents',
      summary: 'List consent records, newest first',
      description: 'With read replicas (`DATABASE_REPLICA_URLS`) the list may be up to `DB_REPLICA_MAX_LAG_SECONDS` behind; consent checks on queries never are.',
      request: { query: consentListQueryDoc },
      responses: {
        200: json('One page of consent records', named('ConsentPage', consentListResponse), { items: [consentExample], nextCursor: null }, ['Cache-Control']),
        ...errors(['VALIDATION_FAILED', ...ADMIN_ERRORS]),
      },
    },
  },
]);

export const consentAdminRoutes = (consents: ConsentService, guards: RouteGuards) => consentAdminApi.router(consents, guards);
