import { SearchIndex } from './search-index.js';
import { analyse, bm25, BOOST, DESCRIPTION, FIELDS, Scratch, type IndexedFields, type Postings, type Stats } from './index-parts.js';

/**
 * One term's postings while they are built: product numbers and, per product, its term
 * frequency in each field (FIELDS.length to a product), in typed arrays grown by doubling, so a
 * catalog of 100k products holds a few bytes a posting while it is indexed, not a small array
 * each (a field holds at most a few thousand characters, so a frequency fits 16 bits).
 */
class Building {
  docs = new Int32Array(4);
  tfs = new Uint16Array(4 * FIELDS.length);
  length = 0;

  push(doc: number, tf: readonly number[]): void {
    if (this.length === this.docs.length) {
      const docs = new Int32Array(this.docs.length * 2);
      docs.set(this.docs);
      this.docs = docs;
      const tfs = new Uint16Array(this.tfs.length * 2);
      tfs.set(this.tfs);
      this.tfs = tfs;
    }
    this.docs[this.length] = doc;
    for (let f = 0; f < FIELDS.length; f++) this.tfs[this.length * FIELDS.length + f] = Math.min(tf[f], 0xffff);
    this.length++;
  }
}

/** Builds an index from products numbered in the order added. */
export class SearchIndexBuilder {
  /** Per term: the products holding it, and per field their term frequencies. */
  private readonly building = new Map<string, Building>();
  private readonly lengths: number[][] = FIELDS.map(() => []);
  private docCount = 0;

  add(doc: IndexedFields): number {
    const id = this.docCount++;
    const { tfs, lengths } = analyse(doc);
    lengths.forEach((l, f) => (this.lengths[f][id] = l));
    for (const [term, tf] of tfs) {
      let entry = this.building.get(term);
      if (!entry) this.building.set(term, (entry = new Building()));
      entry.push(id, tf);
    }
    return id;
  }

  finishNow(capacity = this.docCount): SearchIndex {
    const stats = this.stats();
    const postings = new Map<string, Postings>();
    for (const [term, entry] of this.building) postings.set(term, this.finishTerm(entry, stats));
    return this.seal(postings, stats, capacity);
  }

  /** As finishNow, calling `pause` (to yield to the event loop) between groups of terms. */
  async finish(pause: () => Promise<void>, capacity = this.docCount): Promise<SearchIndex> {
    const stats = this.stats();
    const postings = new Map<string, Postings>();
    let done = 0;
    for (const [term, entry] of this.building) {
      postings.set(term, this.finishTerm(entry, stats));
      if (++done % 2000 === 0) await pause();
    }
    return this.seal(postings, stats, capacity);
  }

  private stats(): Stats {
    const n = this.docCount;
    return { docCount: n, avg: this.lengths.map((l) => (n ? l.reduce((a, b) => a + b, 0) / n : 0)) };
  }

  private seal(postings: Map<string, Postings>, stats: Stats, capacity: number): SearchIndex {
    this.building.clear();
    return new SearchIndex(postings, [...postings.keys()].sort(), stats, new Scratch(Math.max(capacity, stats.docCount)));
  }

  private finishTerm(entry: Building, stats: Stats): Postings {
    const fields = FIELDS.length;
    const { tfs, length } = entry;
    const df = new Int32Array(fields);
    for (let i = 0; i < length; i++) for (let f = 0; f < fields; f++) if (tfs[i * fields + f] > 0) df[f]++;
    const docs = entry.docs.slice(0, length);
    const scores = new Float64Array(length);
    const strong = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      const doc = docs[i];
      let score = 0;
      for (let f = 0; f < fields; f++) {
        const tf = tfs[i * fields + f];
        if (tf === 0) continue;
        score += BOOST[f] * bm25(tf, this.lengths[f][doc], stats.avg[f], df[f], stats.docCount);
        if (f !== DESCRIPTION) strong[i] = 1;
      }
      scores[i] = score;
    }
    return { docs, scores, strong, df };
  }
}
