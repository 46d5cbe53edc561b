import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../src/http/openapi.js';
import { requireChromium } from '../support/chromium.js';
import { openDemoPage, watchProblems, type DemoPage } from '../support/demo-page.js';

// The /docs page in Chromium under its Content-Security-Policy: its scripts are files of this
// origin (no inline script), and it renders every operation of the document.

const chromiumUp = requireChromium('the /docs page browser test');

describe.skipIf(!chromiumUp)('the /docs page in Chromium', () => {
  let demo: DemoPage;

  beforeAll(async () => {
    demo = await openDemoPage({ STORAGE_BACKEND: 'memory', CACHE_BACKEND: 'memory' });
  });

  afterAll(async () => {
    await demo?.close();
  });

  it('renders the operations list with no script error and no CSP violation', async () => {
    const context = await demo.browser.newContext();
    try {
      const page = await context.newPage();
      const problems = watchProblems(page);
      const response = await page.goto(`${demo.baseUrl}/docs`);
      expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
      await page.locator('.opblock').first().waitFor({ state: 'visible', timeout: 20_000 });

      const rendered = await page.locator('.opblock .opblock-summary-path').allTextContents();
      const documented = Object.entries(buildOpenApiDocument().paths ?? {}).flatMap(([path, item]) =>
        ['get', 'put', 'post', 'delete', 'patch'].filter((m) => (item as Record<string, unknown>)[m]).map(() => path),
      );
      expect(rendered.map((p) => p.replace(/\u200b/g, '').trim()).sort()).toEqual(documented.sort());
      expect(await page.locator('.opblock-summary-method').first().textContent()).toMatch(/^(GET|PUT|POST|DELETE|PATCH)$/);
      expect(await page.locator('.info .title').textContent()).toContain('ShopAssist API');
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
