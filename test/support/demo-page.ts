import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { launchChromium } from './chromium.js';
import { serveApp, type ServedApp } from './client-server.js';

export interface OpenPageOptions {
  /** The browser profile: en-US in a 1100×800 window unless given. */
  context?: BrowserContextOptions;
  /** Runs on the new context before its page opens (init scripts, routes of other hosts). */
  prepare?: (context: BrowserContext) => Promise<unknown>;
  /** Runs on the page before it loads. */
  before?: (page: Page) => Promise<unknown>;
  /** Accepts the terms and waits for the question field, as a shopper's first step. */
  consent?: boolean;
}

/**
 * The demo page (dist/web) served by a listening test app (every API response checked against
 * the OpenAPI document), and the system Chromium to open it in.
 */
export interface DemoPage {
  served: ServedApp;
  baseUrl: string;
  browser: Browser;
  /** A fresh browser profile (so a new guest) on the page; `problems` collects script errors and CSP violations. */
  openPage(options?: OpenPageOptions): Promise<{ page: Page; problems: string[] }>;
  /** Closes every profile opened, the browser, then the app. */
  close(): Promise<void>;
}

export async function openDemoPage(env: Record<string, string | undefined>): Promise<DemoPage> {
  const served = await serveApp(env);
  let browser: Browser;
  try {
    browser = await launchChromium();
  } catch (err) {
    await served.close();
    throw err;
  }
  const contexts: BrowserContext[] = [];
  return {
    served,
    baseUrl: served.baseUrl,
    browser,
    async openPage(options = {}) {
      const context = await browser.newContext(options.context ?? { locale: 'en-US', viewport: { width: 1100, height: 800 } });
      contexts.push(context);
      await options.prepare?.(context);
      const page = await context.newPage();
      await options.before?.(page);
      const problems = watchProblems(page);
      await page.goto(`${served.baseUrl}/`);
      if (options.consent) await acceptConsent(page);
      return { page, problems };
    },
    async close() {
      for (const context of contexts) await context.close().catch(() => {});
      await browser.close();
      await served.close();
    },
  };
}

/** Collects the page's script errors and Content-Security-Policy violations (a test expects none). */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) problems.push(`console: ${message.text()}`);
  });
  return problems;
}

export async function acceptConsent(page: Page): Promise<void> {
  await page.getByLabel('I accept the terms of use').check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Your question').waitFor();
}

/** Submits the search form and waits until the page has handled the answer (the form is no longer busy). */
export async function ask(page: Page, question: string): Promise<void> {
  await page.getByLabel('Your question').fill(question);
  await page.getByRole('button', { name: 'Search' }).click();
  // A selector, not waitForFunction: the page's CSP (rightly) forbids the eval that polls a function.
  await page.locator('#search-form:not([aria-busy])').waitFor();
}

/** The trimmed text of the first element matching `selector`. */
export async function text(page: Page, selector: string): Promise<string> {
  return ((await page.locator(selector).textContent()) ?? '').trim();
}
