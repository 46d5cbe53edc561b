/**
 * `npm run client:generate`: writes the OpenAPI document (as `npm run openapi` does, to
 * docs/openapi.json) and regenerates the typed client's types from it
 * (clients/typescript/src/schema.ts, committed).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildOpenApiDocument } from '../src/http/openapi.js';
import { CLIENT_SCHEMA_FILE, renderClientSchema } from './client-schema.js';

const document = buildOpenApiDocument();
const documentFile = path.resolve('docs/openapi.json');
await mkdir(path.dirname(documentFile), { recursive: true });
await writeFile(documentFile, `${JSON.stringify(document, null, 2)}\n`);
console.log(`wrote ${path.relative(process.cwd(), documentFile)}`);

await writeFile(CLIENT_SCHEMA_FILE, await renderClientSchema(document));
console.log(`wrote ${path.relative(process.cwd(), CLIENT_SCHEMA_FILE)}`);
