import { describe, expect, it } from 'vitest';
import { storable } from '../../src/assistant/provider-call.step.js';

describe('storable: a model answer as jsonb can hold it', () => {
  it('turns a lone half of a character into U+FFFD and drops NUL, leaving whole characters alone', () => {
    const answer = { answer: 'boots 🥾 cut \ud83d and \udc00 here\u0000.', products: [] };
    expect(storable(answer).answer).toBe('boots 🥾 cut \ufffd and \ufffd here.');
    expect(() => JSON.parse(JSON.stringify(storable(answer)))).not.toThrow();
  });

  it('returns a clean answer as it is', () => {
    const answer = { answer: 'Waterproof boots, 🥾 × 2', products: [] };
    expect(storable(answer)).toBe(answer);
    expect(storable(answer)).toBe(answer);
  });
});
