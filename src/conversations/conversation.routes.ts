import { z } from 'zod';
import { named } from '../http/openapi-components.js';
import { EXAMPLE_TIME, USER_ERRORS, errors, json, noContent } from '../http/openapi-responses.js';
import { defineRoutes, type RouteGuards } from '../http/route.js';
import { callerOf } from '../identity/caller.js';
import { conversationParams, conversationResponse, toConversationResponse, type ConversationResponse } from './conversation.schemas.js';
import type { ConversationService } from './conversation.service.js';

const conversationParamsDoc = z.object({
  conversationId: conversationParams.shape.conversationId.meta({ description: 'The `conversationId` of an answer (opaque)', example: 'cv_3q2mJ8kP0sX1vYtR9wLz4A' }),
});

const conversationExample = {
  conversationId: 'cv_3q2mJ8kP0sX1vYtR9wLz4A',
  turns: [
    { query: 'waterproof hiking boots', resolvedQuery: { query: 'waterproof hiking boots', filters: {} }, productIds: ['p-1042', 'p-2210'], createdAt: EXAMPLE_TIME },
    { query: 'cheaper', resolvedQuery: { query: 'waterproof hiking boots', filters: { maxPrice: 89.98 } }, productIds: ['p-0307'], createdAt: EXAMPLE_TIME },
  ],
  expiresAt: '2026-01-01T17:00:00.000Z',
};

/**
 * A shopper's own conversations: read one (its turns, for a page that shows the thread) or
 * forget it. Another shopper's, an expired or an unknown id is 404 CONVERSATION_NOT_FOUND.
 * Neither touches credits: the row is ensured first.
 */
export const conversationApi = defineRoutes<ConversationService>([
  {
    method: 'get',
    path: '/api/v1/conversations/:conversationId',
    auth: 'caller',
    firstUse: 'ensure',
    handle: (conversations) => async (req, res) => {
      const conversation = await conversations.get(callerOf(res).userId, String(req.params.conversationId));
      const body: ConversationResponse = toConversationResponse(conversation);
      res.set('Cache-Control', 'no-store').json(body);
    },
    doc: {
      tags: ['assistant'],
      operationId: 'getConversation',
      summary: "One of the caller's conversations, with its turns",
      description:
        'The questions of a conversation (oldest first, at most 20) with what each was resolved to and the products shown. ' +
        'A conversation expires CONVERSATION_TTL_SECONDS after its last turn. An unknown, expired, deleted or another shopper’s id is 404; a path that is not valid percent-encoded UTF-8 is 400.',
      request: { params: conversationParamsDoc },
      responses: {
        200: json('The conversation', named('Conversation', conversationResponse), conversationExample, ['Cache-Control']),
        ...errors(['VALIDATION_FAILED', 'CONVERSATION_NOT_FOUND', ...USER_ERRORS]),
      },
    },
  },
  {
    method: 'delete',
    path: '/api/v1/conversations/:conversationId',
    auth: 'caller',
    firstUse: 'ensure',
    handle: (conversations) => async (req, res) => {
      await conversations.delete(callerOf(res).userId, String(req.params.conversationId));
      res.status(204).end();
    },
    doc: {
      tags: ['assistant'],
      operationId: 'deleteConversation',
      summary: 'Forget a conversation',
      description: 'Every turn is gone at once, for every API process; a later follow-up with this id is 404 CONVERSATION_NOT_FOUND.',
      request: { params: conversationParamsDoc },
      responses: { 204: noContent('Forgotten'), ...errors(['VALIDATION_FAILED', 'CONVERSATION_NOT_FOUND', ...USER_ERRORS]) },
    },
  },
]);

export const conversationRoutes = (conversations: ConversationService, guards: RouteGuards) => conversationApi.router(conversations, guards);
