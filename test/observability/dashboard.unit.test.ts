import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/platform/metrics.js';

const DASHBOARDS = join(import.meta.dirname, '../../observability/grafana/dashboards');

interface Panel {
  type: string;
  title: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);
const HISTOGRAM_SUFFIX = /_(bucket|sum|count)$/;

/**
 * The metric names a PromQL expression selects: identifiers left once string literals, label
 * matchers, range/subquery brackets and grouping clauses are removed, that are not function
 * calls, keywords or numbers.
 */
function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?/g)) {
    if (m[1]) continue; // a function call
    const word = m[0];
    if (PROMQL_WORDS.has(word.toLowerCase())) continue;
    if (m.index > 0 && /[0-9.]/.test(stripped[m.index - 1]!)) continue; // exponent or unit of a number (1e3, 5m)
    names.add(word);
  }
  return [...names];
}

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

function loadDashboards(): { file: string; panels: Panel[] }[] {
  return readdirSync(DASHBOARDS)
    .filter((f) => f.endsWith('.json'))
    .map((file) => {
      const json = JSON.parse(readFileSync(join(DASHBOARDS, file), 'utf8')) as { panels: Panel[] };
      return { file, panels: allPanels(json.panels) };
    });
}

describe('metricNamesIn (the extractor the dashboard rules rely on)', () => {
  it('finds selected metric names and skips functions, labels, grouping, ranges and numbers', () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{route=~"/api.*", status!="500"}[$__rate_interval]))) / on(instance) group_left up * 1e3',
      ).sort(),
    ).toEqual(['http_request_duration_seconds_bucket', 'up']);
    expect(metricNamesIn('sum(rate(a_total[5m] offset 1h)) / ignoring(x) b_gauge > bool 0.5')).toEqual(['a_total', 'b_gauge']);
  });
});

describe('Grafana dashboards reference only metrics the app exports', () => {
  let exported: Map<string, string>;
  beforeAll(async () => {
    const metrics = new Metrics({ poolStats: () => ({ size: 1, available: 1, using: 0, waiting: 0 }) });
    exported = new Map((await metrics.registry.getMetricsAsJSON()).map((m) => [m.name, String(m.type)]));
  });

  /** A referenced name is exported as is, or is the _bucket/_sum/_count series of an exported histogram. */
  function isExported(name: string): boolean {
    if (exported.has(name)) return true;
    const base = name.replace(HISTOGRAM_SUFFIX, '');
    return base !== name && exported.get(base) === 'histogram';
  }

  const dashboards = loadDashboards();

  it('has at least one dashboard, every non-row panel with a query', () => {
    expect(dashboards.length).toBeGreaterThan(0);
    for (const { panels } of dashboards) {
      for (const p of panels.filter((x) => x.type !== 'row')) expect(p.targets?.some((t) => t.expr), p.title).toBe(true);
    }
  });

  it.each(dashboards.map((d) => [d.file, d] as const))('%s: every metric name in every panel expression is exported', (_file, { panels }) => {
    const unknown: string[] = [];
    for (const p of panels) {
      for (const t of p.targets ?? []) {
        for (const name of metricNamesIn(t.expr ?? '')) if (!isExported(name)) unknown.push(`${p.title}: ${name}`);
      }
    }
    expect(unknown).toEqual([]);
  });

  it('rejects a name the app does not export (the rule can fail)', () => {
    expect(isExported('http_requests_total')).toBe(true);
    expect(isExported('http_request_duration_seconds_bucket')).toBe(true);
    expect(isExported('http_requests_total_bucket')).toBe(false); // a counter has no buckets
    expect(isExported('shopassist_credits_spent_total')).toBe(false);
  });

  describe('has every panel group the operations issue lists', () => {
    const exprs = (p: Panel) => (p.targets ?? []).map((t) => t.expr ?? '').join('\n');
    const main = dashboards.find((d) => d.file === 'shopassist.json')?.panels ?? [];
    const has = (test: (p: Panel, e: string) => boolean) => main.some((p) => test(p, exprs(p)));

    it.each([
      ['request rate by route', (_p: Panel, e: string) => /rate\(http_requests_total\b/.test(e) && /by \([^)]*\broute\b/.test(e)],
      [
        'p99 latency by route',
        (_p: Panel, e: string) => /histogram_quantile\(0\.99,/.test(e) && e.includes('http_request_duration_seconds_bucket') && /by \([^)]*\broute\b/.test(e),
      ],
      ['error rate', (_p: Panel, e: string) => /http_requests_total\{status=~"5\.\."\}/.test(e)],
      ['credits charged vs refunded', (_p: Panel, e: string) => e.includes('shopassist_credits_charged_total') && e.includes('shopassist_credits_refunded_total')],
      ['cache hit rate by backend', (_p: Panel, e: string) => /shopassist_cache_requests_total\{result="hit"\}/.test(e) && /by \(backend\)/.test(e)],
      ['breaker states', (_p: Panel, e: string) => e.includes('shopassist_breaker_state')],
      ['pool saturation', (_p: Panel, e: string) => /shopassist_db_pool_connections\{state="in_use"\}/.test(e) && /shopassist_db_pool_connections\{state="size"\}/.test(e)],
      ['assistant latency', (_p: Panel, e: string) => e.includes('shopassist_assistant_call_duration_seconds_bucket')],
      ['process CPU', (_p: Panel, e: string) => e.includes('process_cpu_user_seconds_total')],
      ['process memory', (_p: Panel, e: string) => e.includes('process_resident_memory_bytes')],
      ['event loop lag', (_p: Panel, e: string) => e.includes('nodejs_eventloop_lag')],
    ] as const)('%s', (_group, test) => {
      expect(has(test)).toBe(true);
    });
  });
});
