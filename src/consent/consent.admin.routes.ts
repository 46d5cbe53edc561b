import { Router, type RequestHandler } from 'express';
import { route } from '../http/route.js';
import { parseOrThrow } from '../http/validate.js';
import { consentListQuery, toConsentResponse, type ConsentListResponse } from './consent.schemas.js';
import type { ConsentService } from './consent.service.js';

/** Operators list consent records (e.g. everyone who accepted marketing), newest first. */
export function consentAdminRoutes(consents: ConsentService, requireAdmin: RequestHandler): Router {
  const router = Router();
  route(router, '/api/v1/admin/consents', {
    get: [
      requireAdmin,
      async (req, res) => {
        const query = parseOrThrow(
          consentListQuery,
          { marketingConsent: req.query.marketingConsent, limit: req.query.limit, cursor: req.query.cursor },
          'query',
        );
        const page = await consents.list(query);
        const body: ConsentListResponse = { items: page.items.map(toConsentResponse), nextCursor: page.nextCursor };
        res.set('Cache-Control', 'no-store').json(body);
      },
    ],
  });
  return router;
}
