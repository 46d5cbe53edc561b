import { topMatches, type Ranking, type TopMatches } from './top-matches.js';
import { analyse, bm25, BOOST, DESCRIPTION, DESCRIPTION_ONLY_COVER, FIELDS, FUZZY_WEIGHT, PREFIX_WEIGHT, type IndexedFields, type Part, type Plan, type Postings, type Scratch, type Stats } from './index-parts.js';

/**
 * The catalog's full-text index: BM25+ over a product's fields with per-field boosts, prefix
 * matches for longer words and one-typo tolerance for words the catalog does not hold — the
 * scoring MiniSearch used here before (its formula and weights, kept so answers rank as they
 * did), laid out for catalogs of 100k products and more:
 * - each term's postings are typed arrays (product number, score, whether the term is in one of
 *   the product's strong fields), the field scores summed and boosted when the index is built, so
 *   a search only adds numbers;
 * - a search keeps its per-product state in one flat array (one cache line per product), checks
 *   a product's filters the first time one of its words is met and skips it from then on, and
 *   hands the matches over packed in match order, so ranking reads memory in sequence;
 * - an index never changes once built: a single product's change makes a new index that shares
 *   every term the product does not contain (`withProducts`), scored with the statistics of the
 *   last whole build.
 * See docs/adr/0008-catalog-search-at-shop-scale.md.
 */

export type { IndexedFields, Part, Plan } from './index-parts.js';

export interface Matches {
  count: number;
  /** Product number of match i. */
  docs: Int32Array;
  /** Score of match i (MiniSearch's: the summed score times the number of distinct words matched). */
  scores: Float64Array;
  /** Weighted share of the question's words match i covers (see `search`), in [0, 1]. */
  cover: Float64Array;
}

export interface SearchOptions {
  prefix: (term: string) => boolean;
  fuzzy: (term: string) => boolean;
  accepts: (doc: number) => boolean;
  /**
   * Product numbers known to pass the filters but for `residual`: those in [from, to) below
   * `tail`. Postings outside it are skipped unread; products from `tail` on go through `accepts`.
   */
  range?: { from: number; to: number; tail: number; residual?: (doc: number) => boolean };
  /** How much each distinct term counts towards covering the question (default 1). */
  weight?: (term: string) => number;
}

export class SearchIndex {
  /** @internal use SearchIndexBuilder */
  constructor(
    private readonly postings: Map<string, Postings>,
    /** The index's terms in code-unit order, for prefix lookups. */
    private readonly sorted: string[],
    private readonly stats: Stats,
    private readonly scratch: Scratch,
  ) {}

  has(term: string): boolean {
    return this.postings.has(term);
  }

  /**
   * A new index with `added` products (numbered above every product already here) and everything
   * else shared with this one: only the postings of their terms are copied. They are scored with
   * the statistics of the last whole build (a change of one product moves them by 1/N); products
   * that went away are the caller's to filter out.
   */
  withProducts(added: { doc: number; fields: IndexedFields }[]): SearchIndex {
    const postings = new Map(this.postings);
    let sorted = this.sorted;
    let top = 0;
    for (const { doc, fields } of added) {
      top = Math.max(top, doc + 1);
      const { tfs, lengths } = analyse(fields);
      for (const [term, tf] of tfs) {
        const old = postings.get(term);
        if (!old) sorted = sorted === this.sorted ? [...sorted, term] : (sorted.push(term), sorted);
        const df = old ? Int32Array.from(old.df) : new Int32Array(FIELDS.length);
        let score = 0;
        let strong = 0;
        for (let f = 0; f < FIELDS.length; f++) {
          if (tf[f] === 0) continue;
          df[f]++;
          score += BOOST[f] * bm25(tf[f], lengths[f], this.stats.avg[f] || lengths[f] || 1, df[f], Math.max(this.stats.docCount, df[f]));
          if (f !== DESCRIPTION) strong = 1;
        }
        const n = old ? old.docs.length : 0;
        const docs = new Int32Array(n + 1);
        const scores = new Float64Array(n + 1);
        const strongs = new Uint8Array(n + 1);
        if (old) {
          docs.set(old.docs);
          scores.set(old.scores);
          strongs.set(old.strong);
        }
        docs[n] = doc;
        scores[n] = score;
        strongs[n] = strong;
        postings.set(term, { docs, scores, strong: strongs, df });
      }
    }
    if (sorted !== this.sorted) sorted.sort();
    return new SearchIndex(postings, sorted, this.stats, this.scratch.ensure(top));
  }

  /**
   * Every product containing a word of `terms` (the question's processed words, repeats
   * included, as MiniSearch counted them) that `accepts` lets through, scored as MiniSearch
   * scored an OR search. `prefix`/`fuzzy` say which words also match longer words / one typo.
   * `cover`: the words a product holds, each counted by its `weight`, a word found only in the
   * description counting DESCRIPTION_ONLY_COVER of it, over the question's total weight.
   */
  search(terms: string[], options: SearchOptions, plan = this.parts(terms, options)): Matches {
    const scratch = this.scratch;
    const { state, touched } = scratch;
    const { parts, totalWeight } = plan;
    let count = 0;
    for (const p of parts) count = accumulate(scratch, p.postings, p.from, p.to, p.weight, p.word, p.cover, count, p.check);
    // MiniSearch's final score: the sum times the number of distinct words matched.
    const { docs, scores, cover } = scratch.out;
    let kept = 0;
    for (let i = 0; i < count; i++) {
      const d = touched[i];
      const o = d << 2;
      const tag = state[o];
      state[o] = -1;
      if (tag === -2) continue;
      docs[kept] = d;
      scores[kept] = state[o + 2] * state[o + 1];
      cover[kept] = totalWeight > 0 ? state[o + 3] / totalWeight : 0;
      kept++;
    }
    return { count: kept, docs, scores, cover };
  }

  /**
   * What `search` adds up, in its order: per question word (numbered from 0), each of its terms'
   * postings with its weight, cut to the positions to read, and the filter left to check there.
   */
  parts(terms: string[], options: SearchOptions): Plan {
    const parts: Part[] = [];
    const repeats = new Map<string, number>();
    for (const t of terms) repeats.set(t, (repeats.get(t) ?? 0) + 1);
    let totalWeight = 0;
    let word = 0;
    for (const [term, times] of repeats) {
      const cover = options.weight?.(term) ?? 1;
      totalWeight += cover;
      const add = (postings: Postings | undefined, weight: number) => {
        if (!postings) return;
        const { range } = options;
        const w = weight * times;
        if (!range) {
          parts.push({ postings, weight: w, word, cover, from: 0, to: postings.docs.length, check: options.accepts, tail: false });
          return;
        }
        const { docs } = postings;
        const tail = lowerBound(docs, range.tail);
        if (range.from < range.to) parts.push({ postings, weight: w, word, cover, from: lowerBound(docs, range.from), to: Math.min(tail, lowerBound(docs, range.to)), check: range.residual, tail: false });
        if (tail < docs.length) parts.push({ postings, weight: w, word, cover, from: tail, to: docs.length, check: options.accepts, tail: true });
      };
      add(this.postings.get(term), 1);
      const prefixed = new Set<string>();
      if (options.prefix(term)) {
        for (let i = lowerBound(this.sorted, term); i < this.sorted.length && this.sorted[i].startsWith(term); i++) {
          const longer = this.sorted[i];
          if (longer === term) continue;
          prefixed.add(longer);
          const distance = longer.length - term.length;
          add(this.postings.get(longer), (PREFIX_WEIGHT * longer.length) / (longer.length + 0.3 * distance));
        }
      }
      if (options.fuzzy(term)) {
        for (const near of this.oneEditAway(term)) {
          if (prefixed.has(near)) continue;
          add(this.postings.get(near), (FUZZY_WEIGHT * near.length) / (near.length + 1));
        }
      }
      word++;
    }
    return { parts, totalWeight };
  }

  /** The best `ranking.limit` matches of `search`, without scoring every match (see top-matches.ts). */
  top({ parts, totalWeight }: Plan, ranking: Ranking): TopMatches | undefined {
    return topMatches(this.scratch, parts, totalWeight, ranking);
  }

  /**
   * The index's terms by length, each with the set of its letters (`lettersOf`): made on the first
   * question with a typo (this index never changes).
   */
  private byLength: Map<number, { terms: string[]; letters: Int32Array }> | undefined;

  /** The index's terms one insertion, deletion or substitution away from `term`, in term order. */
  private oneEditAway(term: string): string[] {
    this.byLength ??= termsByLength(this.sorted);
    const mine = lettersOf(term);
    const out: string[] = [];
    // Only a term one shorter, as long or one longer can be one edit away, and only one whose
    // letters differ from the word's in at most two (the one taken out, the one put in).
    for (let length = term.length - 1; length <= term.length + 1; length++) {
      const same = this.byLength.get(length);
      if (!same) continue;
      const { terms, letters } = same;
      for (let i = 0; i < terms.length; i++) {
        if (bitCount(letters[i] ^ mine) > 2) continue;
        const candidate = terms[i];
        if (candidate !== term && withinOneEdit(term, candidate)) out.push(candidate);
      }
    }
    return out.sort();
  }
}

/**
 * Adds one term's postings into the scratch state; returns the new number of touched products.
 * A product's filters are checked once, when it is first met; one that fails is skipped after.
 */
export function accumulate(
  scratch: Scratch,
  { docs, scores, strong }: Postings,
  from: number,
  to: number,
  weight: number,
  word: number,
  cover: number,
  touchedCount: number,
  accepts: ((doc: number) => boolean) | undefined,
): number {
  const { state, touched } = scratch;
  const weak = cover * DESCRIPTION_ONLY_COVER;
  const raise = cover - weak;
  const plain = word * 2;
  let count = touchedCount;
  for (let i = from; i < to; i++) {
    const d = docs[i];
    const o = d << 2;
    let tag = state[o];
    if (tag === -2) continue;
    if (tag === -1) {
      touched[count++] = d;
      if (accepts !== undefined && !accepts(d)) {
        state[o] = -2;
        continue;
      }
      state[o + 1] = 0;
      state[o + 2] = 0;
      state[o + 3] = 0;
    }
    // The tag is the word last met (times 2), plus 1 when it was met in a strong field.
    const s = strong[i];
    if (tag < plain) {
      state[o + 1]++;
      state[o + 3] += s ? cover : weak;
      tag = plain + s;
    } else if (s && tag === plain) {
      state[o + 3] += raise;
      tag = plain + 1;
    }
    state[o] = tag;
    state[o + 2] += weight * scores[i];
  }
  return count;
}

/** The first position in `sorted` whose item is not below `value`. */
function lowerBound<T extends string | number>(sorted: ArrayLike<T>, value: T): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A word's letters as a set of 32 bits (a letter's code unit modulo 32: letters may share one). */
function lettersOf(term: string): number {
  let set = 0;
  for (let i = 0; i < term.length; i++) set |= 1 << (term.charCodeAt(i) & 31);
  return set;
}

function bitCount(n: number): number {
  let v = n - ((n >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

function termsByLength(sorted: readonly string[]): Map<number, { terms: string[]; letters: Int32Array }> {
  const lists = new Map<number, string[]>();
  for (const t of sorted) {
    const same = lists.get(t.length);
    if (same) same.push(t);
    else lists.set(t.length, [t]);
  }
  return new Map([...lists].map(([length, terms]) => [length, { terms, letters: Int32Array.from(terms, lettersOf) }]));
}

function withinOneEdit(a: string, b: string): boolean {
  if (a.length === b.length) {
    let diff = 0;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && ++diff > 1) return false;
    return true;
  }
  const short = a.length < b.length ? a : b;
  const long = a.length < b.length ? b : a;
  let i = 0;
  let j = 0;
  let skipped = false;
  while (i < short.length && j < long.length) {
    if (short[i] === long[j]) {
      i++;
      j++;
    } else if (skipped) {
      return false;
    } else {
      skipped = true;
      j++;
    }
  }
  return true;
}
