import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { CLIENT_SCHEMA_FILE, renderClientSchema } from '../../scripts/client-schema.js';
import { buildOpenApiDocument } from '../../src/http/openapi.js';

/** The first line where two texts differ, for a failure message that fits on a screen. */
function firstDifference(a: string, b: string): string | undefined {
  const left = a.split('\n');
  const right = b.split('\n');
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    if (left[i] !== right[i]) return `line ${i + 1}:\n  committed: ${left[i] ?? '(end of file)'}\n  generated: ${right[i] ?? '(end of file)'}`;
  }
  return undefined;
}

describe('the typed client types (clients/typescript/src/schema.ts)', () => {
  it('are what openapi-typescript makes of the current OpenAPI document (else: npm run client:generate)', async () => {
    const committed = await readFile(CLIENT_SCHEMA_FILE, 'utf8');
    const generated = await renderClientSchema(buildOpenApiDocument());
    expect(firstDifference(committed, generated), 'the committed client types are stale: run `npm run client:generate`').toBeUndefined();
  });

  it('change when a route changes, so a stale file is caught', async () => {
    const document = buildOpenApiDocument();
    const changed = structuredClone(document);
    changed.paths!['/api/v1/credits']!.get!.operationId = 'readCredits';
    const [before, after] = await Promise.all([renderClientSchema(document), renderClientSchema(changed)]);
    expect(firstDifference(before, after)).toMatch(/readCredits/);
  });

  it('keep the error codes and header values the client relies on as unions', async () => {
    const generated = await renderClientSchema(buildOpenApiDocument());
    expect(generated).toContain('"X-Cache": "HIT" | "MISS" | "BYPASS";');
    expect(generated).toContain('"Idempotent-Replayed": "true";');
    expect(generated).toMatch(/code: "INSUFFICIENT_CREDITS";\n/);
    // An omitted limit is the default: the request type must not require it.
    expect(generated).toMatch(/QueryRequest: \{[^]*?limit\?: number;/);
  });
});
