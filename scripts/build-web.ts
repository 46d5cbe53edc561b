/**
 * Builds the demo shopper page (web/) into dist/web/: `npm run build:web`.
 *
 * esbuild bundles web/src/main.ts (with @shopassist/client) and web/styles.css into
 * content-hashed files under dist/web/assets/, so the server can cache them for a year; the
 * favicon is copied under a hashed name too, and dist/web/index.html is web/index.html with
 * the asset paths swapped for the hashed ones. The test setup of the browser tests calls
 * buildWeb() as well.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface WebBuild {
  outDir: string;
  /** The page's source path in web/index.html → the built one ('/assets/app.js' → '/assets/app-XXXX.js'). */
  assets: Record<string, string>;
}

export async function buildWeb({ root = ROOT, outDir = path.join(root, 'dist', 'web'), minify = true } = {}): Promise<WebBuild> {
  const webDir = path.join(root, 'web');
  const assetsDir = path.join(outDir, 'assets');
  await rm(outDir, { recursive: true, force: true });
  await mkdir(assetsDir, { recursive: true });

  const result = await build({
    absWorkingDir: root,
    entryPoints: [
      { in: path.join(webDir, 'src', 'main.ts'), out: 'app' },
      { in: path.join(webDir, 'styles.css'), out: 'styles' },
    ],
    outdir: assetsDir,
    entryNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    platform: 'browser',
    // @shopassist/client's "source" export: bundle its TypeScript, no client build needed first.
    conditions: ['source'],
    // Browsers of the last few years; nothing here needs a polyfill.
    target: ['chrome111', 'edge111', 'firefox114', 'safari16.4'],
    minify,
    sourcemap: 'linked',
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });

  const assets: Record<string, string> = {};
  for (const [output, meta] of Object.entries(result.metafile.outputs)) {
    if (!meta.entryPoint) continue;
    const source = meta.entryPoint.endsWith('.css') ? '/assets/styles.css' : '/assets/app.js';
    assets[source] = `/assets/${path.basename(output)}`;
  }
  const favicon = await readFile(path.join(webDir, 'favicon.svg'));
  const faviconName = `favicon-${createHash('sha256').update(favicon).digest('hex').slice(0, 8)}.svg`;
  await copyFile(path.join(webDir, 'favicon.svg'), path.join(assetsDir, faviconName));
  assets['/assets/favicon.svg'] = `/assets/${faviconName}`;

  let html = await readFile(path.join(webDir, 'index.html'), 'utf8');
  for (const [source, built] of Object.entries(assets)) {
    const attribute = new RegExp(`(src|href)="${source.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`, 'g');
    if ((html.match(attribute) ?? []).length !== 1) throw new Error(`web/index.html must reference ${source} exactly once`);
    html = html.replace(attribute, `$1="${built}"`);
  }
  await writeFile(path.join(outDir, 'index.html'), html);
  return { outDir, assets };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const started = performance.now();
  const { outDir, assets } = await buildWeb();
  const sizes = await Promise.all(
    Object.values(assets).map(async (asset) => `${asset} ${((await stat(path.join(outDir, asset))).size / 1024).toFixed(1)} kB`),
  );
  console.log(`built ${path.relative(process.cwd(), outDir) || outDir} in ${Math.round(performance.now() - started)} ms: ${sizes.join(', ')}`);
}
