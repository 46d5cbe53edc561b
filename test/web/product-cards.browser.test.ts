import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireChromium } from '../support/chromium.js';
import { ask, openDemoPage, type DemoPage } from '../support/demo-page.js';

// Product cards carry the shop's link and picture where the product has them, and say when a
// product is out of stock. The pictures' host is answered by the browser context itself (a
// tiny SVG), so the test needs no network.

const chromiumUp = requireChromium('the product card browser tests');
const PICTURE = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"><rect width="40" height="30" fill="#2444c4"/></svg>';

const products = [
  { id: 'k-1', name: 'Gooseneck Electric Kettle', brand: 'Brewline', category: 'kitchen', price: 49.99, currency: 'USD', tags: ['kettle'], rating: 4.8, url: 'https://shop.example.com/products/k-1', imageUrl: 'https://images.shop.example.com/k-1.svg' },
  { id: 'k-2', name: 'Glass Electric Kettle', brand: 'Brewline', category: 'kitchen', price: 39.99, currency: 'USD', tags: ['kettle'], rating: 4.5, url: 'https://shop.example.com/products/k-2' },
  { id: 'k-3', name: 'Travel Electric Kettle', brand: 'Brewline', category: 'kitchen', price: 29.99, currency: 'USD', tags: ['kettle'], rating: 4.1 },
  { id: 'k-4', name: 'Steel Electric Kettle', brand: 'Brewline', category: 'kitchen', price: 59.99, currency: 'USD', tags: ['kettle'], rating: 4.9, inStock: false },
];

describe.skipIf(!chromiumUp)('product cards in Chromium', () => {
  let dir: string;
  let demo: DemoPage;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'shopassist-cards-'));
    const catalogPath = path.join(dir, 'products.json');
    writeFileSync(catalogPath, JSON.stringify({ products }));
    demo = await openDemoPage({ STORAGE_BACKEND: 'memory', CACHE_BACKEND: 'memory', CATALOG_PATH: catalogPath, GUEST_SESSIONS_PER_IP_PER_HOUR: '1000' });
  });

  afterAll(async () => {
    await demo?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('links the name to the product page, shows the picture where there is one, and hides out-of-stock products', async () => {
    const { page, problems } = await demo.openPage({
      prepare: (context) => context.route('https://images.shop.example.com/**', (route) => route.fulfill({ status: 200, contentType: 'image/svg+xml', body: PICTURE })),
      consent: true,
    });
    await ask(page, 'electric kettle');

    const cards = page.locator('#products > li');
    // The steel kettle is out of stock: not recommended unless asked for.
    expect(await cards.count()).toBe(3);
    const byName = (name: string) => cards.filter({ hasText: name });

    const first = byName('Gooseneck Electric Kettle');
    const link = first.getByRole('link', { name: 'Gooseneck Electric Kettle' });
    expect(await link.getAttribute('href')).toBe('https://shop.example.com/products/k-1');
    expect(await link.getAttribute('rel')).toBe('noopener noreferrer');
    const image = first.locator('img.product-image');
    expect(await image.getAttribute('src')).toBe('https://images.shop.example.com/k-1.svg');
    expect(await image.getAttribute('alt')).toBe('');
    await image.scrollIntoViewIfNeeded();
    await expect.poll(() => image.evaluate((img) => { const i = img as unknown as { complete: boolean; naturalWidth: number }; return i.complete && i.naturalWidth; })).toBe(40);

    const second = byName('Glass Electric Kettle');
    expect(await second.getByRole('link', { name: 'Glass Electric Kettle' }).getAttribute('href')).toBe('https://shop.example.com/products/k-2');
    expect(await second.locator('img').count()).toBe(0);

    const third = byName('Travel Electric Kettle');
    expect(await third.locator('a').count()).toBe(0);
    expect(await third.locator('.product-name').textContent()).toBe('Travel Electric Kettle');
    expect(await third.locator('img').count()).toBe(0);
    expect(await page.locator('.product-stock').count()).toBe(0);
    expect(problems).toEqual([]);
  });
});
