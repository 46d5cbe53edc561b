import { describe, expect, it } from 'vitest';
import { parseQueryHints } from '../../src/assistant/catalog/query-hints.js';
import { processTerm, termsOf } from '../../src/assistant/catalog/terms.js';

describe('price hints in a question', () => {
  const cases: [string, { text: string; minPrice?: number; maxPrice?: number; preferCheap?: boolean }][] = [
    ['gift under $30', { text: 'gift', maxPrice: 30 }],
    ['headphones below 30 dollars', { text: 'headphones', maxPrice: 30 }],
    ['laptop less than $1,200', { text: 'laptop', maxPrice: 1200 }],
    ['knife under $49.99.', { text: 'knife', maxPrice: 49.99 }],
    ['tent over $100', { text: 'tent', minPrice: 100 }],
    ['board game between $20 and $40', { text: 'board game', minPrice: 20, maxPrice: 40 }],
    ['speaker $40-$20', { text: 'speaker', minPrice: 20, maxPrice: 40 }],
    ['a gift for under 25 bucks', { text: 'a gift', maxPrice: 25 }],
    ['budget laptop', { text: 'laptop', preferCheap: true }],
    ['cheap running shoes for women', { text: 'running shoes for women', preferCheap: true }],
  ];
  for (const [query, expected] of cases) {
    it(`"${query}" → ${JSON.stringify(expected)}`, () => {
      const hints = parseQueryHints(query);
      expect(hints).toEqual({ text: expected.text, minPrice: expected.minPrice, maxPrice: expected.maxPrice, preferCheap: expected.preferCheap ?? false });
    });
  }

  it('numbers with units are specifications, not prices', () => {
    expect(parseQueryHints('backpack less than 2 kg')).toMatchObject({ text: 'backpack less than 2 kg', maxPrice: undefined });
    expect(parseQueryHints('laptop with more than 16GB RAM')).toMatchObject({ minPrice: undefined, maxPrice: undefined });
    expect(parseQueryHints('over-ear headphones')).toMatchObject({ text: 'over-ear headphones', minPrice: undefined });
  });
});

describe('search terms', () => {
  it('plurals, case, accents and possessives meet the same term', () => {
    expect(termsOf("Women's Waterproof BOOTS")).toEqual(['woman', 'waterproof', 'boot']);
    expect(termsOf('running shoes for women')).toEqual(['running', 'shoe', 'woman']);
    expect(processTerm('Lumière')).toBe('lumiere');
    expect(processTerm('accessories')).toBe('accessory');
    expect(processTerm('glasses')).toBe('glass');
  });

  it('stop words are dropped and shoppers\' synonyms are unified', () => {
    expect(termsOf('I need a present for my kids')).toEqual(['gift', 'kid']);
    expect(termsOf('noise cancelling earphones')).toEqual(['noise', 'cancel', 'earbud']);
  });
});
