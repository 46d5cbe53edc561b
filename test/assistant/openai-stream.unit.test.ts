import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/assistant/catalog/catalog.js';
import { EventDataParser, StreamedReply } from '../../src/assistant/providers/openai.js';
import type { AnsweredProduct } from '../../src/assistant/providers/provider.js';

const catalog = await loadCatalog(undefined);
const { CatalogProvider } = await import('../../src/assistant/providers/catalog.js');
const search = new CatalogProvider(catalog).search;
const candidates = search.search({ query: 'hiking boots', limit: 6 });

function read(pieces: string[], limit = 3) {
  const told: ({ products: AnsweredProduct[] } | { delta: string })[] = [];
  const reply = new StreamedReply(candidates, limit, { products: (products) => told.push({ products }), delta: (delta) => told.push({ delta }) });
  const afterPieces: number[] = [];
  for (const piece of pieces) {
    reply.push(piece);
    afterPieces.push(told.length);
  }
  return { answer: reply.finish(), told, afterPieces };
}

describe('a streamed reply', () => {
  const ids = candidates.hits.map((h) => h.product.id);

  it('tells the products once their line is complete, then the text as it comes; the deltas make the answer', () => {
    const { answer, told, afterPieces } = read([`  {"productIds": ["${ids[2]}", "${ids[0]}"`, ']}\n', 'The best ', 'pick', ' is a boot.  \n']);
    expect(afterPieces).toEqual([0, 1, 2, 3, 4]);
    expect(told[0]).toEqual({ products: answer.products });
    expect(answer.products.map((p) => p.id)).toEqual([ids[2], ids[0]]);
    expect(told.slice(1).map((t) => (t as { delta: string }).delta).join('')).toBe(answer.answer);
    expect(answer.answer).toBe('The best pick is a boot.');
  });

  it('plain text streams with the catalog’s best products', () => {
    const { answer, told } = read(['Try ', 'these boots.']);
    expect(answer.products.map((p) => p.id)).toEqual(ids.slice(0, 3));
    expect(told).toEqual([{ products: answer.products }, { delta: 'Try' }, { delta: ' these boots.' }]);
  });

  it('one JSON object (the older shape) is read whole, and told in one piece', () => {
    const { answer, told } = read([`{"answer": "Here.", `, `"productIds": ["${ids[1]}"]}`]);
    expect(answer).toEqual({ answer: 'Here.', products: [expect.objectContaining({ id: ids[1] })] });
    expect(told).toEqual([{ products: answer.products }, { delta: 'Here.' }]);
  });

  it('an ids line with no text gets the catalog’s sentence; an empty reply is an upstream error, not an outage', () => {
    const { answer } = read([`{"productIds": ["${ids[0]}"]}\n`, '  ']);
    expect(answer.answer).toContain(candidates.hits[0]!.product.name);
    expect(() => read(['  ', '\n'])).toThrow(expect.objectContaining({ code: 'UPSTREAM_ERROR', outage: false }));
  });
});

describe('the event-stream parser', () => {
  it('joins lines split across pieces, CRLF included, and skips comments and other fields', () => {
    const parser = new EventDataParser();
    const got = [': keep-alive\r', '\n\r\ndata: {"a"', ':1}\r', '\n\r', '\nevent: x\ndata: [DONE]\n\n'].flatMap((p) => parser.feed(p));
    expect(got).toEqual(['{"a":1}', '[DONE]']);
  });
});
