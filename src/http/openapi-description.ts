import { CORS_EXPOSED_HEADERS, CORS_MAX_AGE_SECONDS } from './cors.js';
import { MAX_BODY_BYTES } from './json-body.js';

/** `info.description` of the OpenAPI document: the conventions every route keeps. */
export const API_DESCRIPTION = `REST API behind a shop's AI product assistant: credits, consent, query cache and product answers.

Conventions that hold for every route:
- JSON in and out. Request bodies are strict: unknown keys are a 400 \`VALIDATION_FAILED\`.
  Unknown query-string parameters are ignored.
- Every response carries \`X-Request-Id\`: the caller's if it sent one of 1–128 characters of
  \`[A-Za-z0-9._:-]\`, else a new UUID.
- Every error has one shape, \`{"error": {"code", "message", "details"?, "requestId"}}\` (schema \`ErrorEnvelope\`).
- An unknown route is 404 \`NOT_FOUND\`; a known path with a method it does not answer is 405
  \`METHOD_NOT_ALLOWED\` with \`Allow\` (both in the same envelope).
- Bodies over ${MAX_BODY_BYTES} bytes are 413 \`PAYLOAD_TOO_LARGE\`; a body that is not JSON is 415.
- Timestamps are ISO-8601 UTC strings; credits are whole numbers.
- Browsers: with \`CORS_ORIGINS\` set (comma-separated origins, or \`*\`), the API answers CORS
  preflights (OPTIONS, 204, cached for ${CORS_MAX_AGE_SECONDS} s) from those origins and exposes
  ${CORS_EXPOSED_HEADERS.map((h) => `\`${h}\``).join(', ')} to their scripts. Other origins get no CORS
  header (their preflight is a 405). Credentials (cookies) are never allowed: authenticate with a bearer token.
- Every response carries \`X-Content-Type-Options: nosniff\` and a restrictive
  \`Content-Security-Policy\` (with the other helmet headers); /docs and the demo page allow only
  their own files.
- A caller (or a client address: IPv4 /32, IPv6 /64) whose requests under /api are refused
  with 400, 413 or 415 more than \`REJECTED_REQUESTS_PER_MINUTE\` (default 30) /
  \`REJECTED_REQUESTS_PER_IP_PER_MINUTE\` (default 120) times a minute gets 429 \`RATE_LIMITED\`
  with \`Retry-After\` until the minute ends, whatever it sends (0 turns a limit off).`;

/** The document's tags, in the order the page shows them. */
export const API_TAGS = [
  { name: 'identity', description: 'Guest sessions' },
  { name: 'credits', description: "The caller's credits and ledger" },
  { name: 'consent', description: "The caller's consent" },
  { name: 'assistant', description: 'Product answers' },
  { name: 'operator', description: 'Operator routes (X-Admin-Key)' },
  { name: 'catalog', description: "The shop's catalog the assistant answers from (operator routes, X-Admin-Key)" },
  { name: 'operations', description: 'Health, metrics and this documentation' },
];
