import DataLoader from 'dataloader';

/** Items per statement at most; a larger burst is split into several statements. */
const MAX_BATCH = 256;

function loader<K, V>(run: (keys: readonly K[]) => Promise<(V | Error)[]>): DataLoader<K, V> {
  return new DataLoader<K, V>(run, { cache: false, maxBatchSize: MAX_BATCH, batchScheduleFn: (callback) => setImmediate(callback) });
}

/**
 * Coalesces concurrent point reads of one kind into one statement per turn of the event loop
 * (DataLoader, scheduled with setImmediate, without its memo cache): under load, every request
 * that reached the same read in the same turn shares one round trip (`WHERE id = ANY($1)`)
 * instead of sending its own; at low load a batch holds one key, at no delay beyond the turn.
 * A read only ever joins a batch that has not been sent yet, so it never sees data older than
 * its own request. `fetch` resolves the rows it found by key; keys it did not find resolve
 * `undefined`; a failed fetch rejects every read of its batch.
 */
export function readBatcher<K, V>(fetch: (keys: readonly K[]) => Promise<Map<K, V>>): (key: K) => Promise<V | undefined> {
  const reads = loader<K, V | undefined>(async (keys) => {
    const found = await fetch([...new Set(keys)]);
    return keys.map((key) => found.get(key));
  });
  return (key) => reads.load(key);
}

/**
 * The same for writes that may share a statement (idempotent upserts of disposable data, such
 * as cache entries): each call resolves once the statement holding its item has completed, and
 * rejects if it failed.
 */
export function writeBatcher<T>(write: (items: readonly T[]) => Promise<void>): (item: T) => Promise<void> {
  const writes = loader<T, undefined>(async (items) => {
    await write(items);
    return items.map(() => undefined);
  });
  return (item) => writes.load(item);
}

/**
 * The general form, for statements that apply several callers' changes at once (the credit
 * repository's batched charges and settles): `run` gets the items of one turn of the event loop,
 * in call order, and settles each one through `settle(index, value | Error)` as soon as its own
 * part is done, so no caller waits for another caller's statement. An item `run` leaves
 * unsettled is rejected when `run` ends (with `run`'s error, if it threw).
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
