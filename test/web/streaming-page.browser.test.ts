import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireChromium } from '../support/chromium.js';
import { openDemoPage, type DemoPage } from '../support/demo-page.js';
import { providerEnv, startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.js';

// The demo page (dist/web) in the system Chromium shows an answer while the model is still
// writing it: a local chat-completions server streams the answer a word every 300 ms.

const chromiumUp = requireChromium('the demo page streaming test');

describe.skipIf(!chromiumUp)('a streamed answer on the demo page in Chromium', () => {
  let openai: FakeOpenAi;
  let demo: DemoPage;

  beforeAll(async () => {
    openai = await startFakeOpenAi();
    demo = await openDemoPage({
      STORAGE_BACKEND: 'memory',
      CACHE_BACKEND: 'memory',
      GUEST_CREDITS: '100',
      GUEST_SESSIONS_PER_IP_PER_HOUR: '1000',
      ...providerEnv(openai),
    });
  });

  afterAll(async () => {
    await demo?.close();
    await openai?.close();
  });

  it('shows the first words and the products before the answer is complete, then the whole answer', async () => {
    const { page, problems } = await demo.openPage({ context: { locale: 'en-US', viewport: { width: 1100, height: 900 } }, consent: true });

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
