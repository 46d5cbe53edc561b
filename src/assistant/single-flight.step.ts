/**
 * Distinct keys whose call is shared at once, at most. Each key is one provider call running on
 * this process: a healthy process holds a few dozen (fresh answers a second × a call's duration,
 * some hundreds × well under a second), and a hanging upstream opens the assistant breaker within
 * a few timed-out calls, after which calls fail at once and leave the map. 1024 is far past both,
 * so it never takes sharing away from real traffic, while a flood of distinct questions against a
 * slow upstream cannot grow the map (and the answers its promises hold) without end. Past it a
 * call simply runs on its own, uncoalesced: sharing is an optimisation, never a reason to refuse
 * a question.
 */
export const SINGLE_FLIGHT_MAX_KEYS = 1024;

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
