import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** The system Chromium (Debian's `chromium` package); the browser tests never download one. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function chromiumInstalled(): boolean {
  return existsSync(CHROMIUM_PATH);
}

/**
 * For browser test suites: true when Chromium is installed. Where it is not, the suite is
 * skipped with a loud line, except under CI=true, where a missing browser fails the run.
 */
export function requireChromium(suite: string): boolean {
  if (chromiumInstalled()) return true;
  const line = `!!! No Chromium at ${CHROMIUM_PATH}: ${suite} is SKIPPED. Install it (apt-get install chromium) or set CHROMIUM_PATH to run it.`;
  if (process.env.CI === 'true') throw new Error(`${line} (CI=true: a missing browser fails the run)`);
  console.warn(`\n${'!'.repeat(100)}\n${line}\n${'!'.repeat(100)}\n`);
  return false;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ARGS, headless: true });
}
