/**
 * @shopassist/client: a typed client for the ShopAssist API. Every call resolves a `Result`;
 * failures are a `ShopAssistError` told apart by `code`.
 */
export { createShopAssistClient, newIdempotencyKey } from './client.js';
export { isShopAssistError, parseRetryAfter } from './errors.js';
export type * from './types.js';
export type { components, operations, paths } from './schema.js';
