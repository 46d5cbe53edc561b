import { SINGLE_FLIGHT_MAX_KEYS } from '../platform/memory-bounds.js';

/**
 * One call per key at a time on this process: a call for a key whose call is still running
 * shares that call's promise (its result or its error) instead of starting another.
 */
export class SingleFlight<T> {
  private readonly running = new Map<string, Promise<T>>();

  constructor(private readonly maxKeys: number = SINGLE_FLIGHT_MAX_KEYS) {}

  /** Keys whose call is running (for tests and metrics). */
  get size(): number {
    return this.running.size;
  }

  run(key: string, call: () => Promise<T>): Promise<T> {
    const shared = this.running.get(key);
    if (shared) return shared;
    if (this.running.size >= this.maxKeys) return call();
    const started = call().finally(() => this.running.delete(key));
    this.running.set(key, started);
    return started;
  }
}
