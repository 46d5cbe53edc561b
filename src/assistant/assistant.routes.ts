import { createHmac } from 'node:crypto';
import { Router, type ErrorRequestHandler, type RequestHandler } from 'express';
import { normalizeText } from '../cache/cache-key.js';
import { balanceHeaders } from '../credits/credit.headers.js';
import { jsonBody } from '../http/json-body.js';
import { route } from '../http/route.js';
import { parseOrThrow } from '../http/validate.js';
import { callerOf } from '../identity/caller.js';
import type { Logger } from '../platform/logger.js';
import type { AssistantService, QueryOutcome } from './assistant.service.js';
import { AnswerStream, wantsEventStream } from './assistant.stream.js';
import { idempotencyHeaders, queryBody, type QueryResponse } from './assistant.schemas.js';

const NO_CACHE = /(^|[\s,])no-cache($|[\s,;=])/i;

/**
 * For the request log: an HMAC of the normalised question (16 hex digits), never its text. Keyed
 * by a secret from config, so a reader of the logs cannot confirm a guess by hashing it.
 */
export function queryHash(query: string, key: string): string {
  return createHmac('sha256', key).update(normalizeText(query)).digest('hex').slice(0, 16);
}

/**
 * POST /api/v1/assistant/query: the endpoint the shop's frontend lives on. `onError` (when
 * given) runs on any error after `authenticate`, before the error envelope.
 */
export function assistantRoutes(
  assistant: AssistantService,
  authenticate: RequestHandler[],
  onError: ErrorRequestHandler | undefined,
  queryHashKey: string,
  logger?: Logger,
): Router {
  const router = Router();
  route(router, '/api/v1/assistant/query', {
    post: [
      ...authenticate,
      jsonBody(),
      async (req, res) => {
        const body = parseOrThrow(queryBody, req.body, 'request body');
        res.locals.queryHash = queryHash(body.query, queryHashKey);
        const { 'Idempotency-Key': idempotencyKey } = parseOrThrow(idempotencyHeaders, { 'Idempotency-Key': req.get('idempotency-key') }, 'Idempotency-Key header');
        const noCache = NO_CACHE.test(req.get('cache-control') ?? '');
        if (wantsEventStream(req)) {
          // The 200 and `meta` go out once the question is charged; errors before that stay JSON.
          const stream = new AnswerStream(res, logger);
          let streamed: QueryOutcome;
          try {
            streamed = await assistant.query(callerOf(res), body, {
              idempotencyKey,
              noCache,
              onCharged: (charged) => stream.open(charged),
              // A fresh answer's products and text go out as the provider writes them.
              listener: stream,
            });
          } catch (err) {
            if (!stream.started) throw err;
            stream.fail(err);
            return;
          }
          stream.finish(streamed);
          return;
        }
        const outcome = await assistant.query(callerOf(res), body, { idempotencyKey, noCache });
        const response: QueryResponse = outcome.body;
        res.set(balanceHeaders(outcome.account)).set('X-Cache', outcome.cache).set('Cache-Control', 'no-store');
        if (outcome.replayed) res.set('Idempotent-Replayed', 'true');
        if (outcome.conversationReset) res.set('X-Conversation', 'reset');
        res.json(response);
      },
    ],
  });
  if (onError) router.use('/api/v1/assistant/query', onError);
  return router;
}
