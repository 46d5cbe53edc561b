/**
 * Writes the OpenAPI 3.1 document (the same one GET /openapi.json serves) to a file for client
 * generators: `npm run openapi [file]`, default docs/openapi.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildOpenApiDocument } from '../src/http/openapi.js';

const target = path.resolve(process.argv[2] ?? 'docs/openapi.json');
await mkdir(path.dirname(target), { recursive: true });
await writeFile(target, `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`);
console.log(`wrote ${path.relative(process.cwd(), target) || target}`);
