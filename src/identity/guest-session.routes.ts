import { Router } from 'express';
import { route } from '../http/route.js';
import type { GuestSessionService } from './guest-session.js';
import type { GuestSessionResponse } from './guest-session.schemas.js';

export function guestSessionRoutes(sessions: GuestSessionService): Router {
  const router = Router();
  route(router, '/api/v1/sessions/guest', {
    // Any body is ignored (it is never parsed).
    post: async (req, res) => {
      const session = await sessions.create(req.ip ?? req.socket.remoteAddress ?? 'unknown');
      const body: GuestSessionResponse = {
        userId: session.userId,
        token: session.token,
        expiresAt: session.expiresAt.toISOString(),
        isGuest: true,
      };
      res.status(201).set('Cache-Control', 'no-store').json(body);
    },
  });
  return router;
}
