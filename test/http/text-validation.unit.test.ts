import { describe, expect, it } from 'vitest';
import { codePointLength, rawLengthLimit, text, trimWhiteSpace } from '../../src/http/text.schemas.js';
import { queryBody } from '../../src/assistant/assistant.schemas.js';

/** CPU time (user + system, ms) that `fn` takes, the best of a few runs (the first warms the JIT). */
function cpuMs(fn: () => void, runs = 5): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const before = process.cpuUsage();
    fn();
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / 1000);
  }
  return best;
}

// The body that took ~200 ms per request with a trailing-white-space pattern: a long inner run
// of spaces that is not at the end, so a backtracking `\s+$` retries it from every position.
const QUADRATIC = `x${' '.repeat(16_350)}x`;

describe('text fields are validated in linear time', () => {
  it('trims and counts like the contract says', () => {
    expect(trimWhiteSpace('\u00a0\u2003 hello\tworld \u3000\n\ufeff')).toBe('hello\tworld');
    expect(trimWhiteSpace('   ')).toBe('');
    expect(trimWhiteSpace('plain')).toBe('plain');
    expect(codePointLength('a😀é')).toBe(3);
    const field = text(1, 5);
    expect(field.parse('  e\u0301😀abc  ')).toBe('é😀abc');
    expect(field.safeParse('abcdef').success).toBe(false);
    expect(field.safeParse(' \n ').success).toBe(false);
    expect(field.safeParse('😀😀😀😀😀').success).toBe(true);
  });

  it('refuses the quadratic body of the query route in under 10 ms of CPU', () => {
    const body = { query: QUADRATIC };
    expect(queryBody.safeParse(body).success).toBe(false);
    expect(cpuMs(() => queryBody.safeParse(body))).toBeLessThan(10);
  });

  it('trims a field that may be that long in under 10 ms of CPU', () => {
    const field = text(1, 20_000);
    expect(field.parse(QUADRATIC)).toBe(QUADRATIC);
    expect(cpuMs(() => field.parse(QUADRATIC))).toBeLessThan(10);
    const padded = `${' '.repeat(8000)}x${' '.repeat(8000)}`;
    expect(cpuMs(() => field.parse(padded))).toBeLessThan(10);
  });

  it('refuses a value far over its limit before normalising it', () => {
    const field = text(1, 10);
    const result = field.safeParse('y'.repeat(rawLengthLimit(10) + 1));
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe('1–10 characters');
    // Padding that trimming removes is still accepted up to the raw limit.
    expect(field.parse(`${' '.repeat(200)}ok${' '.repeat(40)}`)).toBe('ok');
  });
});
