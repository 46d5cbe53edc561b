import type { Result, ShopAssistError, ShopAssistErrorOf } from '@shopassist/client';

/** The error of a failed result, asserted to carry `code` (and narrowed to its variant). */
export function errorOf<C extends ShopAssistError['code']>(result: Result<unknown>, code: C): ShopAssistErrorOf<C> {
  if (result.ok) throw new Error(`expected ${code}, got a ${result.status} answer`);
  if (result.error.code !== code) throw new Error(`expected ${code}, got ${result.error.code}: ${result.error.message}`);
  return result.error as ShopAssistErrorOf<C>;
}

/** The data of a successful result (a failure throws with its code and message). */
export function dataOf<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected an answer, got ${result.error.code} (${result.error.status}): ${result.error.message}`);
  return result.data;
}
