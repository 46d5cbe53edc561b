import { processTerm, tokenize } from './terms.js';

/**
 * The catalog's full-text index: BM25+ over a product's fields with per-field boosts, prefix
 * matches for longer words and one-typo tolerance for words the catalog does not hold — the
 * scoring MiniSearch used here before (its formula and weights, kept so answers rank as they
 * did), laid out for catalogs of 100k products and more:
 * - each term's postings are two typed arrays (product number, score), the field scores summed
 *   and boosted when the index is built, so a search only adds numbers;
 * - a search adds into one score array reused by every search, touching only the products that
 *   contain a word of the question, and hands them over without building a result object each.
 * See docs/adr/0008-catalog-search-at-shop-scale.md.
 */

export interface IndexedFields {
  name: string;
  brand: string;
  category: string;
  description: string;
  tags: string;
}

const FIELDS = ['name', 'brand', 'category', 'description', 'tags'] as const;
/** Name counts most, then tags, category and brand, then the description. */
const BOOST = [3, 2, 2, 1, 2];
/** BM25+ parameters and match weights (MiniSearch's defaults). */
const K = 1.2;
const B = 0.7;
const D = 0.5;
const PREFIX_WEIGHT = 0.375;
const FUZZY_WEIGHT = 0.45;

interface Postings {
  docs: Int32Array;
  scores: Float64Array;
}

interface Building {
  /** Per field: doc → term frequency. */
  fields: Map<number, number>[];
}

/** The matches of one search: products (by number) with their score and how many distinct question words they contain. */
export interface Matches {
  count: number;
  docs: Int32Array;
  /** Score of docs[i] is scores[docs[i]] (shared arrays: valid until the next search). */
  scores: Float64Array;
  words: Uint8Array;
}

export class SearchIndex {
  private readonly building = new Map<string, Building>();
  private readonly lengths: number[][] = FIELDS.map(() => []);
  private postings = new Map<string, Postings>();
  /** The index's terms in code-unit order, for prefix lookups. */
  private sorted: string[] = [];
  private docCount = 0;
  private readonly scoreOf: Float64Array;
  private readonly wordsOf: Uint8Array;
  private readonly lastWord: Int32Array;
  private readonly touched: Int32Array;

  constructor(capacity: number) {
    this.scoreOf = new Float64Array(capacity);
    this.wordsOf = new Uint8Array(capacity);
    this.lastWord = new Int32Array(capacity).fill(-1);
    this.touched = new Int32Array(capacity);
  }

  has(term: string): boolean {
    return this.postings.has(term) || this.building.has(term);
  }

  /** Adds the next product (numbered in the order added). */
  add(doc: IndexedFields): number {
    const id = this.docCount++;
    FIELDS.forEach((field, f) => {
      const tokens = tokenize(doc[field]);
      // As MiniSearch: a field's length is its number of distinct tokens.
      this.lengths[f][id] = new Set(tokens).size;
      for (const token of tokens) {
        const term = processTerm(token);
        if (!term) continue;
        let entry = this.building.get(term);
        if (!entry) this.building.set(term, (entry = { fields: FIELDS.map(() => new Map<number, number>()) }));
        const tf = entry.fields[f];
        tf.set(id, (tf.get(id) ?? 0) + 1);
      }
    });
    return id;
  }

  /** Turns what was added into postings. */
  finishNow(): void {
    const avg = this.averageLengths();
    for (const [term, entry] of this.building) this.finishTerm(term, entry, avg);
    this.seal();
  }

  /** As finishNow, calling `pause` (to yield to the event loop) between groups of terms. */
  async finish(pause: () => Promise<void>): Promise<void> {
    const avg = this.averageLengths();
    let done = 0;
    for (const [term, entry] of this.building) {
      this.finishTerm(term, entry, avg);
      if (++done % 2000 === 0) await pause();
    }
    this.seal();
  }

  private averageLengths(): number[] {
    return this.lengths.map((l) => (this.docCount ? l.reduce((a, b) => a + b, 0) / this.docCount : 0));
  }

  private seal(): void {
    this.building.clear();
    this.sorted = [...this.postings.keys()].sort();
  }

  private finishTerm(term: string, entry: Building, avg: number[]): void {
    {
      const merged = new Map<number, number>();
      entry.fields.forEach((tfs, f) => {
        if (tfs.size === 0) return;
        const idf = Math.log(1 + (this.docCount - tfs.size + 0.5) / (tfs.size + 0.5));
        for (const [doc, tf] of tfs) {
          const bm25 = idf * (D + (tf * (K + 1)) / (tf + K * (1 - B + (B * this.lengths[f][doc]) / avg[f])));
          merged.set(doc, (merged.get(doc) ?? 0) + BOOST[f] * bm25);
        }
      });
      this.postings.set(term, { docs: Int32Array.from(merged.keys()), scores: Float64Array.from(merged.values()) });
    }
  }

  /**
   * Every product containing a word of `terms` (the question's processed words, repeats
   * included, as MiniSearch counted them), scored as MiniSearch scored an OR search, with
   * `accepts` applied. `prefix`/`fuzzy` say which words also match longer words / one typo.
   */
  search(terms: string[], options: { prefix: (term: string) => boolean; fuzzy: (term: string) => boolean; accepts: (doc: number) => boolean }): Matches {
    const { scoreOf, wordsOf, lastWord, touched } = this;
    let count = 0;
    const repeats = new Map<string, number>();
    for (const t of terms) repeats.set(t, (repeats.get(t) ?? 0) + 1);
    let word = 0;
    for (const [term, times] of repeats) {
      const add = (postings: Postings | undefined, weight: number) => {
        if (postings) count = this.accumulate(postings, weight * times, word, count);
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
    // MiniSearch's final score: the sum times the number of distinct words matched.
    let kept = 0;
    for (let i = 0; i < count; i++) {
      const d = touched[i];
      lastWord[d] = -1;
      if (!options.accepts(d)) continue;
      scoreOf[d] *= wordsOf[d];
      touched[kept++] = d;
    }
    return { count: kept, docs: touched, scores: scoreOf, words: wordsOf };
  }

  /** Adds one term's postings into the shared score arrays; returns the new number of touched products. */
  private accumulate({ docs, scores }: Postings, weight: number, word: number, touchedCount: number): number {
    const { scoreOf, wordsOf, lastWord, touched } = this;
    let count = touchedCount;
    for (let i = 0; i < docs.length; i++) {
      const d = docs[i];
      const last = lastWord[d];
      if (last !== word) {
        if (last === -1) {
          touched[count++] = d;
          scoreOf[d] = 0;
          wordsOf[d] = 0;
        }
        lastWord[d] = word;
        if (wordsOf[d] < 255) wordsOf[d]++;
      }
      scoreOf[d] += weight * scores[i];
    }
    return count;
  }

  /** The index's terms one insertion, deletion or substitution away from `term`. */
  private oneEditAway(term: string): string[] {
    const out: string[] = [];
    for (const candidate of this.sorted) {
      if (Math.abs(candidate.length - term.length) <= 1 && candidate !== term && withinOneEdit(term, candidate)) out.push(candidate);
    }
    return out;
  }
}

function lowerBound(sorted: string[], value: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function withinOneEdit(a: string, b: string): boolean {
  if (a.length === b.length) {
    let diff = 0;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && ++diff > 1) return false;
    return true;
  }
  const [short, long] = a.length < b.length ? [a, b] : [b, a];
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
