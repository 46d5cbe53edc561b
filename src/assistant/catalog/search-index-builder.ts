import { SearchIndex } from './search-index.js';
import { analyse, bm25, BOOST, DESCRIPTION, FIELDS, Scratch, type IndexedFields, type Postings, type Stats } from './index-parts.js';

/** Builds an index from products numbered in the order added. */
export class SearchIndexBuilder {
  /** Per term: the products holding it, and per field their term frequencies (parallel arrays). */
  private readonly building = new Map<string, { docs: number[]; tfs: number[][] }>();
  private readonly lengths: number[][] = FIELDS.map(() => []);
  private docCount = 0;

  add(doc: IndexedFields): number {
    const id = this.docCount++;
    const { tfs, lengths } = analyse(doc);
    lengths.forEach((l, f) => (this.lengths[f][id] = l));
    for (const [term, tf] of tfs) {
      let entry = this.building.get(term);
      if (!entry) this.building.set(term, (entry = { docs: [], tfs: [] }));
      entry.docs.push(id);
      entry.tfs.push(tf);
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

  private finishTerm(entry: { docs: number[]; tfs: number[][] }, stats: Stats): Postings {
    const df = new Int32Array(FIELDS.length);
    for (const tf of entry.tfs) for (let f = 0; f < FIELDS.length; f++) if (tf[f] > 0) df[f]++;
    const scores = new Float64Array(entry.docs.length);
    const strong = new Uint8Array(entry.docs.length);
    entry.docs.forEach((doc, i) => {
      const tf = entry.tfs[i];
      let score = 0;
      for (let f = 0; f < FIELDS.length; f++) {
        if (tf[f] === 0) continue;
        score += BOOST[f] * bm25(tf[f], this.lengths[f][doc], stats.avg[f], df[f], stats.docCount);
        if (f !== DESCRIPTION) strong[i] = 1;
      }
      scores[i] = score;
    });
    return { docs: Int32Array.from(entry.docs), scores, strong, df };
  }
}
