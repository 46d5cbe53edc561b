// Over 300 lines: the block bounds and the cut-offs they are read against (best score, budget tilt, `limit`-th relevance) share one search's state and must stay in step.
import { DESCRIPTION_ONLY_COVER, type Part, type Postings, type Scratch } from './index-parts.js';
import { jointMax, MAX_GROUPED, type ByCover, type ScoreOrder, type Ties } from './joint-bounds.js';
import { accumulate } from './search-index.js';

/**
 * The best `limit` matches of a question without scoring every match (block-max pruning): the
 * products are cut into blocks of 2^`ranking.bits` consecutive numbers, and each term's postings
 * keep, per block, their highest score and whether any of them is in a strong field. From those
 * a block's bound on the score, the cover and so the relevance of any product in it follows;
 * blocks are read best bound first, and reading stops once no block left can beat the best score
 * (needed to scale relevance), then (for a "budget" question) move the best relevance or the
 * price range of the products near it, then beat the `limit`-th best relevance. A bound equal to
 * the cut-off is still read unless every product in the block that could reach it loses the
 * tie-break to it: the block's best rank says so, or its classes by cover (below) do, each
 * knowing the best rank among its products that reach its best score and the best score of the
 * others. In catalogs of many equal products (the same words, the same lengths), most of the
 * blocks that tie the cut-off are settled so, unread.
 *
 * Where a question's words go together, a block's bound adds each word's best score there, which
 * rarely belong to one product. For a question of up to MAX_GROUPED parts, the group of all of
 * them keeps, per block, its products' best score for each cover they reach (`byCover`, made on
 * first use, see `jointMax`): a block's bound on the score is then what one product scores there,
 * words counted ("travel backpack": products holding one of the words beside products holding the
 * other no longer bound as if one held both), and its bound on the relevance the best of its
 * covers. Those classes add a product's numbers in the product's order, so they are its very
 * sums and need no margin: a block whose best product only ties the `limit`-th is bounded by that
 * tie, not above it. A question of more parts lowers its blocks' bounds with the joint maxima of
 * pairs and groups of its common terms instead, which add in another order and keep a margin.
 *
 * Exact, not approximate: the bounds add the same numbers in the same order as a product's score
 * (floating-point addition and multiplication are monotone), so no product's relevance exceeds
 * its block's bound, and the result is that of scoring every match (held by
 * test/assistant/catalog-ranking.property.unit.test.ts). Products added since the whole build
 * (the parts marked `tail`) are few and scored one by one.
 */

/**
 * Products per block, as a power of 2 — `fineBits` for questions of one word, whose bound is
 * that word's best score in the block and so gains most from smaller blocks, `bits` for the
 * others, which gain less than they pay in blocks to order — and the fewest postings worth
 * bounding: `orderedFrom` for a question read in score order (see `inScoreOrder`), which costs
 * little more than the blocks it reads, `pruneFrom` for the others, which bound every block they
 * meet (settings, so that tests can cut small catalogs into many blocks and prune them).
 */
export const blockSize = { bits: 8, fineBits: 6, pruneFrom: 2048, orderedFrom: 256, pairsFrom: 1024 };

interface Blocks {
  bits: number;
  /** Block number of entry j, its first posting (starts[j]…starts[j + 1]), highest score, any strong. */
  ids: Int32Array;
  starts: Int32Array;
  max: Float64Array;
  strong: Uint8Array;
}

/** Per term's postings, its blocks at each size asked for. */
const blocksOf = new WeakMap<Postings, Blocks[]>();

function blocks(postings: Postings, bits: number): Blocks {
  let sizes = blocksOf.get(postings);
  if (!sizes) blocksOf.set(postings, (sizes = []));
  let b = sizes.find((s) => s.bits === bits);
  if (b) return b;
  const { docs, scores, strong } = postings;
  const ids: number[] = [];
  const starts: number[] = [];
  const max: number[] = [];
  const strongs: number[] = [];
  for (let i = 0; i < docs.length; i++) {
    const id = docs[i] >> bits;
    if (ids.length === 0 || ids[ids.length - 1] !== id) {
      ids.push(id);
      starts.push(i);
      max.push(scores[i]);
      strongs.push(strong[i]);
    } else {
      const j = ids.length - 1;
      if (scores[i] > max[j]) max[j] = scores[i];
      strongs[j] |= strong[i];
    }
  }
  starts.push(docs.length);
  b = { bits, ids: Int32Array.from(ids), starts: Int32Array.from(starts), max: Float64Array.from(max), strong: Uint8Array.from(strongs) };
  sizes.push(b);
  return b;
}

/**
 * Lowers each met block's bound on the summed score (`w.sum`: each part's best in the block,
 * added) where a group of parts' joint maximum in the block is below the sum of their own: every
 * pair of the parts with at least `blockSize.pairsFrom` postings to read, and all of them
 * together when they are more than two; the best group, or two disjoint ones, replace their own
 * maxima. A product's score adds its parts in another order than these bounds do, so a lowered
 * bound keeps a margin far above rounding.
 */
function tightenWithGroups(built: Part[], entries: Blocks[], w: typeof work, metCount: number): void {
  const n = built.length;
  const big: number[] = [];
  for (let q = 0; q < n && big.length < MAX_GROUPED; q++) if (built[q].to - built[q].from >= blockSize.pairsFrom) big.push(q);
  if (big.length < 2) return;
  const members: number[][] = [];
  for (let x = 0; x < big.length; x++) for (let y = x + 1; y < big.length; y++) members.push([x, y]);
  if (big.length > 2) members.push(big.map((_, x) => x));
  // Per group: its members (indexes into `big`, flat from `starts`), which of them (bit mask) and its maxima.
  const maxima: Float64Array[] = [];
  const masks: number[] = [];
  const flat: number[] = [];
  const starts: number[] = [0];
  for (const group of members) {
    const made = jointMax(group.map((x) => built[big[x]]), entries[0].bits, undefined);
    if (!made) continue;
    maxima.push(made.max);
    masks.push(group.reduce((m, x) => m | (1 << x), 0));
    flat.push(...group);
    starts.push(flat.length);
  }
  const count = maxima.length;
  if (count === 0) return;
  const own = new Float64Array(big.length);
  const gain = new Float64Array(count);
  for (let i = 0; i < metCount; i++) {
    const id = w.met[i];
    for (let x = 0; x < big.length; x++) {
      const q = big[x];
      const j = w.slot[id * n + q] - 1;
      own[x] = j < 0 ? 0 : built[q].weight * entries[q].max[j];
    }
    let best = 0;
    for (let g = 0; g < count; g++) {
      const max = maxima[g];
      let sum = 0;
      for (let m = starts[g]; m < starts[g + 1]; m++) sum += own[flat[m]];
      const gained = id < max.length ? sum - max[id] : 0;
      gain[g] = gained;
      if (gained > best) best = gained;
      for (let h = 0; h < g; h++) if ((masks[h] & masks[g]) === 0 && gained + gain[h] > best) best = gained + gain[h];
    }
    if (best > 0) {
      const sum = w.sum[id];
      const lowered = sum - best + sum * 1e-9;
      if (lowered < sum) w.sum[id] = lowered;
    }
  }
}

/** How the caller ranks: relevance from cover and score, and its tie-break. */
export interface Ranking {
  limit: number;
  /**
   * Below `pruneFrom` postings, decline, unless the question can be read in score order and has
   * at least `orderedFrom` (see `blockSize`).
   */
  pruneFrom: number;
  orderedFrom: number;
  /** Tie-break rank per product number below `ranked` (lower wins); per block of 2^`bits`, the lowest. */
  tieRank: Int32Array;
  bits: number;
  blockTie: Int32Array;
  ranked: number;
  /** Negative when product `a` wins the tie against `b`. */
  tie: (a: number, b: number) => number;
  /**
   * A "budget" question: cheaper products among the most relevant gain (see `cheaperFirst` in
   * ranking.ts). log(1 + price) per product number; per block of the whole build, its lowest and
   * highest price.
   */
  cheap?: { logPrices: Float64Array; blockMin: Float64Array; blockMax: Float64Array };
}

export interface TopMatches {
  /** Best first. */
  docs: number[];
  relevance: number[];
  /** How many products matched (counted when first read: a search that shows the best few need not). */
  readonly total: number;
}

/** The relevance of a match, as the search ranks: its cover to the power 1.5 times its score against the best. */
export const relevanceOf = (cover: number, score: number, top: number) => {
  const c = Math.min(1, cover);
  return c * Math.sqrt(c) * (0.4 + (0.6 * score) / top);
};

/**
 * Per block, reused by every search (a search is synchronous): bounds, last word met, whether
 * read; per block and part read, 1 + the part's entry for the block (0: none), so reading a block
 * finds its postings without a search; the blocks met, and the heap they are read from.
 */
let work = {
  sum: new Float64Array(0),
  score: new Float64Array(0),
  words: new Float64Array(0),
  cover: new Float64Array(0),
  bound: new Float64Array(0),
  word: new Int32Array(0),
  strong: new Uint8Array(0),
  read: new Uint8Array(0),
  slot: new Int32Array(0),
  met: new Int32Array(0),
  heap: new Int32Array(0),
};

function workFor(blockCount: number, parts: number): typeof work {
  if (work.word.length < blockCount) {
    const n = Math.ceil(blockCount * 1.25);
    work = {
      sum: new Float64Array(n),
      score: new Float64Array(n),
      words: new Float64Array(n),
      cover: new Float64Array(n),
      bound: new Float64Array(n),
      word: new Int32Array(n).fill(-1),
      strong: new Uint8Array(n),
      read: new Uint8Array(n),
      slot: work.slot,
      met: new Int32Array(n),
      heap: new Int32Array(n),
    };
  }
  if (work.slot.length < work.word.length * parts) work.slot = new Int32Array(work.word.length * Math.max(parts, 8));
  return work;
}

/** The best matches, or undefined when the question's postings are too few to be worth bounding. */
export function topMatches(scratch: Scratch, parts: Part[], totalWeight: number, ranking: Ranking): TopMatches | undefined {
  let postings = 0;
  for (const p of parts) postings += p.to - p.from;
  const built = parts.filter((p) => !p.tail && p.from < p.to);
  const n = built.length;
  const ordered = !ranking.cheap && n >= 1 && n <= MAX_GROUPED && totalWeight > 0 && postings >= ranking.orderedFrom;
  if (!ordered && postings < ranking.pruneFrom) return undefined;
  const { state, touched } = scratch;
  const { bits } = ranking;
  const entries = built.map((p) => blocks(p.postings, bits));
  const ties: Ties = { rank: ranking.tieRank, ranked: ranking.ranked };
  if (ordered) {
    const classes = jointMax(built, bits, ties)?.byCover;
    if (classes) return inScoreOrder(scratch, parts, built, entries, classes, totalWeight, ranking);
    if (postings < ranking.pruneFrom) return undefined;
  }
  const w = workFor((state.length >> 2 >> bits) + 1, n);
  // The blocks met, in the order met: met[0…metCount).
  const met = w.met;
  let metCount = 0;
  // Per block met: the bound of the summed score, of the words matched and of the cover, added
  // in the order a product's are.
  for (let q = 0; q < built.length; q++) {
    const p = built[q];
    const b = entries[q];
    const weak = p.cover * DESCRIPTION_ONLY_COVER;
    // The entry whose postings hold position `from`: the last one starting at or before it.
    for (let j = lowerBound(b.starts, p.from + 1, b.ids.length) - 1; j < b.ids.length && b.starts[j] < p.to; j++) {
      const id = b.ids[j];
      if (w.word[id] === -1 && w.words[id] === 0) met[metCount++] = id;
      w.slot[id * n + q] = j + 1;
      w.sum[id] += p.weight * b.max[j];
      if (w.word[id] !== p.word) {
        w.words[id]++;
        w.cover[id] += b.strong[j] ? p.cover : weak;
        w.word[id] = p.word;
        w.strong[id] = b.strong[j];
      } else if (b.strong[j] && !w.strong[id]) {
        w.cover[id] += p.cover - weak;
        w.strong[id] = 1;
      }
    }
  }
  // A question of a few parts: its products by cover, per block (see `byCover`): their covers and
  // scores are added as a product's are, in the same order, so they bound the products' bit for
  // bit and need no margin. The best score of a block's classes is what one product scores there,
  // at or below any bound of the groups' joint maxima: those are only wanted without them.
  const classes = n > 1 && n <= MAX_GROUPED ? jointMax(built, bits, ties)?.byCover : undefined;
  if (n > 1 && !classes) tightenWithGroups(built, entries, w, metCount);
  const scored = classes?.scored;
  // Per block met: the bound of a product's score (its summed score times its words), lowered to
  // the best one product scores there when a group of every part read knows it.
  for (let i = 0; i < metCount; i++) {
    const id = met[i];
    let bound = w.sum[id] * w.words[id];
    if (scored) {
      const best = id < scored.length ? scored[id] : 0;
      if (best < bound) bound = best;
    }
    w.score[id] = bound;
  }
  let count = 0;
  // The products added since the whole build, scored one by one.
  for (const p of parts) if (p.tail) count = accumulate(scratch, p.postings, p.from, p.to, p.weight, p.word, p.cover, count, p.check);
  let top = 0;
  const scoreUpTo = (from: number) => {
    top = bestScore(scratch, from, count, top);
  };
  scoreUpTo(0);
  const readBlock = (block: number) => {
    w.read[block] = 1;
    count = readInto(scratch, built, entries, w.slot, block, count);
  };
  /**
   * A "budget" question (`ranking.cheap`, as `cheaperFirst` in ranking.ts): the best relevance,
   * then the lowest and highest price among the products within 0.75 of it, then every unread
   * block's bound on the relevance tilted by price (`w.bound`), reading only the blocks that can
   * move them. Blocks are numbered by price, so each block knows its cheapest and dearest product.
   */
  const cheaperFirst = (cheap: NonNullable<Ranking['cheap']>, heap: Int32Array, unread: number, relevance: (d: number) => number) => {
    const { logPrices, blockMin, blockMax } = cheap;
    let best = 0;
    const bestUpTo = (from: number) => {
      for (let i = from; i < count; i++) if (state[touched[i] << 2] !== -2) best = Math.max(best, relevance(touched[i]));
    };
    bestUpTo(0);
    let left = heapify(heap, w.bound, unread);
    while (left > 0 && w.bound[heap[0]] > best) {
      const id = heap[0];
      left = pop(heap, left, w.bound);
      const before = count;
      readBlock(id);
      bestUpTo(before);
    }
    const threshold = best * 0.75;
    let lo = Infinity;
    let hi = -Infinity;
    const pricesUpTo = (from: number) => {
      for (let i = from; i < count; i++) {
        const d = touched[i];
        if (state[d << 2] === -2 || relevance(d) < threshold) continue;
        const log = logPrices[d];
        lo = Math.min(lo, log);
        hi = Math.max(hi, log);
      }
    };
    pricesUpTo(0);
    // The blocks that may hold a product within 0.75 of the best: cheapest first until none can
    // lower `lo`, dearest first until none can raise `hi`.
    const near: number[] = [];
    for (let i = 0; i < metCount; i++) if (!w.read[met[i]] && w.bound[met[i]] >= threshold) near.push(met[i]);
    const readInOrderUntil = (done: (id: number) => boolean) => {
      for (const id of near) {
        if (done(id)) break;
        if (w.read[id]) continue;
        const before = count;
        readBlock(id);
        pricesUpTo(before);
      }
    };
    near.sort((a, b) => blockMin[a] - blockMin[b]);
    readInOrderUntil((id) => Math.log(blockMin[id] + 1) >= lo);
    near.sort((a, b) => blockMax[b] - blockMax[a]);
    readInOrderUntil((id) => Math.log(blockMax[id] + 1) <= hi);
    const span = hi - lo;
    // The same arithmetic as `cheaperFirst`, on a product's relevance and price, or on a block's
    // bound and its cheapest price (the tilt only falls as the price rises).
    const tilt = (r: number, logPrice: number) => (r < threshold ? r * 0.6 : span > 0 ? r * (1 - (0.4 * (logPrice - lo)) / span) : r);
    for (let i = 0; i < metCount; i++) {
      const id = met[i];
      if (!w.read[id]) w.bound[id] = Math.max(w.bound[id] * 0.6, tilt(w.bound[id], Math.log(blockMin[id] + 1)));
    }
    return { key: (d: number) => tilt(relevance(d), logPrices[d]) };
  };
  // The best score first: needed to scale every relevance. The block of the best bound is read
  // (most often it holds the best score, its bound being what one product there scores), then,
  // best bound first from a heap, any other whose bound beats the best score read so far.
  const heap = w.heap;
  let first = -1;
  for (let i = 0; i < metCount; i++) {
    const id = met[i];
    if (first < 0 || w.score[id] > w.score[first] || (w.score[id] === w.score[first] && id < first)) first = id;
  }
  const readForTop = (id: number) => {
    const before = count;
    readBlock(id);
    scoreUpTo(before);
  };
  if (first >= 0 && w.score[first] > top) readForTop(first);
  let left = 0;
  for (let i = 0; i < metCount; i++) {
    const id = met[i];
    if (w.read[id] || w.score[id] <= top) continue;
    heap[left++] = id;
    w.bound[id] = w.score[id];
  }
  left = heapify(heap, w.bound, left);
  while (left > 0 && w.bound[heap[0]] > top) {
    const id = heap[0];
    left = pop(heap, left, w.bound);
    readForTop(id);
  }
  // Then the best relevance, over the blocks left unread.
  let unread = 0;
  for (let i = 0; i < metCount; i++) {
    const id = met[i];
    if (w.read[id]) continue;
    heap[unread++] = id;
    let bound = relevanceOf(totalWeight > 0 ? w.cover[id] / totalWeight : 0, w.score[id], top);
    if (classes && totalWeight > 0 && id < classes.scored.length) {
      const best = bestOfClasses(classes, id, totalWeight, top);
      if (best < bound) bound = best;
    }
    w.bound[id] = bound;
  }
  let key = (d: number) => {
    const o = d << 2;
    return relevanceOf(totalWeight > 0 ? state[o + 3] / totalWeight : 0, state[o + 2] * state[o + 1], top);
  };
  if (ranking.cheap) {
    const cheap = cheaperFirst(ranking.cheap, heap, unread, key);
    key = cheap.key;
    unread = 0;
    for (let i = 0; i < metCount; i++) if (!w.read[met[i]]) heap[unread++] = met[i];
  }
  left = heapify(heap, w.bound, unread);
  const { best, rel, offer } = bestHeld(state, ranking, totalWeight, top, key);
  for (let i = 0; i < count; i++) offer(touched[i]);
  const readAndOffer = (id: number) => {
    const before = count;
    readBlock(id);
    for (let i = before; i < count; i++) offer(touched[i]);
  };
  while (left > 0) {
    const id = heap[0];
    left = pop(heap, left, w.bound);
    const step = stepFor(id, w.bound[id], best, rel, classes, ranking, totalWeight, top);
    if (step === STOP) break;
    if (step === READ) readAndOffer(id);
  }
  for (let i = 0; i < count; i++) state[touched[i] << 2] = -1;
  for (let i = 0; i < metCount; i++) {
    const id = met[i];
    for (let q = 0; q < n; q++) w.slot[id * n + q] = 0;
    w.sum[id] = 0;
    w.words[id] = 0;
    w.cover[id] = 0;
    w.word[id] = -1;
    w.strong[id] = 0;
    w.read[id] = 0;
  }
  return matchesOf(best, rel, parts, state.length >> 2);
}

/** Reads each part's postings in `block` (1 + its entry there in `slot`, cut to the part's range); returns the products touched. */
function readInto(scratch: Scratch, built: Part[], entries: Blocks[], slot: Int32Array, block: number, touched: number): number {
  const n = built.length;
  let count = touched;
  for (let q = 0; q < n; q++) {
    const j = slot[block * n + q] - 1;
    if (j < 0) continue;
    const b = entries[q];
    const p = built[q];
    const from = Math.max(p.from, b.starts[j]);
    const to = Math.min(p.to, b.starts[j + 1]);
    if (from < to) count = accumulate(scratch, p.postings, from, to, p.weight, p.word, p.cover, count, p.check);
  }
  return count;
}

/** The best score among the products touched from `from` to `to` that pass their filters, or `top` if higher. */
function bestScore({ state, touched }: Scratch, from: number, to: number, top: number): number {
  let best = top;
  for (let i = from; i < to; i++) {
    const o = touched[i] << 2;
    if (state[o] !== -2 && state[o + 2] * state[o + 1] > best) best = state[o + 2] * state[o + 1];
  }
  return best;
}

const READ = 0;
const PASS = 1;
const STOP = 2;

/**
 * What to do with block `id`, the unread block of the best `bound`, once `limit` are held: stop
 * when it cannot reach the last of them (no block left can), pass it over when it only ties it
 * and loses the tie-break (see `losesTies`), else read it.
 */
function stepFor(id: number, bound: number, best: number[], rel: number[], classes: ByCover | undefined, ranking: Ranking, totalWeight: number, top: number): number {
  const k = ranking.limit;
  if (best.length < k) return READ;
  if (bound < rel[k - 1]) return STOP;
  const last = best[k - 1];
  if (bound === rel[k - 1] && last < ranking.ranked && losesTies(classes, ranking, totalWeight, top, id, rel[k - 1], ranking.tieRank[last])) return PASS;
  return READ;
}

/** The best relevance of block `id`'s products, by their classes. */
function bestOfClasses(classes: ByCover, id: number, totalWeight: number, top: number): number {
  let best = 0;
  for (let j = classes.starts[id]; j < classes.starts[id + 1]; j++) best = Math.max(best, relevanceOf(classes.cover[j] / totalWeight, classes.score[j], top));
  return best;
}

/** The result: the best held, and how many products match, counted when first read. */
function matchesOf(docs: number[], relevance: number[], parts: Part[], capacity: number): TopMatches {
  const live = parts.filter((p) => p.from < p.to);
  let total: number | undefined;
  return {
    docs,
    relevance,
    get total() {
      return (total ??= countMatches(live, capacity));
    },
  };
}

/**
 * The best `ranking.limit` products offered, best first by `key`, ties by `ranking.tie`. Once
 * `limit` are held, the score and cover a product needs to beat the last of them, with a margin
 * far above rounding: most products offered fall short of both and are passed over without their
 * key being computed. Not for a "budget" question, whose key is tilted by price.
 */
function bestHeld(state: Float64Array, ranking: Ranking, totalWeight: number, top: number, key: (d: number) => number) {
  const k = ranking.limit;
  const best: number[] = [];
  const rel: number[] = [];
  let minScore = -Infinity;
  let minCover = -Infinity;
  const raiseMinimums = () => {
    if (ranking.cheap || best.length < k) return;
    const last = rel[k - 1];
    minScore = (top * (last - 0.4)) / 0.6 - top * 1e-9;
    minCover = totalWeight * Math.pow(last, 2 / 3) * (1 - 1e-9);
  };
  const offer = (d: number) => {
    const o = d << 2;
    if (state[o] === -2 || state[o + 2] * state[o + 1] < minScore || state[o + 3] < minCover) return;
    const r = key(d);
    if (best.length === k && (r < rel[k - 1] || (r === rel[k - 1] && ranking.tie(d, best[k - 1]) > 0))) return;
    let lo = 0;
    let hi = best.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (r > rel[mid] || (r === rel[mid] && ranking.tie(d, best[mid]) < 0)) hi = mid;
      else lo = mid + 1;
    }
    if (lo >= k) return;
    // Into place at `lo`, the last held dropped once `limit` are (no array made per insertion).
    let i = best.length < k ? best.length : k - 1;
    for (; i > lo; i--) {
      best[i] = best[i - 1];
      rel[i] = rel[i - 1];
    }
    best[lo] = d;
    rel[lo] = r;
    raiseMinimums();
  };
  return { best, rel, offer };
}

/**
 * Whether every product of block `id` that could reach relevance `r` (its bound) loses the
 * tie-break to the product of rank `rank`: the block's best rank says so, or, by its products'
 * classes, each class that reaches `r` does so only with its best score, held by products that
 * all rank below (not for a "budget" question, whose relevance is tilted by price).
 */
function losesTies(classes: ByCover | undefined, ranking: Ranking, totalWeight: number, top: number, id: number, r: number, rank: number): boolean {
  if (ranking.blockTie[id] > rank) return true;
  if (!classes || ranking.cheap || totalWeight <= 0 || id >= classes.scored.length) return false;
  for (let j = classes.starts[id]; j < classes.starts[id + 1]; j++) {
    const cover = classes.cover[j] / totalWeight;
    if (relevanceOf(cover, classes.score[j], top) < r) continue;
    if (classes.tie[j] <= rank || relevanceOf(cover, classes.rest[j], top) >= r) return false;
  }
  return true;
}

/** The group's `ScoreOrder`, made on its first question. */
function scoreOrder(classes: ByCover, entries: Blocks[]): ScoreOrder {
  if (classes.order) return classes.order;
  const { scored, starts } = classes;
  const ids: number[] = [];
  for (let b = 0; b < scored.length; b++) if (starts[b] < starts[b + 1]) ids.push(b);
  ids.sort((a, b) => scored[b] - scored[a] || a - b);
  const n = entries.length;
  const slot = new Int32Array(scored.length * n);
  for (let q = 0; q < n; q++) {
    const e = entries[q];
    for (let j = 0; j < e.ids.length; j++) if (e.ids[j] < scored.length) slot[e.ids[j] * n + q] = j + 1;
  }
  return (classes.order = { blocks: Int32Array.from(ids), slot });
}

/**
 * `topMatches` for a question of up to MAX_GROUPED parts (not a "budget" one), from its group's
 * blocks in score order (`scoreOrder`): each block's best score is what one of its products
 * scores (its classes', see `ByCover`), and its best relevance the best of its classes', so
 * - the best score is read from the first blocks in that order inside the question's range of
 *   product numbers, until a block's best score is no more than the best read;
 * - the blocks then enter the heap by relevance in that order, only while the next one's score
 *   could still beat the best bound in the heap, and the `limit`-th held: no relevance is above
 *   0.4 + 0.6 × score / best.
 * A question's blocks outside its range (its price filter) are passed over unread, and the blocks
 * that could not beat the `limit`-th best are neither bounded nor put in order.
 */
function inScoreOrder(scratch: Scratch, parts: Part[], built: Part[], entries: Blocks[], classes: ByCover, totalWeight: number, ranking: Ranking): TopMatches {
  const { state, touched } = scratch;
  const { bits, limit: k } = ranking;
  const n = built.length;
  const { blocks: order, slot } = scoreOrder(classes, entries);
  const { scored } = classes;
  // The blocks inside the question's range of product numbers (its cut postings' first and last).
  let lo = Infinity;
  let hi = -1;
  for (const p of built) {
    const { docs } = p.postings;
    lo = Math.min(lo, docs[p.from] >> bits);
    hi = Math.max(hi, docs[p.to - 1] >> bits);
  }
  const w = workFor(scored.length, n);
  // The blocks read, to clear their marks after.
  const read = w.met;
  let readCount = 0;
  let count = 0;
  // The products added since the whole build, scored one by one.
  for (const p of parts) if (p.tail) count = accumulate(scratch, p.postings, p.from, p.to, p.weight, p.word, p.cover, count, p.check);
  const readBlock = (block: number) => {
    w.read[block] = 1;
    read[readCount++] = block;
    count = readInto(scratch, built, entries, slot, block, count);
  };
  const outside = (id: number) => id < lo || id > hi;
  let top = 0;
  const scoreUpTo = (from: number) => {
    top = bestScore(scratch, from, count, top);
  };
  scoreUpTo(0);
  // The best score: blocks in score order until one can score no more than the best read.
  for (let i = 0; i < order.length && scored[order[i]] > top; i++) {
    const id = order[i];
    if (outside(id)) continue;
    const before = count;
    readBlock(id);
    scoreUpTo(before);
  }
  const key = (d: number) => {
    const o = d << 2;
    return relevanceOf(state[o + 3] / totalWeight, state[o + 2] * state[o + 1], top);
  };
  const { best, rel, offer } = bestHeld(state, ranking, totalWeight, top, key);
  for (let i = 0; i < count; i++) offer(touched[i]);
  const readAndOffer = (id: number) => {
    const before = count;
    readBlock(id);
    for (let i = before; i < count; i++) offer(touched[i]);
  };
  const heap = w.heap;
  let left = 0;
  let next = 0;
  for (;;) {
    // Into the heap, in score order, every block that could beat the best bound in it.
    while (next < order.length) {
      const id = order[next];
      const upper = relevanceOf(1, scored[id], top);
      if ((left > 0 && upper < w.bound[heap[0]]) || (best.length === k && upper < rel[k - 1])) break;
      next++;
      if (w.read[id] || outside(id)) continue;
      w.bound[id] = bestOfClasses(classes, id, totalWeight, top);
      left = push(heap, left, id, w.bound);
    }
    if (left === 0) break;
    const id = heap[0];
    left = pop(heap, left, w.bound);
    const step = stepFor(id, w.bound[id], best, rel, classes, ranking, totalWeight, top);
    if (step === STOP) break;
    if (step === READ) readAndOffer(id);
  }
  for (let i = 0; i < count; i++) state[touched[i] << 2] = -1;
  for (let i = 0; i < readCount; i++) w.read[read[i]] = 0;
  return matchesOf(best, rel, parts, state.length >> 2);
}

/** Whether block a comes off the heap before block b: the higher bound, then the lower number. */
const before = (a: number, b: number, bound: Float64Array) => bound[a] > bound[b] || (bound[a] === bound[b] && a < b);

/** Orders heap[0…size) as a heap on `bound` (best at 0); returns its size. */
function heapify(heap: Int32Array, bound: Float64Array, size: number): number {
  for (let i = (size >> 1) - 1; i >= 0; i--) siftDown(heap, i, size, bound);
  return size;
}

/** Puts `id` on a heap of `size`; returns the new size. */
function push(heap: Int32Array, size: number, id: number, bound: Float64Array): number {
  let i = size;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!before(id, heap[parent], bound)) break;
    heap[i] = heap[parent];
    i = parent;
  }
  heap[i] = id;
  return size + 1;
}

/** Takes heap[0] off a heap of `size`; returns the new size. */
function pop(heap: Int32Array, size: number, bound: Float64Array): number {
  heap[0] = heap[size - 1];
  siftDown(heap, 0, size - 1, bound);
  return size - 1;
}

function siftDown(heap: Int32Array, from: number, size: number, bound: Float64Array): void {
  let i = from;
  const item = heap[i];
  for (;;) {
    let child = 2 * i + 1;
    if (child >= size) break;
    if (child + 1 < size && before(heap[child + 1], heap[child], bound)) child++;
    if (!before(heap[child], item, bound)) break;
    heap[i] = heap[child];
    i = child;
  }
  heap[i] = item;
}

/** How many products the parts hold that pass their filters, each counted once (`capacity`: above every product number). */
function countMatches(parts: Part[], capacity: number): number {
  if (parts.length === 1 && parts[0].check === undefined) return parts[0].to - parts[0].from;
  // 1: counted, 2: filtered out.
  const seen = new Uint8Array(capacity);
  let total = 0;
  for (const p of parts) {
    const { docs } = p.postings;
    for (let i = p.from; i < p.to; i++) {
      const d = docs[i];
      if (seen[d] !== 0) continue;
      const pass = p.check === undefined || p.check(d);
      seen[d] = pass ? 1 : 2;
      if (pass) total++;
    }
  }
  return total;
}

function lowerBound(sorted: ArrayLike<number>, value: number, length: number): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
