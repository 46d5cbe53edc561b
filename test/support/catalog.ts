import type { CatalogProductInput } from '../../src/assistant/catalog/catalog.js';

/** Small catalogs for the catalog tests: products that differ in whatever a test needs. */

export type TestProduct = CatalogProductInput;

/** `n` kettles of one brand at one price: a catalog whose every answer shows which upload it came from. */
export function kettles(n: number, brand: string, price: number): TestProduct[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `kettle-${String(i).padStart(5, '0')}`,
    name: `${brand} Electric Kettle ${i}`,
    brand,
    category: 'kitchen',
    price,
    currency: 'USD',
    description: 'An electric kettle that boils water fast.',
    tags: ['kettle', 'kitchen'],
    rating: 4,
    url: `https://shop.example/p/kettle-${i}`,
  }));
}

export const asJson = (products: TestProduct[]) => JSON.stringify({ products });
export const asNdjson = (products: TestProduct[]) => products.map((p) => JSON.stringify(p)).join('\n') + '\n';

const CSV_FIELDS = ['id', 'name', 'brand', 'category', 'price', 'currency', 'description', 'tags', 'rating', 'url', 'imageUrl', 'inStock'] as const;

function csvCell(value: unknown): string {
  const text = Array.isArray(value) ? value.join('|') : value === undefined ? '' : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function asCsv(products: TestProduct[]): string {
  const rows = products.map((p) => CSV_FIELDS.map((f) => csvCell(p[f])).join(','));
  return [CSV_FIELDS.join(','), ...rows].join('\r\n') + '\r\n';
}
