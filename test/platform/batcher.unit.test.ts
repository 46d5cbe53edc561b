import { describe, expect, it } from 'vitest';
import { readBatcher, writeBatcher } from '../../src/platform/batcher.js';

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
