import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireChromium } from '../support/chromium.js';
import { ask, openDemoPage, text, type DemoPage } from '../support/demo-page.js';

// A conversation on the demo page (dist/web) in the system Chromium: follow-ups below the earlier
// turns, the resolved search as chips, a chip removed, a new conversation and a forgotten one.

const chromiumUp = requireChromium('the demo page conversation tests');

describe.skipIf(!chromiumUp)('a conversation on the demo page in Chromium', () => {
  let demo: DemoPage;

  beforeAll(async () => {
    demo = await openDemoPage({ STORAGE_BACKEND: 'memory', CACHE_BACKEND: 'memory', GUEST_CREDITS: '100', GUEST_SESSIONS_PER_IP_PER_HOUR: '1000' });
  });

  afterAll(async () => {
    await demo?.close();
  });

  const openPage = () => demo.openPage({ context: { locale: 'en-US', viewport: { width: 1100, height: 900 } }, consent: true });
  const texts = (page: Page, selector: string) => page.locator(selector).allTextContents();
  const prices = async (page: Page) => (await texts(page, '#products .product-price')).map((p) => Number(p.replace(/[$,]/g, '')));

  it('asks three turns: earlier ones above, the resolved search as chips; a removed chip asks again without it', async () => {
    const { page, problems } = await openPage();
    await ask(page, 'waterproof hiking boots');
    expect(await page.locator('#conversation').isVisible()).toBe(true);
    expect(await page.locator('#thread > li').count()).toBe(0);
    expect(await texts(page, '#chips .chip')).toEqual(['“waterproof hiking boots”']);
    const first = await prices(page);

    await ask(page, 'cheaper');
    expect(await texts(page, '#thread .turn-question')).toEqual(['waterproof hiking boots']);
    expect(await text(page, '#answer')).toMatch(/^Following up on “waterproof hiking boots”: cheaper than anything shown/);
    for (const price of await prices(page)) expect(price).toBeLessThan(Math.min(...first));
    const chips = await texts(page, '#chips .chip');
    expect(chips[0]).toBe('“waterproof hiking boots”');
    expect(chips[1]).toMatch(/^Up to \$\d+\.\d\d×$/);

    await ask(page, 'for women');
    expect(await texts(page, '#thread .turn-question')).toEqual(['waterproof hiking boots', 'cheaper']);
    expect((await texts(page, '#chips .chip'))[0]).toBe('“waterproof hiking boots for women”');
    expect(await text(page, '#results-title')).toMatch(/for “for women”$/);
    await page.screenshot({ path: 'test-results/screenshots/20-conversation-three-turns.png', fullPage: true }).catch(() => {});

    // Removing the price chip asks the same words again without it, as a new conversation.
    await page.getByRole('button', { name: /^Remove Up to/ }).click();
    await page.locator('#search-form:not([aria-busy])').waitFor();
    expect(await texts(page, '#chips .chip')).toEqual(['“waterproof hiking boots for women”']);
    expect(await page.locator('#thread > li').count()).toBe(0);
    expect(problems).toEqual([]);
  });

  it('"Forget this conversation" deletes it on the server; the next question starts a new one', async () => {
    const { page, problems } = await openPage();
    await ask(page, 'hiking boots');
    await ask(page, 'cheaper');
    const token = String(await page.evaluate("localStorage.getItem('shopassist.guestToken')"));

    const deleted = page.waitForResponse((res) => res.request().method() === 'DELETE' && /\/api\/v1\/conversations\//.test(res.url()));
    await page.getByRole('button', { name: 'Forget this conversation' }).click();
    const response = await deleted;
    expect(response.status()).toBe(204);
    const id = decodeURIComponent(response.url().split('/').at(-1)!);
    const gone = await fetch(`${demo.baseUrl}/api/v1/conversations/${encodeURIComponent(id)}`, { headers: { Authorization: `Bearer ${token}` } });
    expect(gone.status).toBe(404);
    expect(await text(page, '#message')).toBe('This conversation is forgotten.');
    expect(await page.locator('#conversation').isHidden()).toBe(true);

    await ask(page, 'cheaper');
    expect(await text(page, '#answer')).not.toMatch(/^Following up/);
    expect(await page.locator('#thread > li').count()).toBe(0);

    await page.getByRole('button', { name: 'New conversation' }).click();
    expect(await page.locator('#conversation').isHidden()).toBe(true);
    expect(problems).toEqual([]);
  });
});
