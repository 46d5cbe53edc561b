import type { GuardedCall, StorageGuard } from './storage-guard.js';

/** Items per statement at most; a larger burst is split into several statements. */
const MAX_BATCH = 256;

/**
 * The scheduling under every batched statement (statements themselves go through
 * `guardedBatcher`): `run` gets the items of one turn of the event loop (setImmediate), in call
 * order, at most MAX_BATCH at a time, and settles each one through `settle(index, value | Error)`
 * as soon as its own part is done, so no caller waits for another caller's statement. An item
 * `run` leaves unsettled is rejected when `run` ends (with `run`'s error, if it threw). An item
 * only ever joins a batch that has not been sent yet, so a read never sees data older than its
 * own request; at low load a batch holds one item, at no delay beyond the turn.
 */
export function itemBatcher<T, R>(run: (items: readonly T[], settle: (index: number, result: R | Error) => void) => Promise<void>): (item: T) => Promise<R> {
  interface Waiting {
    item: T;
    resolve: (value: R) => void;
    reject: (err: unknown) => void;
    done: boolean;
  }
  let queue: Waiting[] = [];
  const flush = () => {
    const turn = queue;
    queue = [];
    for (let start = 0; start < turn.length; start += MAX_BATCH) {
      const batch = turn.slice(start, start + MAX_BATCH);
      const settle = (index: number, result: R | Error) => {
        const waiting = batch[index];
        if (!waiting || waiting.done) return;
        waiting.done = true;
        if (result instanceof Error) waiting.reject(result);
        else waiting.resolve(result);
      };
      const finish = (err: unknown) => {
        for (const [i, waiting] of batch.entries()) {
          if (!waiting.done) settle(i, err instanceof Error ? err : new Error('the batch ended without settling this item'));
        }
      };
      run(batch.map((w) => w.item), settle).then(() => finish(undefined), finish);
    }
  };
  return (item) =>
    new Promise<R>((resolve, reject) => {
      if (queue.length === 0) setImmediate(flush);
      queue.push({ item, resolve, reject, done: false });
    });
}

/** One caller's item in a guarded batch, with the guarded call its caller runs under. */
export interface GuardedItem<T> {
  readonly item: T;
  readonly call: GuardedCall;
}

/**
 * The one way a hot-path statement is batched (docs/adr/0005). The guard sits around each
 * caller's item, never around the batch: every caller runs `guard.run(operation, …)` of its own
 * and joins the turn's batch from inside it, so
 * - an open breaker refuses the caller at once, before it joins any batch;
 * - each caller is bounded by its own time limit and answered 503 by its own guard, and each
 *   failure it sees is translated and counted for it, whatever the others' outcomes were (a
 *   batch that settles one item with an error and the rest with rows counts one failure);
 * - the batch never has a guard of its own: it is the callers' statement, not a call.
 * An item whose call was already answered 503 when the batch is flushed is not part of it.
 * Statements that must not land after their caller was answered (writes of money) check every
 * item's call again once a connection is in hand (`assertAllLive` as pooledQuery's `beforeSend`);
 * reads and disposable writes need not.
 */
export function guardedBatcher<T, R>(
  guard: StorageGuard,
  operation: string,
  run: (items: readonly GuardedItem<T>[], settle: (index: number, result: R | Error) => void) => Promise<void>,
): (item: T) => Promise<R> {
  const batched = itemBatcher<GuardedItem<T>, R>(async (items, settle) => {
    const live: number[] = [];
    items.forEach((it, i) => {
      try {
        it.call.assertLive();
        live.push(i);
      } catch (err) {
        settle(i, err as Error);
      }
    });
    if (live.length === items.length) return run(items, settle);
    if (live.length > 0) await run(live.map((i) => items[i]!), (j, result) => settle(live[j]!, result));
  });
  return (item) => guard.run(operation, (call) => batched({ item, call }));
}

/** Throws unless every item's call is still live: `beforeSend` of a batched write. */
export function assertAllLive(items: readonly GuardedItem<unknown>[]): void {
  for (const it of items) it.call.assertLive();
}

/**
 * Point reads of one kind through `guardedBatcher`, one statement per turn (`WHERE key =
 * ANY($1)`): `fetch` gets each key once and resolves the rows it found by key; keys it did not
 * find resolve `undefined`; a failed fetch rejects every read of its batch.
 */
export function guardedReads<K, V>(guard: StorageGuard, operation: string, fetch: (keys: readonly K[]) => Promise<Map<K, V>>): (key: K) => Promise<V | undefined> {
  return guardedBatcher<K, V | undefined>(guard, operation, async (items, settle) => {
    const found = await fetch([...new Set(items.map((it) => it.item))]);
    items.forEach((it, i) => settle(i, found.get(it.item)));
  });
}

/**
 * Writes that may share a statement (idempotent upserts of disposable data, such as cache
 * entries) through `guardedBatcher`: each call resolves once the statement holding its item has
 * completed, and rejects if it failed.
 */
export function guardedWrites<T>(guard: StorageGuard, operation: string, write: (items: readonly T[]) => Promise<void>): (item: T) => Promise<void> {
  return guardedBatcher<T, undefined>(guard, operation, async (items, settle) => {
    await write(items.map((it) => it.item));
    items.forEach((_, i) => settle(i, undefined));
  });
}

/**
 * Splits a batch into rounds so that no round holds two items of one key (one statement cannot
 * change a row twice): an item goes in the round after the last of any of its keys, in call
 * order. Items without a key go in the first round.
 */
export function roundsBy<T>(items: readonly T[], keysOf: (item: T) => string | undefined | readonly (string | undefined)[]): number[][] {
  const rounds: number[][] = [];
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const given = keysOf(item);
    const keys = typeof given === 'string' ? [given] : given === undefined ? [] : given.filter((k): k is string => k !== undefined);
    let round = 0;
    for (const key of keys) round = Math.max(round, seen.get(key) ?? 0);
    for (const key of keys) seen.set(key, round + 1);
    (rounds[round] ??= []).push(i);
  });
  return rounds;
}

/**
 * Sends one statement for the items at `indexes` whose calls are still live, for writes that must
 * not land after their caller was answered 503: `send` gets them with a `beforeSend` to run once a
 * connection is in hand, and resolves one result per item, in order. When an item's call is
 * answered 503 while the statement waits for its connection, the statement is not sent and the
 * others go again without it (up to three times): one request's timeout never fails another's
 * write. Any other failure fails every item of the statement, except one `alone` accepts (an
 * error PostgreSQL answered with: the statement rolled back whole): then each item is sent again
 * in a statement of its own, so that failure is only its own item's.
 */
export async function sendWhileLive<T, R>(
  items: readonly GuardedItem<T>[],
  indexes: readonly number[],
  settle: (index: number, result: R | Error) => void,
  send: (batch: readonly GuardedItem<T>[], beforeSend: () => void) => Promise<R[]>,
  options: { alone?: (err: unknown) => boolean } = {},
): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const live = indexes.filter((i) => {
      try {
        items[i]!.call.assertLive();
        return true;
      } catch (err) {
        settle(i, err as Error);
        return false;
      }
    });
    if (live.length === 0) return;
    let changed = false;
    const batch = live.map((i) => items[i]!);
    try {
      const results = await send(batch, () => {
        try {
          assertAllLive(batch);
        } catch (err) {
          changed = true;
          throw err;
        }
      });
      live.forEach((i, j) => settle(i, results[j] as R));
      return;
    } catch (err) {
      if (changed) continue;
      if (live.length > 1 && options.alone?.(err)) {
        await Promise.all(
          live.map((i) => send([items[i]!], () => items[i]!.call.assertLive()).then(([result]) => settle(i, result as R), (e: unknown) => settle(i, e as Error))),
        );
        return;
      }
      for (const i of live) settle(i, err as Error);
      return;
    }
  }
}
