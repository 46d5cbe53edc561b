import { describe, expect, it } from 'vitest';
import type { Part } from '../../src/assistant/catalog/index-parts.js';
import { jointMax } from '../../src/assistant/catalog/joint-bounds.js';

/** One term's part of a question: its postings (product numbers, scores, all in a strong field). */
function part(word: number, postings: [doc: number, score: number][]): Part {
  const docs = Int32Array.from(postings.map(([d]) => d));
  return {
    postings: { docs, scores: Float64Array.from(postings.map(([, s]) => s)), strong: new Uint8Array(docs.length).fill(1), df: new Int32Array(5) },
    weight: 1,
    word,
    cover: 1,
    from: 0,
    to: docs.length,
    check: undefined,
    tail: false,
  };
}

describe('a block’s products by cover', () => {
  const ranks = { rank: Int32Array.from([0, 5, 1, 2]), ranked: 4 };
  const one = (group: Part[], ties = ranks) => {
    const classes = jointMax(group, 2, ties)?.byCover;
    expect(classes).toBeDefined();
    return Array.from(classes!.cover, (cover, j) => ({ cover, score: classes!.score[j], tie: classes!.tie[j], rest: classes!.rest[j] }));
  };

  it('keep, per class, the best score, the best rank among the products that reach it and the best score below it', () => {
    // Products 1, 2 and 3 hold both words (cover 2): 1 scores (0.5 + 0.5) × 2, 2 and 3 more.
    const group = [part(0, [[1, 0.5], [2, 1], [3, 1]]), part(1, [[1, 0.5], [2, 1], [3, 1]])];
    expect(one(group)).toEqual([{ cover: 2, score: 4, tie: 1, rest: 2 }]);
    // In another order: the lower score met last.
    const again = [part(0, [[1, 1], [2, 1], [3, 0.5]]), part(1, [[1, 1], [2, 1], [3, 0.5]])];
    expect(one(again)).toEqual([{ cover: 2, score: 4, tie: 1, rest: 2 }]);
  });

  it('count the products of a class beaten on both cover and score as ones of the class that beats it', () => {
    // Product 0 holds one word (cover 1): beaten by product 1's class (cover 2, score 4).
    // Scoring less, it counts by its score (the best below); scoring as much, by its rank.
    expect(one([part(0, [[0, 1], [1, 1]]), part(1, [[1, 1]])])).toEqual([{ cover: 2, score: 4, tie: 5, rest: 1 }]);
    expect(one([part(0, [[0, 4], [1, 1]]), part(1, [[1, 1]])])).toEqual([{ cover: 2, score: 4, tie: 0, rest: -1 }]);
  });

  it('keep a class of its own for a product that no other beats on both', () => {
    // Product 2 holds the first word with a high score: cover 1 but score 9.
    const classes = one([part(0, [[1, 1], [2, 9]]), part(1, [[1, 1]])]);
    expect(classes.sort((a, b) => a.cover - b.cover)).toEqual([
      { cover: 1, score: 9, tie: 1, rest: -1 },
      { cover: 2, score: 4, tie: 5, rest: -1 },
    ]);
  });

  it('count a product added after the whole build (no rank) as one that may win any tie', () => {
    // Block 0 holds product 0 (rank 0), block 1 product 5 (numbered after the build).
    const group = [part(0, [[0, 1], [5, 1]]), part(1, [[0, 1], [5, 1]])];
    expect(one(group).map((c) => c.tie)).toEqual([0, -1]);
  });
});
