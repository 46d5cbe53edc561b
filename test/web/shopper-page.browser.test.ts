import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireChromium } from '../support/chromium.js';
import { acceptConsent, ask, openDemoPage, text, type DemoPage } from '../support/demo-page.js';

// The demo page (dist/web, built by the project's global setup) in the system Chromium, against
// a listening app whose every API response is checked against the OpenAPI document. Guests get
// 2 credits, a fresh answer costs 2 and a cached one 0: one fresh answer spends the whole
// allowance, a repeat is still answered (free, from the cache), and the next new question is
// refused, so the shopper's whole story takes three questions.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SCREENSHOTS = path.join(ROOT, 'test-results', 'screenshots');
const TIME_ZONE = 'America/New_York';

const chromiumUp = requireChromium('the demo page browser tests');

describe.skipIf(!chromiumUp)('the demo shopper page in Chromium', () => {
  let demo: DemoPage;

  beforeAll(async () => {
    demo = await openDemoPage({
      STORAGE_BACKEND: 'memory',
      CACHE_BACKEND: 'memory',
      GUEST_CREDITS: '2',
      QUERY_COST: '2',
      CACHED_QUERY_COST: '0',
      GUEST_SESSIONS_PER_IP_PER_HOUR: '1000',
    });
    await mkdir(SCREENSHOTS, { recursive: true });
  });

  afterAll(async () => {
    await demo?.close();
  });

  /** A fresh browser profile (so a new guest) in en-US and New York time; `problems` collects script errors and CSP violations. */
  function openPage(options: { init?: string; before?: (page: Page) => Promise<unknown> } = {}): Promise<{ page: Page; problems: string[] }> {
    const { init, before } = options;
    return demo.openPage({
      context: { locale: 'en-US', timezoneId: TIME_ZONE, viewport: { width: 1100, height: 800 } },
      prepare: init ? (context) => context.addInitScript(init) : undefined,
      before,
    });
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  const focusedId = (page: Page) => page.evaluate('document.activeElement ? document.activeElement.id : null');
  const token = async (page: Page) => String(await page.evaluate("localStorage.getItem('shopassist.guestToken')"));

  async function api(page: Page, route: string): Promise<Record<string, unknown>> {
    const res = await fetch(`${demo.baseUrl}${route}`, { headers: { Authorization: `Bearer ${await token(page)}` } });
    return (await res.json()) as Record<string, unknown>;
  }

  /** "9:15 AM" for an ISO time, as a shopper in TIME_ZONE reads it. */
  const localTime = (iso: string) => new Intl.DateTimeFormat('en-US', { timeZone: TIME_ZONE, hour: 'numeric', minute: '2-digit' }).format(new Date(iso));

  it('a guest accepts consent, asks three questions (one repeated, shown as cached), spends the allowance to zero and sees when credits come back', async () => {
    const { page, problems } = await openPage();
    const questions: string[] = [];
    const asked = async (question: string) => {
      questions.push(question);
      await ask(page, question);
    };

    // Consent first, once.
    await page.getByRole('heading', { name: 'Before you start' }).waitFor();
    expect(await focusedId(page)).toBe('consent-title');
    expect(await page.locator('#search').isHidden()).toBe(true);
    await expect.poll(() => text(page, '#credits')).toMatch(/^2 of 2 credits left, resets /);
    await shot(page, '01-consent');

    await page.getByLabel('Send me offers and news').check();
    await acceptConsent(page);
    expect(await focusedId(page)).toBe('question');
    expect(await api(page, '/api/v1/consent')).toMatchObject({ termsAccepted: true, marketingConsent: true });
    const { resetsAt } = (await api(page, '/api/v1/credits')) as { resetsAt: string };
    const resets = `resets tomorrow at ${localTime(resetsAt)}`;
    expect(await text(page, '#credits')).toBe(`2 of 2 credits left, ${resets}`);
    await shot(page, '02-ready');

    // Question 1, a fresh answer: product cards, and the allowance spent down to zero.
    await asked('waterproof hiking boots');
    expect(await text(page, '#results-title')).toMatch(/^\d+ products? for “waterproof hiking boots”$/);
    expect(await focusedId(page)).toBe('results-title');
    expect(await page.locator('#cache-marker').isHidden()).toBe(true);
    const cards = page.locator('#products > li');
    expect(await cards.count()).toBe(5);
    for (const card of await cards.all()) {
      expect(await card.locator('.product-name').textContent()).toBeTruthy();
      expect(await card.locator('.product-brand').textContent()).toBeTruthy();
      expect(await card.locator('.product-category').textContent()).toBeTruthy();
      expect(await card.locator('.product-price').textContent()).toMatch(/^\$\d[\d,]*\.\d\d$/);
      expect(await card.locator('.relevance').textContent()).toMatch(/^Relevance \d{1,3}%$/);
    }
    expect(await text(page, '#message')).toBe('Found 5 products. 2 credits used.');
    expect(await text(page, '#credits')).toBe(`0 of 2 credits left, ${resets}`);
    await shot(page, '03-first-answer-allowance-spent');

    // Question 2 repeats question 1 (other case and spacing): the cached answer, marked, free even at zero.
    await asked('Waterproof  hiking boots');
    expect(await page.locator('#cache-marker').isVisible()).toBe(true);
    expect(await text(page, '#cache-marker')).toBe('Cached answer · no credit used');
    expect(await text(page, '#message')).toBe('Found 5 products. Cached answer: no credit used.');
    expect(await cards.count()).toBe(5);
    expect(await text(page, '#credits')).toBe(`0 of 2 credits left, ${resets}`);
    await shot(page, '04-cached-answer');

    // Question 3, a new one: out of credits, and when they come back, in local time.
    await asked('wireless headphones');
    expect(await text(page, '#message .message-title')).toBe('You have used all your credits.');
    expect(await text(page, '#message .message-text')).toMatch(
      new RegExp(`^A fresh answer needs 2 credits and you have 0 left\\. Your credits come back tomorrow at ${localTime(resetsAt)} \\(in (23|24) h( \\d+ min)?\\)\\.$`),
    );
    expect(await page.locator('#message').getAttribute('aria-live')).toBe('polite');
    expect(await focusedId(page)).toBe('message');
    expect(await text(page, '#credits')).toBe(`0 of 2 credits left, ${resets}`);
    await shot(page, '05-out-of-credits');

    // Three questions, one charge: the cached repeat and the refused question cost nothing.
    expect(questions).toHaveLength(3);
    expect(await api(page, '/api/v1/credits')).toMatchObject({ available: 0, max: 2 });
    const { items } = (await api(page, '/api/v1/credits/transactions')) as { items: { type: string; amount: number }[] };
    expect(items.map((t) => [t.type, t.amount])).toEqual([
      ['debit', -2],
      ['grant', 2],
    ]);
    expect(problems).toEqual([]);
  });

  it('works with the keyboard alone: consent, a question with filters, the results; consent is asked once', async () => {
    const { page, problems } = await openPage();
    await page.getByRole('heading', { name: 'Before you start' }).waitFor();

    await page.keyboard.press('Tab');
    expect(await focusedId(page)).toBe('terms');
    // A visible focus indicator on controls.
    expect(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).not.toBe('none');
    await page.keyboard.press('Tab');
    expect(await focusedId(page)).toBe('marketing');
    await page.keyboard.press('Tab');
    expect(await focusedId(page)).toBe('consent-submit');
    // Continue without the terms: told why, and taken back to the checkbox.
    await page.keyboard.press('Enter');
    expect(await text(page, '#message .message-title')).toBe('Please accept the terms of use to continue.');
    expect(await focusedId(page)).toBe('terms');
    expect(await page.locator('#terms').getAttribute('aria-invalid')).toBe('true');
    await page.keyboard.press('Space');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByLabel('Your question').waitFor();
    expect(await focusedId(page)).toBe('question');

    await page.keyboard.type('trail running shoes');
    const order: unknown[] = [];
    for (let i = 0; i < 6; i += 1) {
      await page.keyboard.press('Tab');
      order.push(await focusedId(page));
    }
    expect(order).toEqual(['search-button', 'category', 'brand', 'min-price', 'max-price', 'limit']);
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.type('120');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    expect(await focusedId(page)).toBe('category');
    await page.keyboard.type('shoes');
    await page.keyboard.press('Escape'); // closes the category suggestions
    await page.keyboard.press('Enter'); // submits the form from a field
    await page.locator('#results-title:focus').waitFor();
    expect(await text(page, '#results-title')).toMatch(/for “trail running shoes”$/);
    const prices = await page.locator('.product-price').allTextContents();
    expect(prices.length).toBeGreaterThan(0);
    for (const price of prices) expect(Number(price.replace(/[$,]/g, ''))).toBeLessThanOrEqual(120);
    expect(new Set(await page.locator('.product-category').allTextContents())).toEqual(new Set(['shoes']));
    await shot(page, '06-keyboard-results');

    // Consent is remembered: a reload goes straight to the search; the skip link leads into the page.
    await page.reload();
    await page.getByLabel('Your question').waitFor();
    expect(await page.locator('#consent').isHidden()).toBe(true);
    await page.keyboard.press('Tab');
    expect(await focusedId(page)).toBe('skip-link');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    expect(await focusedId(page)).toBe('question');
    expect(problems).toEqual([]);
  });

  it('announces errors in the live status line, naming the field or the wait, and moves focus to them', async () => {
    const { page, problems } = await openPage();
    await acceptConsent(page);
    const status = page.locator('#message');
    expect(await status.getAttribute('role')).toBe('status');
    expect(await status.getAttribute('aria-live')).toBe('polite');

    // The API's validation answer, shown against the field it names.
    await page.getByLabel('Min price').fill('100');
    await page.getByLabel('Max price').fill('10');
    await ask(page, 'hiking boots');
    expect(await text(page, '#message .message-title')).toBe('Please check “Min price”.');
    expect(await page.getByLabel('Min price').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByLabel('Min price').getAttribute('aria-describedby')).toContain('message');
    expect(await focusedId(page)).toBe('min-price');
    await shot(page, '07-error-validation');
    await page.getByLabel('Min price').fill('');
    await page.getByLabel('Max price').fill('');

    // No network at all.
    await page.route('**/api/v1/assistant/query', (route) => route.abort('internetdisconnected'));
    await ask(page, 'hiking boots');
    expect(await text(page, '#message .message-title')).toBe('The shop cannot be reached.');
    expect(await focusedId(page)).toBe('message');
    expect(await page.getByLabel('Min price').getAttribute('aria-invalid')).toBeNull();
    await shot(page, '08-error-network');
    await page.unroute('**/api/v1/assistant/query');

    // The contract's other failures, as the API sends them.
    const failures: { status: number; code: string; headers: Record<string, string>; title: string; text: string }[] = [
      { status: 429, code: 'RATE_LIMITED', headers: { 'Retry-After': '12' }, title: 'That was a lot of requests in a short time.', text: 'Please try again in 12 s.' },
      { status: 503, code: 'SERVICE_UNAVAILABLE', headers: { 'Retry-After': '30' }, title: 'The shop assistant is unavailable right now.', text: 'No credits were used. Please try again in 30 s.' },
      { status: 502, code: 'UPSTREAM_ERROR', headers: {}, title: 'Finding products failed on our side.', text: 'No credits were used. Please try again.' },
      { status: 504, code: 'UPSTREAM_TIMEOUT', headers: {}, title: 'Finding products took too long.', text: 'No credits were used. Please try again in a moment.' },
    ];
    for (const failure of failures) {
      const requestId = `req-${failure.code.toLowerCase()}`;
      await page.route('**/api/v1/assistant/query', (route) =>
        route.fulfill({
          status: failure.status,
          headers: { 'X-Request-Id': requestId, ...failure.headers },
          contentType: 'application/json; charset=utf-8',
          body: JSON.stringify({ error: { code: failure.code, message: 'The server says so.', requestId } }),
        }),
      );
      await ask(page, 'hiking boots');
      expect(await text(page, '#message .message-title'), failure.code).toBe(failure.title);
      expect(await text(page, '#message .message-text'), failure.code).toBe(failure.text);
      expect(await focusedId(page), failure.code).toBe('message');
      await shot(page, `09-error-${failure.code.toLowerCase().replace(/_/g, '-')}`);
      await page.unroute('**/api/v1/assistant/query');
    }
    expect(problems).toEqual([]);
  });

  it('says so when the shop cannot be reached at load, and Try again recovers', async () => {
    const { page, problems } = await openPage({ before: (p) => p.route('**/api/v1/**', (route) => route.abort('connectionrefused')) });
    await page.locator('#message .message-title').waitFor();
    expect(await text(page, '#message .message-title')).toBe('The shop cannot be reached.');
    expect(await focusedId(page)).toBe('message');
    expect(await page.locator('#consent').isHidden()).toBe(true);
    await shot(page, '10-error-offline-at-load');
    await page.unroute('**/api/v1/**');
    await page.getByRole('button', { name: 'Try again' }).click();
    await page.getByRole('heading', { name: 'Before you start' }).waitFor();
    await expect.poll(() => text(page, '#credits')).toMatch(/^2 of 2 credits left/);
    expect(problems).toEqual([]);
  });

  it('starts a fresh guest session when the stored token is no longer accepted (e.g. a new SESSION_SECRET)', async () => {
    const stale = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJndWVzdF9vbGQifQ.bm90LXZhbGlk';
    const { page, problems } = await openPage({ init: `if (!sessionStorage.getItem('seeded')) { localStorage.setItem('shopassist.guestToken', '${stale}'); sessionStorage.setItem('seeded', '1'); }` });
    await page.getByRole('heading', { name: 'Before you start' }).waitFor();
    const fresh = await token(page);
    expect(fresh).not.toBe(stale);
    expect(await api(page, '/api/v1/credits')).toMatchObject({ isGuest: true, available: 2 });
    await expect.poll(() => text(page, '#credits')).toMatch(/^2 of 2 credits left/);
    expect(problems).toEqual([]);
  });
});
