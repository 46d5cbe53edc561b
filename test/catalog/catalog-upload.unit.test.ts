import { describe, expect, it } from 'vitest';
import { readUpload, UploadShapeError, uploadFormatOf, type UploadFormat, type UploadItem } from '../../src/catalog/catalog-upload.js';

/** Feeds `text` in chunks of `size` bytes (cutting through characters, strings and lines). */
async function read(text: string, format: UploadFormat, size: number): Promise<UploadItem[]> {
  const bytes = Buffer.from(text, 'utf8');
  async function* chunks() {
    for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
  }
  const items: UploadItem[] = [];
  for await (const item of readUpload(chunks(), format)) items.push(item);
  return items;
}

const SIZES = [1, 3, 7, 64, 100_000];
const tricky = { id: 'a', name: 'Boot "Trail" {x} [y], \\ é 🥾', tags: ['a,b', ']'], nested: { deep: [1, { two: '}' }] } };

describe('reading a catalog upload as it streams', () => {
  for (const size of SIZES) {
    it(`JSON in chunks of ${size}: each element of "products", whatever the other keys and the text inside strings`, async () => {
      const body = `\uFEFF{"name": "products [not these]", "products" : [ ${JSON.stringify(tricky)} ,\n {"id":"b"}, 42, "text", null ], "seed": {"products": [{"id": "ignored"}]}}  \n`.replace('\uFEFF', '');
      const items = await read(body, 'json', size);
      expect(items).toEqual([
        { where: 'products[0]', value: tricky },
        { where: 'products[1]', value: { id: 'b' } },
        { where: 'products[2]', value: 42 },
        { where: 'products[3]', value: 'text' },
        { where: 'products[4]', value: null },
      ]);
    });

    it(`NDJSON in chunks of ${size}: one product a line, blank lines skipped, line numbers kept`, async () => {
      const body = `${JSON.stringify(tricky)}\r\n\n{"id":"b"}\n{"id": "broken"\n{"id":"c"}`;
      const items = await read(body, 'ndjson', size);
      expect(items.map((i) => i.where)).toEqual(['line 1', 'line 3', 'line 4', 'line 5']);
      expect(items[0]).toEqual({ where: 'line 1', value: tricky });
      expect('unreadable' in items[2]).toBe(true);
      expect(items[3]).toEqual({ where: 'line 5', value: { id: 'c' } });
    });

    it(`CSV in chunks of ${size}: quoted cells with commas, quotes and line breaks; tags split on |`, async () => {
      const body = 'id,name,brand,category,price,currency,tags,rating,inStock,url\r\n' + 'p1,"Boot ""Trail"", tall",B,shoes,89.99,USD,boots|hiking,4.5,false,\r\n' + 'p2,"Two\nlines",B,shoes,10,USD,,,,https://shop.example/p2\n' + 'p3,x,B,shoes,abc,USD,,,maybe,\n';
      const items = await read(body, 'csv', size);
      expect(items).toEqual([
        { where: 'line 2', value: { id: 'p1', name: 'Boot "Trail", tall', brand: 'B', category: 'shoes', price: 89.99, currency: 'USD', tags: ['boots', 'hiking'], rating: 4.5, inStock: false } },
        { where: 'line 3', value: { id: 'p2', name: 'Two\nlines', brand: 'B', category: 'shoes', price: 10, currency: 'USD', tags: [], url: 'https://shop.example/p2' } },
        { where: 'line 5', value: { id: 'p3', name: 'x', brand: 'B', category: 'shoes', price: 'abc', currency: 'USD', tags: [], inStock: 'maybe' } },
      ]);
    });
  }

  it('a body of the wrong shape as a whole is an UploadShapeError naming where', async () => {
    await expect(read('[{"id": 1}]', 'json', 64)).rejects.toThrow(UploadShapeError);
    await expect(read('{"items": []}', 'json', 64)).rejects.toThrow(/"products" array is required/);
    await expect(read('{"products": [{"id": 1}', 'json', 64)).rejects.toThrow(/ends before/);
    await expect(read('', 'json', 64)).rejects.toThrow(/empty/);
    await expect(read('id,name\n', 'csv', 64)).rejects.toThrow(/lacks brand, category, price, currency/);
    await expect(read('id,"unclosed\n', 'csv', 64)).rejects.toThrow(UploadShapeError);
    await expect(read('', 'csv', 64)).rejects.toThrow(/header row/);
    const notUtf8 = readUpload((async function* () { yield Buffer.from([0x7b, 0xff, 0xfe]); })(), 'json');
    await expect(notUtf8.next()).rejects.toThrow(/UTF-8/);
  });

  it('a CSV row with another number of cells than the header is named by its line', async () => {
    const items = await read('id,name,brand,category,price,currency\np1,a,b,c,1\n', 'csv', 64);
    expect(items).toEqual([{ where: 'line 2', unreadable: '5 cells where the header has 6' }]);
  });

  it('knows the three content types', () => {
    expect(uploadFormatOf('application/json; charset=utf-8')).toBe('json');
    expect(uploadFormatOf('application/x-ndjson')).toBe('ndjson');
    expect(uploadFormatOf('text/csv')).toBe('csv');
    expect(uploadFormatOf('text/plain')).toBeUndefined();
    expect(uploadFormatOf(undefined)).toBeUndefined();
  });
});
