/**
 * A fixed set of shoppers' questions with what a right answer looks like (the category, a price
 * band and a word the product must carry), for judging search relevance on the generated
 * catalogs: the search bench compares engines with it, and the scale tests hold the live search
 * to it at 100k products.
 */
export interface JudgedQuestion {
  query: string;
  category: string;
  maxPrice?: number;
  minPrice?: number;
  /** A word (lower case) in the product's name or tags. */
  word?: string;
  /** Why the built-in search still gets this one wrong (measured by the bench, not asserted by the tests). */
  knownMiss?: string;
}

export const JUDGED_QUESTIONS: JudgedQuestion[] = [
  { query: 'waterproof hiking boots under $150', category: 'shoes', maxPrice: 150, word: 'boot' },
  { query: 'budget laptop', category: 'laptops', maxPrice: 600, word: 'laptop' },
  { query: 'wireless noise cancelling headphones', category: 'audio', word: 'headphone' },
  { query: 'running shoes for women', category: 'shoes', word: 'women' },
  { query: 'yoga mat under $40', category: 'sports & fitness', maxPrice: 40, word: 'yoga' },
  { query: 'dog bed', category: 'pet supplies', word: 'bed' },
  { query: 'electric kettle', category: 'home & kitchen', word: 'kettle' },
  { query: 'warm winter jacket for women', category: 'apparel', word: 'jacket' },
  // Laptop sleeves named "Travel" that mention a backpack in their description once came first.
  { query: 'travel backpack', category: 'outdoor', word: 'backpack' },
  { query: 'headphones between $50 and $100', category: 'audio', minPrice: 50, maxPrice: 100, word: 'headphone' },
  { query: 'cheap kettle', category: 'home & kitchen', maxPrice: 80, word: 'kettle' },
  { query: 'waterprof hiking boots', category: 'shoes', word: 'boot' },
];

interface Judged {
  name: string;
  category: string;
  price: number;
  tags: readonly string[];
}

/** Whether one result is right for the question. */
export function isRight(q: JudgedQuestion, p: Judged): boolean {
  const text = `${p.name} ${p.tags.join(' ')}`.toLowerCase();
  return (
    p.category === q.category &&
    (q.maxPrice === undefined || p.price <= q.maxPrice) &&
    (q.minPrice === undefined || p.price >= q.minPrice) &&
    (q.word === undefined || text.includes(q.word))
  );
}

/** The share of right results among the first `k` (an empty answer scores 0). */
export function precisionAt(k: number, q: JudgedQuestion, results: readonly Judged[]): number {
  const top = results.slice(0, k);
  return top.length === 0 ? 0 : top.filter((p) => isRight(q, p)).length / k;
}
