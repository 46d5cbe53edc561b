import { describe, expect, it } from 'vitest';
import { itemBatcher, readBatcher, writeBatcher } from '../../src/platform/batcher.js';

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('readBatcher', () => {
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

describe('writeBatcher', () => {
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
