import type { Request, Response } from 'express';
import { balanceHeaders } from '../credits/credit.headers.js';
import { AppError, type ErrorCode } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import type { QueryOutcome } from './assistant.service.js';
import type { AnswerListener, AnsweredProduct } from './providers/provider.js';

/**
 * The query route's answer as Server-Sent Events (`Accept: text/event-stream`). Streaming is an
 * answer format only: the same checks, charge, cache and idempotency run as for JSON, and every
 * error before the charge stays a JSON error with its status. Events, in order:
 * `meta` {cached, creditsCharged, credits, conversationId, resolvedQuery}, `products` {products},
 * one or more `delta` {text} whose texts concatenate to the answer, then `done` {answer}; or,
 * in place of what is left, `error` {code, message} (the charge was refunded before it is sent).
 * A client that goes away does not stop the answer: it is completed and recorded, and a retry
 * with the same Idempotency-Key replays it.
 */

/** Whether the caller asked for an event stream. */
export function wantsEventStream(req: Request): boolean {
  return /(^|,)\s*text\/event-stream\s*(;|,|$)/i.test(req.get('accept') ?? '');
}

export type StreamEventName = 'meta' | 'products' | 'delta' | 'done' | 'error';

export class AnswerStream implements AnswerListener {
  private opened = false;
  private productsSent = false;
  private deltasSent = false;

  constructor(
    private readonly res: Response,
    private readonly logger: Logger | undefined,
  ) {}

  get started(): boolean {
    return this.opened;
  }

  /** Sends the 200 with its headers and the `meta` event (once). */
  open(charged: QueryOutcome): void {
    if (this.opened) return;
    this.opened = true;
    this.res
      .status(200)
      .set(balanceHeaders(charged.account))
      .set({
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        'X-Cache': charged.cache,
        // Proxies that buffer responses (nginx) would hold the events back.
        'X-Accel-Buffering': 'no',
      });
    if (charged.replayed) this.res.set('Idempotent-Replayed', 'true');
    if (charged.conversationReset) this.res.set('X-Conversation', 'reset');
    this.res.flushHeaders();
    const { cached, creditsCharged, credits, conversationId, resolvedQuery } = charged.body;
    this.send('meta', { cached, creditsCharged, credits, conversationId, resolvedQuery });
  }

  /** The answer's products as the provider chose them (after `meta`, before any delta). */
  products(products: AnsweredProduct[]): void {
    if (!this.opened || this.productsSent) return;
    this.productsSent = true;
    this.send('products', { products });
  }

  /** A piece of the answer text as the provider writes it. */
  delta(text: string): void {
    if (!this.productsSent || !text) return;
    this.deltasSent = true;
    this.send('delta', { text });
  }

  /** The rest of a completed answer: what was not streamed of products and text, then done. */
  finish(outcome: QueryOutcome): void {
    this.open(outcome);
    if (!this.productsSent) this.products(outcome.body.products);
    if (!this.deltasSent) this.delta(outcome.body.answer);
    this.send('done', { answer: outcome.body.answer });
    this.res.end();
  }

  /** Ends the stream with an `error` event (the charge is already refunded by then). */
  fail(err: unknown): void {
    let code: ErrorCode = 'INTERNAL_ERROR';
    let message = 'Something went wrong on our side; the request id identifies it.';
    if (err instanceof AppError) {
      code = err.code;
      message = err.message;
    } else {
      this.logger?.error({ err, requestId: String(this.res.req.id) }, 'unhandled error in a streamed answer');
    }
    this.send('error', { code, message });
    this.res.end();
  }

  private send(event: StreamEventName, data: unknown): void {
    // A client that went away is not written to; the answer is completed all the same.
    if (this.res.writableEnded || this.res.destroyed) return;
    this.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }
}
