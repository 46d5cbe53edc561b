import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cacheKey, normalizeText, type CacheKeyContext } from '../../src/cache/cache-key.js';

const ctx: CacheKeyContext = { provider: 'catalog', model: null, catalogVersion: 'c0ffee' };
const key = (request: Parameters<typeof cacheKey>[0], context = ctx) => cacheKey(request, context);

describe('cache key', () => {
  it('is a fixed-length sha256 hex digest whatever the query length', () => {
    expect(key({ query: 'a' })).toMatch(/^[0-9a-f]{64}$/);
    expect(key({ query: 'x'.repeat(500) })).toMatch(/^[0-9a-f]{64}$/);
  });

  it('ignores letter case of the query', () => {
    expect(key({ query: 'Waterproof Hiking BOOTS' })).toBe(key({ query: 'waterproof hiking boots' }));
  });

  it('ignores leading, trailing and repeated inner white space, Unicode white space included', () => {
    const plain = key({ query: 'hiking boots' });
    expect(key({ query: '  hiking   boots\t' })).toBe(plain);
    expect(key({ query: '\u3000hiking\u00a0\n boots\u2003' })).toBe(plain);
  });

  it('treats NFC and NFD spellings of one text as the same query', () => {
    const nfc = 'caf\u00e9 cr\u00e8me';
    const nfd = nfc.normalize('NFD');
    expect(nfd).not.toBe(nfc);
    expect(key({ query: nfd })).toBe(key({ query: nfc }));
  });

  it('keeps different words apart', () => {
    expect(key({ query: 'hiking boots' })).not.toBe(key({ query: 'hikingboots' }));
    expect(key({ query: 'red shoes' })).not.toBe(key({ query: 'blue shoes' }));
  });

  it('does not depend on the order of filter keys', () => {
    const a = key({ query: 'q', filters: { category: 'shoes', brand: 'Acme', minPrice: 0, maxPrice: 150 } });
    const b = key({ query: 'q', filters: { maxPrice: 150, minPrice: 0, brand: 'Acme', category: 'shoes' } });
    expect(a).toBe(b);
  });

  it('normalises category and brand like the query', () => {
    const a = key({ query: 'q', filters: { category: '  SHOES ', brand: 'Acme  Outdoor' } });
    const b = key({ query: 'q', filters: { category: 'shoes', brand: 'acme outdoor' } });
    expect(a).toBe(b);
  });

  it('treats empty filters as no filters, and absent keys as absent', () => {
    expect(key({ query: 'q', filters: {} })).toBe(key({ query: 'q' }));
    expect(key({ query: 'q', filters: { brand: undefined } })).toBe(key({ query: 'q' }));
  });

  it('keeps different filter values apart, a price of 0 included', () => {
    const base = key({ query: 'q' });
    expect(key({ query: 'q', filters: { minPrice: 0 } })).not.toBe(base);
    expect(key({ query: 'q', filters: { maxPrice: 100 } })).not.toBe(key({ query: 'q', filters: { maxPrice: 150 } }));
    expect(key({ query: 'q', filters: { category: 'shoes' } })).not.toBe(key({ query: 'q', filters: { brand: 'shoes' } }));
  });

  it('keeps out-of-stock questions apart; inStock: true is the default (in-stock only)', () => {
    const base = key({ query: 'q' });
    expect(key({ query: 'q', filters: { inStock: false } })).not.toBe(base);
    expect(key({ query: 'q', filters: { inStock: true } })).toBe(base);
  });

  it('counts an omitted limit as 5', () => {
    expect(key({ query: 'q' })).toBe(key({ query: 'q', limit: 5 }));
    expect(key({ query: 'q', limit: 6 })).not.toBe(key({ query: 'q' }));
  });

  it('keeps the next results of a search ("show me more") apart, and a first page under its usual key', () => {
    const first = key({ query: 'hiking boots', limit: 5 });
    expect(key({ query: 'hiking boots', limit: 5, offset: 0 })).toBe(first);
    expect(key({ query: 'hiking boots', limit: 5, offset: 5 })).not.toBe(first);
    expect(key({ query: 'hiking boots', limit: 5, offset: 5 })).not.toBe(key({ query: 'hiking boots', limit: 5, offset: 10 }));
    // The key shape before pages existed: entries written then are still found.
    expect(first).toBe(createHash('sha256').update(JSON.stringify([1, 'hiking boots', {}, 5, 'catalog', null, 'c0ffee'])).digest('hex'));
  });

  it('changes with the provider, the model and the catalog version', () => {
    const base = key({ query: 'q' });
    expect(key({ query: 'q' }, { ...ctx, provider: 'openai' })).not.toBe(base);
    expect(key({ query: 'q' }, { ...ctx, model: 'gpt-4o-mini' })).not.toBe(base);
    expect(key({ query: 'q' }, { ...ctx, model: 'gpt-4o-mini' })).not.toBe(key({ query: 'q' }, { ...ctx, model: 'gpt-4o' }));
    expect(key({ query: 'q' }, { ...ctx, catalogVersion: 'beef' })).not.toBe(base);
  });

  it('normalises text as the contract says', () => {
    expect(normalizeText('  A\u0301b  C \t')).toBe('\u00e1b c');
  });
});
