import { describe, expect, it } from 'vitest';
import { RandomIds } from '../../src/platform/random-ids.js';

describe('RandomIds', () => {
  it('hands out ids of the asked size, each one once, across refills', () => {
    const ids = new RandomIds(16);
    const drawn = Array.from({ length: 2000 }, () => ids.next());
    for (const id of drawn) expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(new Set(drawn).size).toBe(drawn.length);
  });

  it('keeps separate pools apart', () => {
    const a = new RandomIds(16);
    const b = new RandomIds(16);
    const drawn = Array.from({ length: 600 }, (_, i) => (i % 2 ? a : b).next());
    expect(new Set(drawn).size).toBe(drawn.length);
  });
});
