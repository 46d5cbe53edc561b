/**
 * The one clock of the query flow: every step reads the time and waits through it, so a test
 * can inject its own (fixed time, instant waits) and nothing in the flow reads `Date.now()` or
 * calls `setTimeout` on its own.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`. */
  sleep(ms: number): Promise<void>;
  /** Calls `fire` after `ms` unless the returned function is called first. */
  after(ms: number, fire: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  after: (ms, fire) => {
    const timer = setTimeout(fire, ms);
    return () => clearTimeout(timer);
  },
};
