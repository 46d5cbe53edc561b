import { describe, expect, it } from 'vitest';
import { guardedBatcher, guardedReads, guardedWrites, itemBatcher, roundsBy } from '../../src/platform/batcher.js';
import { unguarded, type GuardedCall, type StorageGuard } from '../../src/platform/storage-guard.js';

const readBatcher = <K, V>(fetch: (keys: readonly K[]) => Promise<Map<K, V>>) => guardedReads(unguarded, 'test', fetch);
const writeBatcher = <T>(write: (items: readonly T[]) => Promise<void>) => guardedWrites(unguarded, 'test', write);

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('guardedReads', () => {
  it('sends the reads of one turn as one fetch, each key once, and resolves each caller its own row', async () => {
    const fetches: string[][] = [];
    const read = readBatcher<string, number>(async (keys) => {
      fetches.push([...keys]);
      return new Map(keys.filter((k) => k !== 'missing').map((k) => [k, k.length]));
    });
    const results = await Promise.all([read('a'), read('bb'), read('a'), read('missing')]);
    expect(results).toEqual([1, 2, 1, undefined]);
    expect(fetches).toEqual([['a', 'bb', 'missing']]);
  });

  it('never joins a read to a batch already sent: it waits for a fetch of its own', async () => {
    const fetches: string[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const read = readBatcher<string, string>(async (keys) => {
      fetches.push([...keys]);
      if (fetches.length === 1) await gate;
      return new Map(keys.map((k) => [k, `${k}@${fetches.length}`]));
    });
    const first = read('u');
    await turn(); // the first batch is sent and held open
    const second = read('u');
    release();
    expect(await first).toBe('u@1');
    expect(await second).toBe('u@2');
    expect(fetches).toEqual([['u'], ['u']]);
  });

  it('rejects every read of a failed batch, and the next batch runs afresh', async () => {
    let fail = true;
    const read = readBatcher<string, string>(async (keys) => {
      if (fail) throw new Error('database unavailable');
      return new Map(keys.map((k) => [k, k]));
    });
    const results = await Promise.allSettled([read('a'), read('b')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await read('a')).toBe('a');
  });
});

describe('guardedWrites', () => {
  it('writes the items of one turn together and settles each caller when its statement completes', async () => {
    const writes: number[][] = [];
    const write = writeBatcher<number>(async (items) => {
      writes.push([...items]);
      if (items.includes(13)) throw new Error('rejected batch');
    });
    await Promise.all([write(1), write(2), write(3)]);
    expect(writes).toEqual([[1, 2, 3]]);
    const failed = await Promise.allSettled([write(13), write(14)]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});

describe('itemBatcher', () => {
  it('gathers the calls of one turn into one run, in call order', async () => {
    const runs: number[][] = [];
    const add = itemBatcher<number, number>(async (items, settle) => {
      runs.push([...items]);
      items.forEach((n, i) => settle(i, n * 10));
    });
    const results = await Promise.all([add(1), add(2), add(3)]);
    expect(results).toEqual([10, 20, 30]);
    expect(runs).toEqual([[1, 2, 3]]);
  });

  it('releases each caller as soon as its own item is settled, not when the whole run ends', async () => {
    let finishRun!: () => void;
    const runEnds = new Promise<void>((resolve) => (finishRun = resolve));
    const call = itemBatcher<string, string>(async (items, settle) => {
      settle(0, 'first done');
      await runEnds; // the rest of the run (another caller's statement) is still under way
      settle(1, 'second done');
    });
    const order: string[] = [];
    const first = call('a').then((v) => order.push(v));
    const second = call('b').then((v) => order.push(v));
    await first;
    for (let i = 0; i < 5; i++) await turn();
    expect(order).toEqual(['first done']);
    finishRun();
    await second;
    expect(order).toEqual(['first done', 'second done']);
  });

  it('rejects one caller alone with its own Error, and any item the run left unsettled', async () => {
    const call = itemBatcher<number, number>(async (items, settle) => {
      settle(0, 1);
      settle(1, new Error('refused'));
      // item 2 left unsettled
    });
    const results = await Promise.allSettled([call(0), call(1), call(2)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    expect((results[1] as PromiseRejectedResult).reason).toEqual(new Error('refused'));
  });

  it("a run that throws rejects every caller not yet settled with the run's error, and only once", async () => {
    const call = itemBatcher<number, number>(async (_items, settle) => {
      settle(0, 7);
      settle(0, 8); // a second settle of the same item changes nothing
      throw new Error('connection lost');
    });
    const results = await Promise.allSettled([call(0), call(1)]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: 7 });
    expect((results[1] as PromiseRejectedResult).reason).toEqual(new Error('connection lost'));
  });
});

describe('guardedBatcher', () => {
  /** A guard that records each run and whose calls can be answered (expired) by hand. */
  function recordingGuard() {
    const runs: string[] = [];
    const calls: { expired: boolean }[] = [];
    let open = false;
    const guard: StorageGuard = {
      run: (operation, fn) => {
        if (open) return Promise.reject(new Error('breaker open'));
        runs.push(operation);
        const state = { expired: false };
        calls.push(state);
        const call: GuardedCall = {
          assertLive: () => {
            if (state.expired) throw new Error('answered 503');
          },
        };
        return fn(call);
      },
    };
    return { guard, runs, calls, open: () => (open = true) };
  }

  it('runs each caller under a guarded call of its own, and sends their items as one batch', async () => {
    const { guard, runs } = recordingGuard();
    const batches: number[][] = [];
    const double = guardedBatcher<number, number>(guard, 'double', async (items, settle) => {
      batches.push(items.map((it) => it.item));
      items.forEach((it, i) => settle(i, it.item * 2));
    });
    expect(await Promise.all([double(1), double(2), double(3)])).toEqual([2, 4, 6]);
    expect(runs).toEqual(['double', 'double', 'double']);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('leaves out of the batch an item whose caller was answered before the batch was sent', async () => {
    const { guard, calls } = recordingGuard();
    const batches: number[][] = [];
    const echo = guardedBatcher<number, number>(guard, 'echo', async (items, settle) => {
      batches.push(items.map((it) => it.item));
      items.forEach((it, i) => settle(i, it.item));
    });
    const pending = [echo(1), echo(2), echo(3)];
    calls[1]!.expired = true; // the guard answered the second caller 503 before the turn ended
    const results = await Promise.allSettled(pending);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(batches).toEqual([[1, 3]]);
  });

  it('refuses a caller at once while its guard does, before it joins any batch', async () => {
    const { guard, open } = recordingGuard();
    let sent = 0;
    const echo = guardedBatcher<number, number>(guard, 'echo', async (items, settle) => {
      sent += items.length;
      items.forEach((it, i) => settle(i, it.item));
    });
    open();
    await expect(echo(1)).rejects.toThrow('breaker open');
    expect(sent).toBe(0);
  });
});

describe('roundsBy', () => {
  it('puts no two items of one key in a round, in call order, and items without a key first', () => {
    expect(roundsBy(['a', 'b', 'a', undefined, 'a'], (k) => k)).toEqual([[0, 1, 3], [2], [4]]);
  });

  it('with several keys per item, an item goes after the last round of any of them', () => {
    // Items 0 and 1 share no key; item 2 shares one with each; item 3 shares none with the others.
    const items = [['conv-1', 'rec-1'], ['conv-2', 'rec-2'], ['conv-3', 'rec-1'], ['conv-4', undefined]] as const;
    expect(roundsBy(items, (keys) => keys)).toEqual([[0, 1, 3], [2]]);
    const chained = [['x', 'y'], ['y', 'z'], ['z', 'x']] as const;
    expect(roundsBy(chained, (keys) => keys)).toEqual([[0], [1], [2]]);
  });
});
