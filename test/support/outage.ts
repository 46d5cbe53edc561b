import type { TcpProxy } from './tcp-proxy.js';

/** The outage rules of the contract (docs/contract.md, Outages): a request answers within 2 s during an outage; recovery within 15 s. */
export const OUTAGE_BUDGET_MS = 2000;
export const RECOVERY_MS = 15_000;

/** Polls `fn` every 200 ms until `ok` holds (resolving its value) or `withinMs` passes (throwing). */
export async function eventually<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, withinMs = RECOVERY_MS): Promise<T> {
  const deadline = Date.now() + withinMs;
  let last: T;
  do {
    last = await fn();
    if (ok(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 200));
  } while (Date.now() < deadline);
  throw new Error(`${what}: not within ${withinMs} ms (last: ${JSON.stringify(last)})`);
}

/** Runs `fn` and says how long it took. */
export async function timed<T>(fn: () => PromiseLike<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - started };
}

/**
 * Ends a suite that cut a connection: heals the cut (so that closing does not wait on a
 * blackhole), closes what reached the backend through the proxy, stops the proxy, then drops
 * what was behind it.
 */
export async function closeCutSuite(proxy: TcpProxy | undefined, users: ({ close(): Promise<void> } | undefined)[], behind?: { dispose(): Promise<void> }): Promise<void> {
  proxy?.setMode('pass');
  for (const user of users) await user?.close();
  await proxy?.stop();
  await behind?.dispose();
}
