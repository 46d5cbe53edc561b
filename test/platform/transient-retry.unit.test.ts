import { describe, expect, it } from 'vitest';
import { retryTransient } from '../../src/platform/transient-retry.js';

const pgError = (code: string) => Object.assign(new Error(`pg ${code}`), { code });
const wrapped = (code: string) => Object.assign(new Error('SequelizeDatabaseError'), { parent: pgError(code) });

describe('retryTransient', () => {
  it('repeats after a serialization failure or a deadlock, then succeeds', async () => {
    for (const code of ['40001', '40P01']) {
      let calls = 0;
      const result = await retryTransient(async () => {
        if (++calls < 3) throw wrapped(code);
        return 'ok';
      }, { baseDelayMs: 1 });
      expect(result).toBe('ok');
      expect(calls).toBe(3);
    }
  });

  it('gives up after a bounded number of attempts', async () => {
    let calls = 0;
    await expect(retryTransient(async () => {
      calls++;
      throw wrapped('40001');
    }, { attempts: 4, baseDelayMs: 1 })).rejects.toThrow();
    expect(calls).toBe(4);
  });

  it('never repeats a constraint violation or any other error', async () => {
    for (const err of [wrapped('23514'), wrapped('23505'), new Error('boom')]) {
      let calls = 0;
      await expect(retryTransient(async () => {
        calls++;
        throw err;
      }, { baseDelayMs: 1 })).rejects.toBe(err);
      expect(calls).toBe(1);
    }
  });

  it('repeats a dropped connection only when the statement is safe to repeat', async () => {
    let calls = 0;
    const dropped = async () => {
      if (++calls === 1) throw wrapped('ECONNRESET');
      return 'ok';
    };
    await expect(retryTransient(dropped, { baseDelayMs: 1 })).resolves.toBe('ok');
    calls = 0;
    await expect(retryTransient(dropped, { baseDelayMs: 1, connectionErrors: false })).rejects.toThrow();
    expect(calls).toBe(1);
  });
});
