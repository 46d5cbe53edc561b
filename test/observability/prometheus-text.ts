/**
 * A small parser of the Prometheus text exposition format (version 0.0.4), enough for tests
 * that compare scrapes: every sample line becomes `{ name, labels, value }`; comments and blank
 * lines are skipped. Label values are unescaped (`\\`, `\"`, `\n`), so a value holding a comma,
 * a brace or a quote cannot be misread.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    samples.push(parseLine(line));
  }
  return samples;
}

function parseLine(line: string): Sample {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!nameMatch) throw new Error(`not a sample line: ${line}`);
  const name = nameMatch[0];
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    for (;;) {
      while (line[i] === ' ' || line[i] === ',') i++;
      if (line[i] === '}') {
        i++;
        break;
      }
      const labelMatch = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(i));
      if (!labelMatch) throw new Error(`bad label at ${i} in: ${line}`);
      i += labelMatch[0].length;
      let value = '';
      for (;;) {
        const c = line[i++];
        if (c === undefined) throw new Error(`unterminated label value in: ${line}`);
        if (c === '"') break;
        if (c === '\\') {
          const next = line[i++];
          value += next === 'n' ? '\n' : next;
        } else value += c;
      }
      labels[labelMatch[1]] = value;
    }
  }
  const rest = line.slice(i).trim().split(/\s+/);
  const value = parseValue(rest[0]);
  return { name, labels, value };
}

function parseValue(text: string | undefined): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  // Prometheus reads floats like Go's ParseFloat, where NaN is case-insensitive; prom-client
  // writes "Nan" (e.g. an event-loop lag percentile before its first sample).
  if (text?.toLowerCase() === 'nan') return NaN;
  const n = Number(text);
  if (text === undefined || text === '' || Number.isNaN(n)) throw new Error(`bad sample value: ${text}`);
  return n;
}

/** A parsed scrape, asked for one series by its exact label set. */
export class Scrape {
  readonly samples: Sample[];

  constructor(text: string) {
    this.samples = parsePrometheusText(text);
  }

  /** The sample whose name and labels match exactly, or undefined when the series is absent. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    const wanted = Object.entries(labels);
    const found = this.samples.find(
      (s) => s.name === name && Object.keys(s.labels).length === wanted.length && wanted.every(([k, v]) => s.labels[k] === v),
    );
    return found?.value;
  }

  /** Like `value`, with an absent counter series read as 0 (prom-client shows a labelled series only once used). */
  count(name: string, labels: Record<string, string> = {}): number {
    return this.value(name, labels) ?? 0;
  }

  /** Every series of `name`, for assertions over all label sets. */
  series(name: string): Sample[] {
    return this.samples.filter((s) => s.name === name);
  }
}

/** How far each series moved between two scrapes (counters only). */
export function delta(before: Scrape, after: Scrape, name: string, labels: Record<string, string> = {}): number {
  return after.count(name, labels) - before.count(name, labels);
}
