import { BreakerOpenError, type Breaker } from '../platform/breaker.js';
import { AppError } from '../platform/errors.js';
import type { Metrics } from '../platform/metrics.js';
import type { Clock } from './clock.js';
import { AssistantTimeoutError, type AnswerListener, type AssistantAnswer, type AssistantProvider, type AssistantRequest } from './providers/provider.js';
import { SingleFlight } from './single-flight.step.js';

/**
 * The query route's provider step, for a cache miss: one provider call per cache key at a time
 * on this process (later identical misses share it, see SingleFlight), under the assistant's
 * breaker, cancelled after ASSISTANT_TIMEOUT_MS. An open breaker is a 503 with Retry-After; a
 * timeout is AssistantTimeoutError (504); an upstream error passes through (502), as does an
 * error of ShopAssist's own code (500, and never counted by the breaker, see its isFailure).
 */
export class ProviderCallStep {
  private readonly flights = new SingleFlight<AssistantAnswer>();

  constructor(
    private readonly deps: { provider: AssistantProvider; breaker: Breaker; metrics: Metrics; clock: Clock },
    private readonly timeoutMs: number,
  ) {}

  /** `listener` is told the answer as it is written, unless the call is shared with an earlier one. */
  answer(cacheKey: string, request: AssistantRequest, listener?: AnswerListener): Promise<AssistantAnswer> {
    return this.flights.run(cacheKey, () => this.underBreaker(request, listener));
  }

  private async underBreaker(request: AssistantRequest, listener: AnswerListener | undefined): Promise<AssistantAnswer> {
    const { provider, breaker, metrics } = this.deps;
    // A measurement, not a decision: the histogram wants the high-resolution timer.
    const started = performance.now();
    let outcome: 'ok' | 'error' | 'timeout' = 'ok';
    try {
      return storable(await breaker.run(() => this.withTimeout((signal) => provider.answer(request, signal, listener))));
    } catch (err) {
      if (err instanceof BreakerOpenError) {
        outcome = 'error';
        throw new AppError('SERVICE_UNAVAILABLE', 'The product assistant is temporarily unavailable; try again shortly.', {
          headers: { 'Retry-After': String(Math.max(1, breaker.secondsUntilProbe())) },
          cause: err,
        });
      }
      outcome = err instanceof AssistantTimeoutError ? 'timeout' : 'error';
      throw err;
    } finally {
      metrics.assistantDuration.observe({ provider: provider.name, outcome }, (performance.now() - started) / 1000);
    }
  }

  /** Runs `task` with a signal that fires after the timeout; a fired signal settles as AssistantTimeoutError. */
  private async withTimeout<T>(task: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    let cancel: (() => void) | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      cancel = this.deps.clock.after(this.timeoutMs, () => {
        controller.abort(new Error(`timed out after ${this.timeoutMs} ms`));
        reject(new AssistantTimeoutError());
      });
    });
    try {
      return await Promise.race([task(controller.signal), timedOut]);
    } finally {
      cancel?.();
    }
  }
}

/** A lone UTF-16 surrogate (half of a character, as a cut inside an emoji leaves), or a NUL. */
// eslint-disable-next-line no-control-regex -- NUL is exactly what must be found
const UNSTORABLE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|\u0000/g;

/**
 * The answer as PostgreSQL's jsonb can hold it (a model's reply is cut to a length, which may
 * split a character, and may hold a NUL): a lone surrogate becomes U+FFFD and a NUL is dropped, so
 * a model's text never makes its own record, or a batch it shares a statement with, fail.
 */
export function storable(answer: AssistantAnswer): AssistantAnswer {
  UNSTORABLE.lastIndex = 0;
  if (!UNSTORABLE.test(answer.answer)) return answer;
  return { ...answer, answer: answer.answer.replace(UNSTORABLE, (c) => (c === '\u0000' ? '' : '\uFFFD')) };
}
