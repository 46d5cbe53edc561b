/**
 * The parts of the catalog index that its builder (search-index-builder.ts) and the index itself
 * (search-index.ts) share: the fields and their weights, a term's postings, how a product's text
 * is counted and scored, and the per-search state.
 */
import { processTerm, tokenize } from './terms.js';

export interface IndexedFields {
  name: string;
  brand: string;
  category: string;
  description: string;
  tags: string;
}

export const FIELDS = ['name', 'brand', 'category', 'description', 'tags'] as const;
export const DESCRIPTION = 3;
/** Name counts most, then tags, category and brand, then the description. */
export const BOOST = [3, 2, 2, 1, 2];
/** BM25+ parameters and match weights (MiniSearch's defaults). */
export const K = 1.2;
export const B = 0.7;
export const D = 0.5;
export const PREFIX_WEIGHT = 0.375;
export const FUZZY_WEIGHT = 0.45;
/** How much a question's word found only in a product's description counts towards covering the question. */
export const DESCRIPTION_ONLY_COVER = 0.25;

export interface Postings {
  /** Ascending product numbers. */
  docs: Int32Array;
  scores: Float64Array;
  /** 1: the term is in the product's name, brand, category or tags; 0: in its description only. */
  strong: Uint8Array;
  /** Per field, how many products held the term there (for scoring products added later). */
  df: Int32Array;
}

export interface Plan {
  parts: Part[];
  totalWeight: number;
}

/** One term's postings as a search reads them (see `SearchIndex.parts`). */
export interface Part {
  postings: Postings;
  /** The term's weight (prefix, typo) times how often its word is in the question. */
  weight: number;
  /** Which distinct word of the question it stands for, and how much that word covers. */
  word: number;
  cover: number;
  /** The positions to read, and the filter to check there (none: every product there passes). */
  from: number;
  to: number;
  check: ((doc: number) => boolean) | undefined;
  /** The products added after the whole build (numbered from the range's `tail`). */
  tail: boolean;
}

/** The matches of one search, in match order (valid until the next search). */
/** Corpus statistics of the last whole build: products counted, average field lengths. */
export interface Stats {
  docCount: number;
  avg: number[];
}

/**
 * The per-search state, shared by every index of one lineage (a search is synchronous): per
 * product, stride 4: [word tag (-1 untouched, -2 filtered out), words matched, score, cover].
 */
export class Scratch {
  state: Float64Array;
  touched: Int32Array;
  out: { docs: Int32Array; scores: Float64Array; cover: Float64Array };

  constructor(capacity: number) {
    this.state = new Float64Array(capacity * 4).fill(-1);
    this.touched = new Int32Array(capacity);
    this.out = { docs: new Int32Array(capacity), scores: new Float64Array(capacity), cover: new Float64Array(capacity) };
  }

  ensure(capacity: number): Scratch {
    return this.touched.length >= capacity ? this : new Scratch(Math.ceil(capacity * 1.25));
  }
}

/** Term frequencies of one product, per field, and its field lengths. */
export function analyse(doc: IndexedFields): { tfs: Map<string, number[]>; lengths: number[] } {
  const tfs = new Map<string, number[]>();
  const lengths = FIELDS.map((field, f) => {
    const tokens = tokenize(doc[field]);
    for (const token of tokens) {
      const term = processTerm(token);
      if (!term) continue;
      let tf = tfs.get(term);
      if (!tf) tfs.set(term, (tf = [0, 0, 0, 0, 0]));
      tf[f]++;
    }
    // As MiniSearch: a field's length is its number of distinct tokens.
    return new Set(tokens).size;
  });
  return { tfs, lengths };
}

export const bm25 = (tf: number, length: number, avg: number, df: number, docCount: number) =>
  Math.log(1 + (docCount - df + 0.5) / (df + 0.5)) * (D + (tf * (K + 1)) / (tf + K * (1 - B + (B * length) / avg)));
