import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BreakerRegistry } from './breaker.js';

export type UserKind = 'guest' | 'registered';
export type CacheResult = 'hit' | 'miss' | 'bypass' | 'error';
export type BreakerStateName = 'closed' | 'halfOpen' | 'open';

/** The numbers `shopassist_breaker_state` exports: 0 closed, 1 half-open, 2 open. */
export const BREAKER_STATE_VALUE: Record<BreakerStateName, number> = { closed: 0, halfOpen: 1, open: 2 };

/**
 * Every metric the API exports, on a registry of its own (one per app, never a global one, so
 * tests can build several apps in one process). Features receive this object and record
 * through it; `/metrics` renders `registry`.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method, route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly creditsGranted = new Counter({
    name: 'shopassist_credits_granted_total',
    help: 'Credits granted to new users and by resets that raise a balance.',
    labelNames: ['user_kind'] as const,
    registers: [this.registry],
  });

  readonly creditsCharged = new Counter({
    name: 'shopassist_credits_charged_total',
    help: 'Credits charged for assistant answers.',
    labelNames: ['user_kind'] as const,
    registers: [this.registry],
  });

  readonly creditsRefunded = new Counter({
    name: 'shopassist_credits_refunded_total',
    help: 'Credits refunded after a failed assistant call.',
    labelNames: ['user_kind'] as const,
    registers: [this.registry],
  });

  readonly cacheRequests = new Counter({
    name: 'shopassist_cache_requests_total',
    help: 'Query cache lookups by backend and result (hit, miss, bypass, error).',
    labelNames: ['backend', 'result'] as const,
    registers: [this.registry],
  });

  readonly breakerState: Gauge<'breaker'>;

  readonly breakerTransitions = new Counter({
    name: 'shopassist_breaker_transitions_total',
    help: 'Circuit breaker state changes, by breaker and the state entered.',
    labelNames: ['breaker', 'state'] as const,
    registers: [this.registry],
  });

  readonly assistantDuration = new Histogram({
    name: 'shopassist_assistant_call_duration_seconds',
    help: 'Assistant provider call latency, by provider and outcome (ok, error, timeout).',
    labelNames: ['provider', 'outcome'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly dbPool: Gauge<'state'>;

  /** The breakers whose states the gauge reads at scrape time (see `watchBreakers`). */
  private breakers: BreakerRegistry | undefined;

  /** `poolStats` is read at scrape time; without a database the pool gauges stay absent. */
  constructor(options: { poolStats?: () => PoolStats } = {}) {
    collectDefaultMetrics({ register: this.registry });
    const poolStats = options.poolStats;
    const breakerStates = () => this.breakers?.states() ?? {};
    this.breakerState = new Gauge({
      name: 'shopassist_breaker_state',
      help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open.',
      labelNames: ['breaker'] as const,
      registers: [this.registry],
      collect() {
        // Read at scrape time, so a breaker shows its state even before its first transition.
        this.reset();
        for (const [breaker, state] of Object.entries(breakerStates())) this.set({ breaker }, BREAKER_STATE_VALUE[state]);
      },
    });
    this.dbPool = new Gauge({
      name: 'shopassist_db_pool_connections',
      help: 'Database pool connections by state (size, in_use, idle, waiting).',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        if (!poolStats) return;
        const s = poolStats();
        this.set({ state: 'size' }, s.size);
        this.set({ state: 'in_use' }, s.using);
        this.set({ state: 'idle' }, s.available);
        this.set({ state: 'waiting' }, s.waiting);
      },
    });
  }

  /**
   * Exports the registry's breakers: `shopassist_breaker_state` reads every state at scrape time
   * and `shopassist_breaker_transitions_total` counts each change, including breakers created later.
   */
  watchBreakers(breakers: BreakerRegistry): void {
    this.breakers = breakers;
    breakers.onStateChange((breaker, state) => this.breakerTransitions.inc({ breaker, state }));
  }
}

export interface PoolStats {
  size: number;
  available: number;
  using: number;
  waiting: number;
}
