import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWeb } from '../../scripts/build-web.js';
import { CHROMIUM_PATH, chromiumInstalled } from './chromium.js';

const SCREENSHOTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test-results/screenshots');

/**
 * Builds the demo page into dist/web (what the server serves at /) and says which browser runs.
 * Earlier screenshots are removed first, so the folder holds this run's states only.
 */
export default async function setup(): Promise<void> {
  await rm(SCREENSHOTS, { recursive: true, force: true });
  if (!chromiumInstalled()) {
    if (process.env.CI === 'true') throw new Error(`No Chromium at ${CHROMIUM_PATH} and CI=true: a missing browser fails the run.`);
    console.warn(`\n!!! No Chromium at ${CHROMIUM_PATH}: the browser tests will be SKIPPED !!!\n`);
    return;
  }
  const started = performance.now();
  const { assets } = await buildWeb();
  console.log(`browser tests: Chromium at ${CHROMIUM_PATH}; dist/web built in ${Math.round(performance.now() - started)} ms (${Object.values(assets).join(', ')})`);
}
