import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { launchChromium, requireChromium } from '../support/chromium.js';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.js';

// The demo page (dist/web) in the system Chromium shows an answer while the model is still
// writing it: a local chat-completions server streams the answer a word every 300 ms.

const chromiumUp = requireChromium('the demo page streaming test');

describe.skipIf(!chromiumUp)('a streamed answer on the demo page in Chromium', () => {
  let openai: FakeOpenAi;
  let app: TestApp;
  let server: Server;
  let baseUrl: string;
  let browser: Browser;
  let context: BrowserContext | undefined;

  beforeAll(async () => {
    openai = await startFakeOpenAi();
    app = await createTestApp({
      STORAGE_BACKEND: 'memory',
      CACHE_BACKEND: 'memory',
      GUEST_CREDITS: '100',
      GUEST_SESSIONS_PER_IP_PER_HOUR: '1000',
      ASSISTANT_PROVIDER: 'openai',
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_MODEL: 'test-model',
    });
    server = app.app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await context?.close().catch(() => {});
    await browser?.close();
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await app?.close();
    await openai?.close();
  });

  it('shows the first words and the products before the answer is complete, then the whole answer', async () => {
    context = await browser.newContext({ locale: 'en-US', viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    await page.goto(`${baseUrl}/`);
    await page.getByLabel('I accept the terms of use').check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel('Your question').waitFor();

    openai.mode = { kind: 'trickle', delayMs: 300 };
    await page.getByLabel('Your question').fill('hiking boots');
    await page.getByRole('button', { name: 'Search' }).click();

    // Part of the answer is on screen while the question is still being answered.
    await page.locator('#answer[data-writing]:not(:empty)').waitFor({ timeout: 10_000 });
    const partial = ((await page.locator('#answer').textContent()) ?? '').trim();
    expect(await page.locator('#search-form').getAttribute('aria-busy')).not.toBeNull();
    expect(await page.locator('#products > *').count()).toBeGreaterThan(0);
    await page.screenshot({ path: 'test-results/screenshots/21-answer-streaming.png', fullPage: true }).catch(() => {});

    await page.locator('#search-form:not([aria-busy])').waitFor({ timeout: 10_000 });
    const whole = ((await page.locator('#answer').textContent()) ?? '').trim();
    expect(whole).toBe('Here are the products that fit best.');
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.length).toBeLessThan(whole.length);
    expect(whole.startsWith(partial)).toBe(true);
    expect(await page.locator('#answer').getAttribute('data-writing')).toBeNull();
    expect(problems).toEqual([]);
  });
});
