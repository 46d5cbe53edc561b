/**
 * The scale-out services the `scale` tests use (started by .ci/scale-services): PgBouncer in
 * transaction mode, a streaming replica of the TEST_DATABASE_URL server, a Redis Cluster. Only
 * test code reads these variables.
 */
export const TEST_PGBOUNCER_URL = process.env.TEST_PGBOUNCER_URL || undefined;
export const TEST_REPLICA_URL = process.env.TEST_REPLICA_URL || undefined;
export const TEST_REDIS_CLUSTER_NODES = process.env.TEST_REDIS_CLUSTER_NODES || undefined;

/**
 * Set (`true`) by the `pgbouncer` vitest project, or by hand for any test run: every test
 * database is still made on TEST_DATABASE_URL's server, but the apps and stores reach it
 * through TEST_PGBOUNCER_URL, with DB_PREPARED_STATEMENTS=false.
 */
export const TEST_DB_VIA_PGBOUNCER = process.env.TEST_DB_VIA_PGBOUNCER === 'true';

/** Parses `host:port,…` as REDIS_CLUSTER_NODES does. */
export function clusterNodes(list: string): { host: string; port: number }[] {
  return list.split(',').map((n) => {
    const at = n.trim().lastIndexOf(':');
    return { host: n.trim().slice(0, at), port: Number(n.trim().slice(at + 1)) };
  });
}

/**
 * For suites that need one of these services: true when every variable is set. Where one is
 * not, the suite is skipped with one loud line, except under CI=true, where a missing service
 * fails the run.
 */
export function requireScaleService(suite: string, needs: Record<string, string | undefined>): boolean {
  const missing = Object.entries(needs)
    .filter(([, v]) => !v)
    .map(([k]) => k);
  if (missing.length === 0) return true;
  const line = `!!! ${missing.join(', ')} unset: ${suite} is SKIPPED. Run .ci/scale-services and set what it prints.`;
  if (process.env.CI === 'true') throw new Error(`${line} (CI=true: a missing service fails the run)`);
  console.warn(`\n${'!'.repeat(100)}\n${line}\n${'!'.repeat(100)}\n`);
  return false;
}
