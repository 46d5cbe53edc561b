import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../src/http/openapi.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { launchChromium, requireChromium } from '../support/chromium.js';

// The /docs page in Chromium under its Content-Security-Policy: its scripts are files of this
// origin (no inline script), and it renders every operation of the document.

const chromiumUp = requireChromium('the /docs page browser test');

describe.skipIf(!chromiumUp)('the /docs page in Chromium', () => {
  let app: TestApp;
  let server: Server;
  let baseUrl: string;
  let browser: Browser;

  beforeAll(async () => {
    app = await createTestApp({ STORAGE_BACKEND: 'memory', CACHE_BACKEND: 'memory' });
    server = app.app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await app?.close();
  });

  it('renders the operations list with no script error and no CSP violation', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
      page.on('console', (message) => {
        if (/Content Security Policy|Refused to/i.test(message.text())) problems.push(`console: ${message.text()}`);
      });
      const response = await page.goto(`${baseUrl}/docs`);
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
