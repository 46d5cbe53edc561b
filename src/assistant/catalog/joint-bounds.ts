/**
 * Joint block maxima of a question's terms (see top-matches.ts): per block of product numbers,
 * what one product gets from a group of the question's parts together, made on first use and
 * kept with the group's first term's postings, so a question asked again, or sharing a pair of
 * words with another, finds them made.
 */
import { DESCRIPTION_ONLY_COVER, type Part, type Postings } from './index-parts.js';

/** How many groups of terms one term keeps joint block maxima for (see `jointMax`): bounds the memory. */
const GROUPS_PER_TERM = 32;
/** The most parts of one question grouped (their pairs, and all of them together). */
export const MAX_GROUPED = 6;

/**
 * The products of one block, by cover: per cover one product of the block reaches (its words'
 * shares, as `accumulate` adds them), the best score (summed score times words) among those with
 * that cover, the best tie-break rank among the products that score it, and the best score below
 * it; a cover and score beaten on both by another are left out, their products counted in each
 * class that beats them (see `close` in `byCover`).
 */
export interface ByCover {
  /** Per member of the group, its part's cover (the classes hold for these only). */
  covers: number[];
  /** The tie-break ranks the classes were made with (see `Ties`). */
  ties: Ties;
  /** Classes of block b: starts[b]…starts[b + 1]. */
  starts: Int32Array;
  cover: Float64Array;
  score: Float64Array;
  /**
   * The lowest tie-break rank of the class's products that reach its best score; -1 when one of
   * them has no rank (added after the whole build), which loses no tie for certain.
   */
  tie: Int32Array;
  /** The best score of the class's other products (-1: none), which rank below those that reach it. */
  rest: Float64Array;
  /** Per block, the best score of any of its classes. */
  scored: Float64Array;
  /** Its blocks in score order, made on first use (see `scoreOrder` in top-matches.ts). */
  order?: ScoreOrder;
}

/**
 * Per group of parts (its products by cover), the blocks holding any of its products, best score
 * first (then the lower number), and per block and part, 1 + the part's entry for the block (0:
 * none): made on the group's first question, so each later one reads its blocks best first
 * without bounding every block it meets (see `inScoreOrder` in top-matches.ts).
 */
export interface ScoreOrder {
  blocks: Int32Array;
  slot: Int32Array;
}

export interface Group {
  bits: number;
  postings: Postings[];
  weights: number[];
  /** Which members start another of the question's words (see `newWords`). */
  newWord: number;
  /** Per block, the highest weighted score one product gets from the group's terms. */
  max: Float64Array;
  /** Made when the group is every part a question reads (see `byCover`). */
  byCover?: ByCover;
}

/** Tie-break rank per product number below `ranked` (lower wins). */
export interface Ties {
  rank: Int32Array;
  ranked: number;
}

/** Per term's postings, the joint block maxima of the groups of terms it comes first in (see `jointMax`). */
const groupsOf = new WeakMap<Postings, Group[]>();

/**
 * Per product number, while a group's maxima are computed (score and cover 0, tag -1, words 0
 * between): its weighted score, its cover, the group's word last met (times 2, plus 1 when met
 * in a strong field) and how many of the group's words it holds.
 */
let joint = { score: new Float64Array(0), cover: new Float64Array(0), tag: new Int32Array(0), words: new Int32Array(0) };

function jointFor(last: number): typeof joint {
  if (joint.score.length <= last) {
    const n = Math.ceil((last + 1) * 1.25);
    joint = { score: new Float64Array(n), cover: new Float64Array(n), tag: new Int32Array(n).fill(-1), words: new Int32Array(n) };
  }
  return joint;
}

/** Which of a group's parts start another of the question's words (bit per member; parts come in word order). */
function newWords(group: Part[]): number {
  let mask = 1;
  for (let i = 1; i < group.length; i++) if (group[i].word !== group[i - 1].word) mask |= 1 << i;
  return mask;
}

const lastDoc = (group: Part[]) => group.reduce((last, { postings: { docs } }) => Math.max(last, docs[docs.length - 1] ?? 0), 0);

/**
 * Per block of 2^`bits` product numbers, the highest weighted score one product gets from the
 * `group`'s terms together (each term its part's weight times its score, a term it lacks
 * counting 0): where a question's words go together, far below the sum of each word's own
 * maximum, which rarely belong to one product. Made on first use by two passes over the group's
 * postings and kept with its first term's postings (at most GROUPS_PER_TERM groups each), so a
 * question asked again, or sharing a pair of words with another, finds it made. `whole`: the
 * group is every part the question reads, and its products' bounds by cover (with their best
 * ranks in `ties`) are wanted too.
 */
export function jointMax(group: Part[], bits: number, whole: Ties | undefined): Group | undefined {
  const first = group[0].postings;
  const newWord = newWords(group);
  let known = groupsOf.get(first);
  let found = known?.find(
    (g) => g.bits === bits && g.newWord === newWord && g.postings.length === group.length && group.every((p, i) => g.postings[i] === p.postings && g.weights[i] === p.weight),
  );
  if (!found) {
    if (!known) groupsOf.set(first, (known = []));
    if (known.length >= GROUPS_PER_TERM) return undefined;
    const last = lastDoc(group);
    const { score } = jointFor(last);
    for (const { postings, weight } of group) {
      const { docs, scores } = postings;
      for (let i = 0; i < docs.length; i++) score[docs[i]] += weight * scores[i];
    }
    const max = new Float64Array((last >> bits) + 1);
    for (const { postings } of group) {
      const { docs } = postings;
      for (let i = 0; i < docs.length; i++) {
        const d = docs[i];
        const v = score[d];
        if (v === 0) continue;
        score[d] = 0;
        if (v > max[d >> bits]) max[d >> bits] = v;
      }
    }
    known.push((found = { bits, postings: group.map((p) => p.postings), weights: group.map((p) => p.weight), newWord, max }));
  }
  if (whole && !(found.byCover && found.byCover.ties.rank === whole.rank && group.every((p, i) => found.byCover!.covers[i] === p.cover))) found.byCover = byCover(group, bits, whole);
  return found;
}

/**
 * A group's products per block by cover (see `ByCover`): their scores and covers added as
 * `accumulate` adds them, in the group's order (the same sums, bit for bit), then read by
 * product number.
 */
function byCover(group: Part[], bits: number, ties: Ties): ByCover {
  const last = lastDoc(group);
  const { score, cover, tag, words } = jointFor(last);
  let word = 0;
  for (let m = 0; m < group.length; m++) {
    if (m > 0 && group[m].word !== group[m - 1].word) word++;
    const { postings, weight } = group[m];
    const { docs, scores, strong } = postings;
    const weak = group[m].cover * DESCRIPTION_ONLY_COVER;
    const raise = group[m].cover - weak;
    const plain = word * 2;
    for (let i = 0; i < docs.length; i++) {
      const d = docs[i];
      const s = strong[i];
      const t = tag[d];
      if (t < plain) {
        words[d]++;
        cover[d] += s ? group[m].cover : weak;
        tag[d] = plain + s;
      } else if (s && t === plain) {
        cover[d] += raise;
        tag[d] = plain + 1;
      }
      score[d] += weight * scores[i];
    }
  }
  const blocks = (last >> bits) + 1;
  const starts = new Int32Array(blocks + 1);
  const scored = new Float64Array(blocks);
  const covers: number[] = [];
  const scores: number[] = [];
  const bestTies: number[] = [];
  const rests: number[] = [];
  // The current block's classes.
  const blockCovers: number[] = [];
  const blockScores: number[] = [];
  const blockTies: number[] = [];
  const blockRests: number[] = [];
  let block = 0;
  /** Whether class j of the block beats class i on both cover and score (no two have one cover). */
  const beats = (j: number, i: number) => j !== i && blockCovers[j] >= blockCovers[i] && blockScores[j] >= blockScores[i];
  const close = (upTo: number) => {
    // Leave out the classes beaten on both cover and score by another of the block. A product of
    // one is no more relevant than it would be with the cover of a class that beats it, so it
    // counts there: as one of that class's best (its rank) if it scores as much, else by its score.
    for (let i = 0; i < blockCovers.length; i++) {
      let beaten = false;
      for (let j = 0; j < blockCovers.length && !beaten; j++) beaten = beats(j, i);
      if (beaten) continue;
      let tie = blockTies[i];
      let rest = blockRests[i];
      for (let j = 0; j < blockCovers.length; j++) {
        if (!beats(i, j)) continue;
        if (blockScores[j] === blockScores[i]) tie = Math.min(tie, blockTies[j]);
        rest = Math.max(rest, blockScores[j] === blockScores[i] ? blockRests[j] : blockScores[j]);
      }
      covers.push(blockCovers[i]);
      scores.push(blockScores[i]);
      bestTies.push(tie);
      rests.push(rest);
      if (blockScores[i] > scored[block]) scored[block] = blockScores[i];
    }
    blockCovers.length = 0;
    blockScores.length = 0;
    blockTies.length = 0;
    blockRests.length = 0;
    for (let b = block + 1; b <= upTo; b++) starts[b] = covers.length;
  };
  for (let d = 0; d <= last; d++) {
    if (tag[d] === -1) continue;
    if (d >> bits !== block) {
      close(d >> bits);
      block = d >> bits;
    }
    const v = score[d] * words[d];
    const c = cover[d];
    const rank = d < ties.ranked ? ties.rank[d] : -1;
    let i = 0;
    while (i < blockCovers.length && blockCovers[i] !== c) i++;
    if (i === blockCovers.length) {
      blockCovers.push(c);
      blockScores.push(v);
      blockTies.push(rank);
      blockRests.push(-1);
    } else if (v > blockScores[i]) {
      blockRests[i] = blockScores[i];
      blockScores[i] = v;
      blockTies[i] = rank;
    } else if (v === blockScores[i]) {
      if (rank < blockTies[i]) blockTies[i] = rank;
    } else if (v > blockRests[i]) blockRests[i] = v;
    score[d] = 0;
    cover[d] = 0;
    tag[d] = -1;
    words[d] = 0;
  }
  close(blocks);
  return { covers: group.map((p) => p.cover), ties, starts, cover: Float64Array.from(covers), score: Float64Array.from(scores), tie: Int32Array.from(bestTies), rest: Float64Array.from(rests), scored };
}
