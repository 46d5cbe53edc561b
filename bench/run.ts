/**
 * `npm run bench`: runs every bench/*.bench.ts and prints their tables. Speed targets are ratios
 * against the bare driver or a bare route measured in the same run on the same machine, so the
 * figures compare like with like; they are reported, not asserted.
 *
 * Settings: BENCH_DATABASE_URL (else TEST_DATABASE_URL, else an embedded PostgreSQL),
 * BENCH_REDIS_URL (else TEST_REDIS_URL, else redis://127.0.0.1:6379/0), BENCH_ONLY=name to run
 * one suite.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface BenchRow {
  [column: string]: string | number;
}

export interface BenchSuite {
  name: string;
  run(): Promise<BenchRow[]>;
}

const dir = path.dirname(fileURLToPath(import.meta.url));
const only = process.env.BENCH_ONLY;
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .sort();

for (const file of files) {
  const mod = (await import(pathToFileURL(path.join(dir, file)).href)) as { default: BenchSuite };
  const suite = mod.default;
  if (only && suite.name !== only) continue;
  console.log(`\n## ${suite.name}`);
  const rows = await suite.run();
  console.table(rows);
}
process.exit(0);
