import CircuitBreaker from 'opossum';
import type { Logger } from './logger.js';

/**
 * Circuit breakers for every backend (PostgreSQL, Redis, the assistant), on opossum. A breaker
 * counts failures in a rolling window; past `errorThresholdPercentage` (once at least
 * `volumeThreshold` calls were made in the window) it opens and fails every call at once. After
 * `resetTimeoutMs` it lets one probe call through (half-open): success closes it, failure opens
 * it again. Transitions are logged; `states()` lets readiness and metrics read them.
 */

export type BreakerState = 'closed' | 'open' | 'halfOpen';

export interface BreakerOptions {
  /** Gives up on a call after this long (counted as a failure); false when the driver bounds calls itself. */
  timeoutMs: number | false;
  /** Failure percentage in the rolling window above which the breaker opens. */
  errorThresholdPercentage: number;
  /** Calls the window must hold before the percentage can open the breaker. */
  volumeThreshold: number;
  /** How long the breaker stays open before a half-open probe. */
  resetTimeoutMs: number;
  /** Length of the rolling window (default 10 s). */
  rollingWindowMs?: number;
  /**
   * Errors that say nothing about the backend's health (a constraint violation, a business
   * error) return false here: they reach the caller but never count towards opening.
   */
  isFailure?: (err: unknown) => boolean;
}

/** Rejected by `Breaker.run` while the breaker is open (no call was made). */
export class BreakerOpenError extends Error {
  constructor(readonly breaker: string) {
    super(`The ${breaker} breaker is open`);
    this.name = 'BreakerOpenError';
  }
}

/** Rejected by `Breaker.run` when a call exceeded `timeoutMs` (the call itself may still be running). */
export class BreakerTimeoutError extends Error {
  constructor(
    readonly breaker: string,
    readonly timeoutMs: number,
  ) {
    super(`The ${breaker} call timed out after ${timeoutMs} ms`);
    this.name = 'BreakerTimeoutError';
  }
}

type Task = () => Promise<unknown>;

export class Breaker {
  private readonly circuit: CircuitBreaker<[Task], unknown>;
  private openedAt = 0;
  private readonly listeners = new Set<(state: BreakerState) => void>();

  constructor(
    readonly name: string,
    private readonly options: BreakerOptions,
    logger: Logger,
  ) {
    const isFailure = options.isFailure;
    this.circuit = new CircuitBreaker<[Task], unknown>((task: Task) => task(), {
      name,
      timeout: options.timeoutMs,
      errorThresholdPercentage: options.errorThresholdPercentage,
      volumeThreshold: options.volumeThreshold,
      resetTimeout: options.resetTimeoutMs,
      rollingCountTimeout: options.rollingWindowMs ?? 10_000,
      rollingCountBuckets: 10,
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
      // errorFilter: true = "not a failure of the backend".
      errorFilter: isFailure ? (err: unknown) => !isFailure(err) : undefined,
    });
    const changed = (state: BreakerState) => {
      for (const listener of this.listeners) listener(state);
    };
    this.circuit.on('open', () => {
      this.openedAt = Date.now();
      logger.warn({ event: 'breaker_open', breaker: name, retryInMs: options.resetTimeoutMs }, `${name} breaker opened`);
      changed('open');
    });
    this.circuit.on('halfOpen', () => {
      logger.info({ event: 'breaker_half_open', breaker: name }, `${name} breaker half-open: probing`);
      changed('halfOpen');
    });
    this.circuit.on('close', () => {
      this.forgetWindow();
      logger.info({ event: 'breaker_closed', breaker: name }, `${name} breaker closed`);
      changed('closed');
    });
  }

  /**
   * Runs `task` under the breaker. Rejects with BreakerOpenError at once while open, with
   * BreakerTimeoutError past the timeout, else with the task's own error.
   */
  run<T>(task: () => Promise<T>): Promise<T> {
    return (this.circuit.fire(task) as Promise<T>).catch(this.translate);
  }

  private readonly translate = (err: unknown): never => {
    const code = (err as { code?: string } | null)?.code;
    if (code === 'EOPENBREAKER') throw new BreakerOpenError(this.name);
    if (code === 'ETIMEDOUT' && err instanceof Error && err.message.startsWith('Timed out after')) {
      throw new BreakerTimeoutError(this.name, this.options.timeoutMs || 0);
    }
    throw err;
  };

  get state(): BreakerState {
    if (this.circuit.opened) return 'open';
    if (this.circuit.halfOpen) return 'halfOpen';
    return 'closed';
  }

  /** Whole seconds until the next half-open probe (at least 1 while open, 0 otherwise): for Retry-After. */
  secondsUntilProbe(): number {
    if (this.state !== 'open') return 0;
    const ms = this.openedAt + this.options.resetTimeoutMs - Date.now();
    return Math.max(1, Math.ceil(ms / 1000));
  }

  /** Called on every transition; returns an unsubscribe function. */
  onStateChange(listener: (state: BreakerState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * A breaker that closes starts from a fresh window. opossum counts the calls it rejected while
   * open as fires, so without this the rejects (and the failures that opened it) would dilute the
   * next outage's error rate for a whole window, and the breaker would stay closed while every
   * call fails. The window's buckets are opossum's own objects; they are zeroed in place.
   */
  private forgetWindow(): void {
    const buckets = (this.circuit.status as unknown as { window: Record<string, unknown>[] }).window;
    for (const bucket of buckets) {
      for (const [field, value] of Object.entries(bucket)) {
        if (typeof value === 'number') bucket[field] = 0;
        else if (Array.isArray(value)) bucket[field] = [];
      }
    }
  }

  /** Stops the breaker's timers. */
  shutdown(): void {
    this.circuit.shutdown();
    this.listeners.clear();
  }
}

/** The named breakers of one app, so readiness and metrics can read every state. */
export class BreakerRegistry {
  private readonly breakers = new Map<string, Breaker>();
  private readonly listeners = new Set<(breaker: string, state: BreakerState) => void>();

  constructor(private readonly logger: Logger) {}

  create(name: string, options: BreakerOptions): Breaker {
    if (this.breakers.has(name)) throw new Error(`A breaker named ${name} already exists`);
    const breaker = new Breaker(name, options, this.logger);
    this.breakers.set(name, breaker);
    breaker.onStateChange((state) => {
      for (const listener of this.listeners) listener(name, state);
    });
    return breaker;
  }

  /** Called on every transition of every breaker of the registry, present and future (for metrics). */
  onStateChange(listener: (breaker: string, state: BreakerState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get(name: string): Breaker | undefined {
    return this.breakers.get(name);
  }

  /** Every breaker's state by name (for readiness and the `shopassist_breaker_state` metric). */
  states(): Record<string, BreakerState> {
    return Object.fromEntries([...this.breakers].map(([name, b]) => [name, b.state]));
  }

  all(): Breaker[] {
    return [...this.breakers.values()];
  }

  shutdown(): void {
    for (const breaker of this.breakers.values()) breaker.shutdown();
    this.breakers.clear();
    this.listeners.clear();
  }
}
