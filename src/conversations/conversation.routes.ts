import { Router, type RequestHandler } from 'express';
import { route } from '../http/route.js';
import { callerOf } from '../identity/caller.js';
import { toConversationResponse, type ConversationResponse } from './conversation.schemas.js';
import type { ConversationService } from './conversation.service.js';

/**
 * A shopper's own conversations: read one (its turns, for a page that shows the thread) or
 * forget it. Another shopper's, an expired or an unknown id is 404 CONVERSATION_NOT_FOUND.
 */
export function conversationRoutes(conversations: ConversationService, authenticate: RequestHandler[]): Router {
  const router = Router();
  route(router, '/api/v1/conversations/:conversationId', {
    get: [
      ...authenticate,
      async (req, res) => {
        const conversation = await conversations.get(callerOf(res).userId, String(req.params.conversationId));
        const body: ConversationResponse = toConversationResponse(conversation);
        res.set('Cache-Control', 'no-store').json(body);
      },
    ],
    delete: [
      ...authenticate,
      async (req, res) => {
        await conversations.delete(callerOf(res).userId, String(req.params.conversationId));
        res.status(204).end();
      },
    ],
  });
  return router;
}
