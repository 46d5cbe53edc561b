import type { QueryResult } from './assistant.service.js';

/**
 * The query route's 200 body as JSON: exactly `JSON.stringify(body)` (the same bytes, the fields
 * in the body's order), with the products taken from `productsJson` when it is given (a cached
 * answer's, serialised once per cache entry: see StoredAnswers). Only for a body made by the
 * service's `outcome`, whose fields and their order are QueryResult's; a replayed body, read back
 * from storage, is serialised as it is.
 */
export function queryResultJson(body: QueryResult, productsJson = JSON.stringify(body.products)): string {
  return (
    `{"answer":${JSON.stringify(body.answer)},"products":${productsJson},"cached":${body.cached},` +
    `"creditsCharged":${JSON.stringify(body.creditsCharged)},"credits":${JSON.stringify(body.credits)},` +
    `"conversationId":${JSON.stringify(body.conversationId)},"resolvedQuery":${JSON.stringify(body.resolvedQuery)}}`
  );
}
