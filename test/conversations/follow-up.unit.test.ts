import { beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/assistant/catalog/catalog.js';
import { CatalogProvider } from '../../src/assistant/providers/catalog.js';
import type { AssistantAnswer, ProductFilters } from '../../src/assistant/providers/provider.js';
import { MAX_OFFSET, resolveFollowUp, type FollowUpResolution, type PreviousTurn } from '../../src/conversations/follow-up.js';

let provider: CatalogProvider;
beforeAll(async () => {
  provider = new CatalogProvider(await loadCatalog(undefined));
});

interface Step {
  said: string;
  filters?: ProductFilters;
}
interface Answered {
  resolution: FollowUpResolution;
  answer: AssistantAnswer;
  prices: number[];
}

/** Asks a conversation on the bundled catalog, each question read against the answer before it. */
async function converse(...steps: (string | Step)[]): Promise<Answered[]> {
  const out: Answered[] = [];
  let previous: PreviousTurn | undefined;
  for (const step of steps) {
    const { said, filters } = typeof step === 'string' ? { said: step, filters: undefined } : step;
    const resolution = resolveFollowUp({ query: said, filters, previous });
    const answer = await provider.answer({ ...resolution.resolvedQuery, limit: 5 }, new AbortController().signal);
    const prices = answer.products.map((p) => p.price);
    out.push({ resolution, answer, prices });
    previous = { resolvedQuery: resolution.resolvedQuery, prices, currency: answer.products[0]?.currency };
  }
  return out;
}

const previousTurn = (query: string, filters: ProductFilters = {}, prices = [120, 95.5, 150]): PreviousTurn => ({ resolvedQuery: { query, filters }, prices });

describe('follow-up questions on the bundled catalog', () => {
  it('a first question is searched as asked, with its own filters', () => {
    expect(resolveFollowUp({ query: 'waterproof hiking boots', filters: { category: 'shoes' } })).toEqual({
      kind: 'first',
      resolvedQuery: { query: 'waterproof hiking boots', filters: { category: 'shoes' } },
    });
  });

  it('"cheaper" shows only products cheaper than anything shown before, and again after that', async () => {
    const [first, cheaper, cheaperStill] = await converse('waterproof hiking boots', 'cheaper', 'even cheaper ones');
    expect(first.prices.length).toBeGreaterThan(0);
    expect(cheaper.resolution.kind).toBe('refine');
    expect(cheaper.resolution.resolvedQuery.query).toBe('waterproof hiking boots');
    expect(cheaper.resolution.resolvedQuery.filters.maxPrice).toBeLessThan(Math.min(...first.prices));
    expect(cheaper.prices.length).toBeGreaterThan(0);
    for (const price of cheaper.prices) expect(price).toBeLessThan(Math.min(...first.prices));
    for (const price of cheaperStill.prices) expect(price).toBeLessThan(Math.min(...cheaper.prices));
    expect(cheaper.resolution.explanation).toMatch(/^Following up on “waterproof hiking boots”: cheaper than anything shown \(\$\d+\.\d\d\)\.$/);
  });

  it('"less than that" is relative to the best match; "more expensive" to the dearest shown', async () => {
    const [first, lessThanThat] = await converse('waterproof hiking boots', 'anything less than that?');
    expect(lessThanThat.resolution.resolvedQuery.filters.maxPrice).toBe(Math.round((first.prices[0]! - 0.01) * 100) / 100);
    for (const price of lessThanThat.prices) expect(price).toBeLessThan(first.prices[0]!);

    const [start, pricier] = await converse('hiking boots', 'more expensive');
    expect(pricier.resolution.kind).toBe('refine');
    expect(pricier.prices.length).toBeGreaterThan(0);
    for (const price of pricier.prices) expect(price).toBeGreaterThan(Math.max(...start.prices));
  });

  it('"under $80" sets the bound itself and replaces a carried one', async () => {
    const [, under100, under90] = await converse('hiking boots', 'under $100', 'what about under $90');
    expect(under100.resolution.resolvedQuery).toEqual({ query: 'hiking boots', filters: { maxPrice: 100 } });
    expect(under90.resolution.resolvedQuery).toEqual({ query: 'hiking boots', filters: { maxPrice: 90 } });
    for (const price of under90.prices) expect(price).toBeLessThanOrEqual(90);
    expect(under90.prices.length).toBeGreaterThan(0);
  });

  it('carries price words of the earlier question as filters, so a later bound can move them', () => {
    const r = resolveFollowUp({ query: 'over $150', previous: previousTurn('hiking boots under $100') });
    expect(r.resolvedQuery).toEqual({ query: 'hiking boots', filters: { minPrice: 150 } });
  });

  it('adds audiences, colours and attributes to the search, and carries the price filter', async () => {
    const [, cheaper, women, black] = await converse('waterproof hiking boots', 'cheaper', "in women's sizes", 'in black please');
    const bound = cheaper.resolution.resolvedQuery.filters.maxPrice;
    expect(women.resolution.resolvedQuery).toEqual({ query: 'waterproof hiking boots for women', filters: { maxPrice: bound } });
    expect(women.answer.products.length).toBeGreaterThan(0);
    expect(women.answer.products[0]!.name).toMatch(/Women's/);
    for (const price of women.prices) expect(price).toBeLessThanOrEqual(bound!);
    expect(black.resolution.resolvedQuery).toEqual({ query: 'waterproof hiking boots for women in black', filters: { maxPrice: bound } });
    expect(black.resolution.explanation).toBe('Following up on “waterproof hiking boots for women”: in black.');
  });

  it('a new audience or colour replaces the carried one', () => {
    expect(resolveFollowUp({ query: 'for men', previous: previousTurn("waterproof hiking boots for women's") }).resolvedQuery.query).toBe('waterproof hiking boots for men');
    expect(resolveFollowUp({ query: 'in navy', previous: previousTurn('rain jacket in black for kids') }).resolvedQuery.query).toBe('rain jacket for kids in navy');
    expect(resolveFollowUp({ query: 'waterproof', previous: previousTurn('hiking boots for women') }).resolvedQuery.query).toBe('hiking boots for women waterproof');
  });

  it('"show me more" pages on through the same search: no product twice', async () => {
    const [first, more, evenMore] = await converse('hiking boots', 'show me more', 'more please');
    expect(more.resolution.kind).toBe('more');
    expect(more.resolution.resolvedQuery).toEqual({ query: 'hiking boots', filters: {}, offset: 5 });
    expect(evenMore.resolution.resolvedQuery.offset).toBe(10);
    expect(more.resolution.explanation).toBe('More results for “hiking boots”, after the 5 already shown.');
    const ids = [first, more, evenMore].flatMap((t) => t.answer.products.map((p) => p.id));
    expect(ids).toHaveLength(15);
    expect(new Set(ids).size).toBe(15);
    const next = resolveFollowUp({ query: 'next', previous: { resolvedQuery: { query: 'q', filters: {}, offset: MAX_OFFSET }, prices: [1, 2, 3] } });
    expect(next.resolvedQuery.offset).toBe(MAX_OFFSET);
  });

  it('a refinement after "show me more" starts from the first results again', async () => {
    const [, , cheaper] = await converse('hiking boots', 'show me more', 'cheaper');
    expect(cheaper.resolution.resolvedQuery.offset).toBeUndefined();
  });

  it('a new topic starts over: carried words and filters are dropped', async () => {
    const [, , tent] = await converse({ said: 'waterproof hiking boots', filters: { category: 'shoes' } }, 'cheaper', 'a camping tent for two');
    expect(tent.resolution.kind).toBe('new-topic');
    expect(tent.resolution.resolvedQuery).toEqual({ query: 'a camping tent for two', filters: {} });
    expect(tent.resolution.explanation).toBe('A new search for “a camping tent for two”.');
    expect(tent.answer.products[0]!.category).toBe('outdoor');
    expect(resolveFollowUp({ query: 'new search: coffee grinder', previous: previousTurn('boots') }).resolvedQuery.query).toBe('coffee grinder');
    expect(resolveFollowUp({ query: 'what about noise cancelling headphones', previous: previousTurn('boots') }).kind).toBe('new-topic');
  });

  it('filters sent with the question win over carried ones, key by key', () => {
    const previous = previousTurn('hiking boots', { category: 'shoes', brand: 'Alpenfold', maxPrice: 100 });
    const r = resolveFollowUp({ query: 'for women', filters: { brand: 'Northpeak', minPrice: 120 }, previous });
    expect(r.resolvedQuery).toEqual({ query: 'hiking boots for women', filters: { category: 'shoes', brand: 'Northpeak', minPrice: 120 } });
    expect(r.explanation).toMatch(/with the filters you sent\.$/);
    const cheaper = resolveFollowUp({ query: 'cheaper', filters: { maxPrice: 300 }, previous });
    expect(cheaper.resolvedQuery.filters.maxPrice).toBe(300);
  });

  it('is deterministic: the same words after the same turn resolve the same way', () => {
    const previous = previousTurn('waterproof hiking boots');
    const runs = Array.from({ length: 3 }, () => resolveFollowUp({ query: 'cheaper ones in black for women', previous }));
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
    expect(runs[0]!.resolvedQuery).toEqual({ query: 'waterproof hiking boots for women in black', filters: { maxPrice: 95.49 } });
  });

  it('words that name Object.prototype members are plain words', () => {
    for (const word of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
      const r = resolveFollowUp({ query: word, previous: previousTurn('boots') });
      expect(r.kind).toBe('new-topic');
      expect(r.resolvedQuery).toEqual({ query: word, filters: {} });
      expect(resolveFollowUp({ query: `in ${word}`, previous: previousTurn('boots') }).resolvedQuery.query).toBe(`boots ${word.toLowerCase().replaceAll('_', '')}`);
    }
  });
});
