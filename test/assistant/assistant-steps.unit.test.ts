import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/assistant/clock.js';
import { IdempotencyStep } from '../../src/assistant/idempotency.step.js';
import { MemoryIdempotencyStore } from '../../src/idempotency/idempotency.store.memory.js';
import type { CreditService } from '../../src/credits/credit.service.js';
import { HoldStep } from '../../src/assistant/hold.step.js';
import { StorageUnavailableError } from '../../src/platform/errors.js';
import { ProviderCallStep } from '../../src/assistant/provider-call.step.js';
import { AssistantTimeoutError, type AssistantAnswer, type AssistantProvider } from '../../src/assistant/providers/provider.js';
import { SingleFlight } from '../../src/assistant/single-flight.step.js';
import { SINGLE_FLIGHT_MAX_KEYS } from '../../src/platform/memory-bounds.js';
import { answerFromJson, answerToJson } from '../../src/assistant/stored-answer.js';
import { BreakerRegistry } from '../../src/platform/breaker.js';
import { createLogger } from '../../src/platform/logger.js';
import { Metrics } from '../../src/platform/metrics.js';

const logger = createLogger({ level: 'silent' });

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('SingleFlight', () => {
  it('shares a running call per key, and past SINGLE_FLIGHT_MAX_KEYS keys runs further calls on their own', async () => {
    const flights = new SingleFlight<number>();
    const gates = Array.from({ length: SINGLE_FLIGHT_MAX_KEYS }, () => deferred<number>());
    let calls = 0;
    const first = gates.map((g, i) => flights.run(`k${i}`, () => (calls++, g.promise)));
    expect(flights.size).toBe(SINGLE_FLIGHT_MAX_KEYS);
    // A running key is shared, not called again.
    const twin = flights.run('k0', () => (calls++, Promise.resolve(-1)));
    expect(calls).toBe(SINGLE_FLIGHT_MAX_KEYS);
    // Past the bound: called (not refused), and not kept for sharing.
    const extra = [flights.run('over', () => (calls++, Promise.resolve(7))), flights.run('over', () => (calls++, Promise.resolve(8)))];
    expect(calls).toBe(SINGLE_FLIGHT_MAX_KEYS + 2);
    expect(flights.size).toBe(SINGLE_FLIGHT_MAX_KEYS);
    expect(await Promise.all(extra)).toEqual([7, 8]);
    gates.forEach((g, i) => g.resolve(i));
    expect(await twin).toBe(0);
    expect((await Promise.all(first)).length).toBe(SINGLE_FLIGHT_MAX_KEYS);
    expect(flights.size).toBe(0);
  });
});

describe('the provider call step', () => {
  it('times a call out by the injected clock', async () => {
    let fire: (() => void) | undefined;
    const clock: Clock = { now: () => 0, sleep: () => Promise.resolve(), after: (_ms, f) => ((fire = f), () => (fire = undefined)) };
    const provider = {
      name: 'catalog',
      model: 'test',
      catalogVersion: 'v',
      answer: (_request: unknown, signal: AbortSignal) => new Promise<AssistantAnswer>((_, reject) => signal.addEventListener('abort', () => reject(new AssistantTimeoutError()))),
    } as unknown as AssistantProvider;
    const breakers = new BreakerRegistry(logger);
    const breaker = breakers.create('assistant', { timeoutMs: false, errorThresholdPercentage: 50, volumeThreshold: 5, resetTimeoutMs: 10_000 });
    const step = new ProviderCallStep({ provider, breaker, metrics: new Metrics(), clock }, 60_000);
    const call = step.answer('key', { query: 'boots', limit: 3 });
    await Promise.resolve();
    expect(fire).toBeTypeOf('function');
    fire!();
    await expect(call).rejects.toBeInstanceOf(AssistantTimeoutError);
    breakers.shutdown();
  });
});

describe('a cached answer', () => {
  const answer: AssistantAnswer = {
    answer: 'Two boots.',
    products: [{ id: 'p1', name: 'Boot', brand: 'B', category: 'Shoes', price: 10, currency: 'EUR', score: 0.5, url: 'https://x.test/p1', inStock: true }],
  };

  it('reads back as the answer it was written from', () => {
    expect(answerFromJson(JSON.parse(JSON.stringify(answerToJson(answer))))).toEqual(answer);
  });

  it('is not served when the entry has another shape', () => {
    expect(answerFromJson({ answer: 'x' })).toBeUndefined();
    expect(answerFromJson({ answer: 'x', products: [{ id: 'p1' }] })).toBeUndefined();
    expect(answerFromJson('text')).toBeUndefined();
  });
});

describe('the idempotency step', () => {
  it('waits for a running attempt by the injected clock, then answers 409 IDEMPOTENCY_IN_PROGRESS', async () => {
    let now = 1_000_000;
    const slept: number[] = [];
    const clock: Clock = {
      now: () => now,
      sleep: (ms) => {
        slept.push(ms);
        now += ms;
        return Promise.resolve();
      },
      after: () => () => {},
    };
    const idempotency = new MemoryIdempotencyStore();
    const step = new IdempotencyStep({ idempotency, credits: {} as CreditService, logger, clock }, { leaseMs: 60_000, waitMs: 5000, pollMs: 100 });
    const request = { query: 'boots', limit: 3 };
    const first = await step.begin({ userId: 'u1', isGuest: false }, 'k1', request);
    expect('record' in first).toBe(true);
    const started = performance.now();
    await expect(step.begin({ userId: 'u1', isGuest: false }, 'k1', request)).rejects.toMatchObject({ code: 'IDEMPOTENCY_IN_PROGRESS' });
    // Five seconds of polling by the injected clock, none of it waited for real.
    expect(slept.length).toBe(50);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('the refund that decides an unknown settle', () => {
  it('starts a try only if it can end within the decide window, even when every try hangs for the guard\'s bound', async () => {
    // Virtual time: a try hangs for the whole bound (T), then fails as an outage.
    let now = 0;
    const clock: Clock = { now: () => now, sleep: async (ms) => void (now += ms), after: () => () => {} };
    const T = 1600;
    const windowMs = 3 * T + 750; // config's decideWindowMs for DB_QUERY_TIMEOUT_MS=1500
    const tries: { start: number; urgent: boolean }[] = [];
    const credits = {
      refund: async (_caller: unknown, _chargeId: string, _description: string, options?: { urgent?: boolean }) => {
        tries.push({ start: now, urgent: options?.urgent === true });
        now += T;
        throw new StorageUnavailableError(1);
      },
    } as unknown as CreditService;
    const holds = new HoldStep({ credits, idempotency: {} as IdempotencyStep, metrics: new Metrics(), logger, clock }, { holdMs: 60_000, decideWindowMs: windowMs, decideTryMs: T });
    await expect(holds.decide({ userId: 'u', isGuest: false }, '1', 3, new Error('lost'))).rejects.toBeInstanceOf(StorageUnavailableError);
    expect(now).toBeLessThanOrEqual(windowMs);
    expect(tries.length).toBe(3);
    expect(tries.every((t) => t.urgent)).toBe(true);
  });
});
