import { defineRoutes } from '../http/route.js';
import { named } from '../http/openapi-components.js';
import { EXAMPLE_GUEST_ID, errors, json } from '../http/openapi-responses.js';
import type { GuestSessionService } from './guest-session.js';
import { guestSessionResponse, type GuestSessionResponse } from './guest-session.schemas.js';

export const guestSessionApi = defineRoutes<GuestSessionService>([
  {
    method: 'post',
    path: '/api/v1/sessions/guest',
    auth: 'none',
    // Any body is ignored (it is never parsed).
    handle: (sessions) => async (req, res) => {
      const session = await sessions.create(req.ip ?? req.socket.remoteAddress ?? 'unknown');
      const body: GuestSessionResponse = {
        userId: session.userId,
        token: session.token,
        expiresAt: session.expiresAt.toISOString(),
        isGuest: true,
      };
      res.status(201).set('Cache-Control', 'no-store').json(body);
    },
    doc: {
      tags: ['identity'],
      operationId: 'createGuestSession',
      summary: 'Start a guest session',
      description:
        'Any body is ignored. Limited per client address in fixed one-hour windows (GUEST_SESSIONS_PER_IP_PER_HOUR, default 20; ' +
        'an IPv6 client counts by its /64, an IPv4 one by its address), and in all, whatever the address, to ' +
        'GUEST_SESSIONS_PER_HOUR (default 1000, 0 = no ceiling), counted across processes. Past either: 429 with Retry-After. ' +
        'A guest account that no charge or reset has touched for GUEST_SESSION_TTL_DAYS (the token lifetime) is deleted ' +
        'by the scheduled cleanup, with its ledger and consent.',
      responses: {
        201: json('A guest token', named('GuestSession', guestSessionResponse), { userId: EXAMPLE_GUEST_ID, token: 'eyJhbGciOiJIUzI1NiJ9.e30.sig', expiresAt: '2026-01-31T09:00:00.000Z', isGuest: true }, ['Cache-Control']),
        ...errors(['RATE_LIMITED', 'INTERNAL_ERROR', 'SERVICE_UNAVAILABLE']),
      },
    },
  },
]);

export const guestSessionRoutes = (sessions: GuestSessionService) => guestSessionApi.router(sessions);
