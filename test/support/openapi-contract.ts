import type { IncomingMessage, ServerResponse } from 'node:http';
import { dereference } from '@readme/openapi-parser';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Express } from 'express';
import type { HeaderObject, OpenAPIObject, OperationObject, ResponseObject, SchemaObject } from 'openapi3-ts/oas31';
import { buildOpenApiDocument } from '../../src/http/openapi.js';
import { isWebPath } from '../../src/web/web.routes.js';

// ajv-formats is CommonJS: its default export arrives wrapped under ESM.
type AddFormats = (ajv: Ajv2020) => unknown;
const addFormats: AddFormats = (addFormatsModule as unknown as { default?: AddFormats }).default ?? (addFormatsModule as unknown as AddFormats);

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

interface CompiledResponse {
  headers: { name: string; required: boolean; validate: ValidateFunction }[];
  content: Map<string, ValidateFunction | undefined>;
}

interface CompiledPath {
  template: string;
  pattern: RegExp;
  operations: Map<string, Map<string, CompiledResponse>>;
}

/** What one response looked like on the wire. */
export interface ObservedResponse {
  method: string;
  path: string;
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: Buffer;
}

/**
 * Checks responses against the OpenAPI document: the operation (method + path template) must be
 * documented with this status, the required documented headers present and valid, the content
 * type documented and the JSON body valid against the schema. Unknown paths must answer the
 * 404 envelope, known paths with other methods the 405 envelope with Allow. The demo page's
 * routes (GET /, /assets/…) are not part of the API: test/web checks them.
 */
export class OpenApiContract {
  private constructor(
    private readonly paths: CompiledPath[],
    private readonly errorEnvelope: ValidateFunction,
  ) {}

  static async load(document: OpenAPIObject = buildOpenApiDocument()): Promise<OpenApiContract> {
    const doc = (await dereference(structuredClone(document) as never)) as unknown as OpenAPIObject;
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    const compile = (schema: SchemaObject) => ajv.compile(schema);
    const paths: CompiledPath[] = [];
    for (const [template, item] of Object.entries(doc.paths ?? {})) {
      const operations = new Map<string, Map<string, CompiledResponse>>();
      for (const method of METHODS) {
        const op = item[method] as OperationObject | undefined;
        if (!op) continue;
        const responses = new Map<string, CompiledResponse>();
        for (const [status, r] of Object.entries(op.responses ?? {})) {
          const response = r as ResponseObject;
          responses.set(status, {
            headers: Object.entries(response.headers ?? {}).map(([name, h]) => ({
              name: name.toLowerCase(),
              required: Boolean((h as HeaderObject).required),
              validate: compile(((h as HeaderObject).schema ?? {}) as SchemaObject),
            })),
            content: new Map(
              Object.entries(response.content ?? {}).map(([type, media]) => [type, media.schema ? compile(media.schema as SchemaObject) : undefined]),
            ),
          });
        }
        operations.set(method, responses);
      }
      const pattern = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^/}]+\}/g, '[^/]+')}$`);
      paths.push({ template, pattern, operations });
    }
    const envelope = doc.components?.schemas?.ErrorEnvelope as SchemaObject;
    return new OpenApiContract(paths, compile(envelope));
  }

  /** The violations of one response (none when it matches the document). */
  check(res: ObservedResponse): string[] {
    const where = `${res.method} ${res.path} → ${res.status}`;
    const pathOnly = res.path.split('?')[0];
    if (isWebPath(pathOnly)) return [];
    // A CORS preflight answered by the CORS layer (described in the document's conventions, and
    // checked by test/http/browser-headers): not an operation of the API.
    if (res.method.toUpperCase() === 'OPTIONS' && res.status === 204 && res.headers['access-control-allow-origin'] !== undefined) return [];
    const path = this.paths.find((p) => p.pattern.test(pathOnly));
    const method = res.method.toLowerCase() === 'head' ? 'get' : res.method.toLowerCase();
    const headers = Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(', ') : v === undefined ? undefined : String(v)]));
    if (!path || !path.operations.has(method)) {
      const expected = path ? { status: 405, code: 'METHOD_NOT_ALLOWED' } : { status: 404, code: 'NOT_FOUND' };
      const problems: string[] = [];
      if (res.status !== expected.status) problems.push(`${where}: not in the document (${path ? 'method' : 'path'}), so only ${expected.status} ${expected.code} may answer`);
      else problems.push(...this.checkEnvelope(where, res, expected.code));
      if (path && !headers.allow) problems.push(`${where}: 405 without Allow`);
      return problems;
    }
    const responses = path.operations.get(method)!;
    const documented = responses.get(String(res.status)) ?? responses.get(`${String(res.status)[0]}XX`) ?? responses.get('default');
    if (!documented) return [`${where}: status not documented for ${method.toUpperCase()} ${path.template} (documented: ${[...responses.keys()].join(', ')})`];
    const problems: string[] = [];
    for (const header of documented.headers) {
      const value = headers[header.name];
      if (value === undefined) {
        if (header.required) problems.push(`${where}: required header ${header.name} missing`);
      } else if (!header.validate(value)) {
        problems.push(`${where}: header ${header.name}=${JSON.stringify(value)} ${ajvText(header.validate)}`);
      }
    }
    const isHead = res.method.toLowerCase() === 'head';
    if (documented.content.size === 0) {
      if (res.body.length > 0) problems.push(`${where}: a body where the document says none`);
      return problems;
    }
    if (isHead) return problems;
    const contentType = String(headers['content-type'] ?? '').split(';')[0].trim();
    if (!documented.content.has(contentType)) {
      problems.push(`${where}: content type ${JSON.stringify(contentType)} not documented (${[...documented.content.keys()].join(', ')})`);
      return problems;
    }
    const validate = documented.content.get(contentType);
    if (validate && contentType.endsWith('json')) {
      let body: unknown;
      try {
        body = JSON.parse(res.body.toString('utf8'));
      } catch {
        return [...problems, `${where}: body is not JSON`];
      }
      if (!validate(body)) problems.push(`${where}: body ${ajvText(validate)}: ${res.body.toString('utf8').slice(0, 500)}`);
    }
    return problems;
  }

  private checkEnvelope(where: string, res: ObservedResponse, code: string): string[] {
    let body: unknown;
    try {
      body = JSON.parse(res.body.toString('utf8'));
    } catch {
      return [`${where}: error body is not JSON`];
    }
    if (!this.errorEnvelope(body)) return [`${where}: error body ${ajvText(this.errorEnvelope)}`];
    if ((body as { error: { code: string } }).error.code !== code) return [`${where}: error code is not ${code}`];
    return [];
  }
}

function ajvText(validate: ValidateFunction): string {
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`).join('; ');
}

let shared: Promise<OpenApiContract> | undefined;
const violations: string[] = [];
let checked = 0;

/** How many responses have been checked in this process so far. */
export function contractChecksSoFar(): number {
  return checked;
}

/** Hands out (and forgets) the contract violations seen since the last call. */
export function takeContractViolations(): string[] {
  return violations.splice(0, violations.length);
}

/**
 * Wraps an app so that every response it sends is checked against the OpenAPI document; the
 * violations are collected for `takeContractViolations()` (a global afterEach fails the test).
 */
export async function withContractCheck(app: Express): Promise<Express> {
  shared ??= OpenApiContract.load();
  const contract = await shared;
  return new Proxy(app, {
    apply(target, thisArg, args: [IncomingMessage, ServerResponse, ...unknown[]]) {
      const [req, res] = args;
      if (req && res && typeof res.on === 'function') observe(contract, req, res);
      return Reflect.apply(target, thisArg, args);
    },
  });
}

function observe(contract: OpenApiContract, req: IncomingMessage, res: ServerResponse): void {
  const method = req.method ?? 'GET';
  const path = req.url ?? '/';
  const chunks: Buffer[] = [];
  const write = res.write.bind(res) as (...a: unknown[]) => boolean;
  const end = res.end.bind(res) as (...a: unknown[]) => ServerResponse;
  const keep = (chunk: unknown, encoding?: unknown) => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'));
  };
  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    keep(chunk, rest[0]);
    return write(chunk, ...rest);
  }) as typeof res.write;
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    keep(chunk, rest[0]);
    return end(chunk, ...rest);
  }) as typeof res.end;
  res.on('finish', () => {
    checked += 1;
    violations.push(...contract.check({ method, path, status: res.statusCode, headers: res.getHeaders(), body: Buffer.concat(chunks) }));
  });
}
