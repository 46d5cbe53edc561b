/**
 * A catalog search thread (see CatalogPoolProvider): builds its own index of the catalog once,
 * then answers questions. The catalog must be the one the API process loaded: the answer cache
 * key carries its content hash, so a file changed between the two loads fails the start.
 */
import { workerData } from 'node:worker_threads';
import type { AssistantAnswer, AssistantRequest } from '../providers/provider.js';
import { describeResult, toAnsweredProduct } from '../providers/catalog.js';
import { loadCatalog } from './catalog.js';
import { CatalogSearch } from './catalog-search.js';

const { catalogPath, catalogHash } = workerData as { catalogPath: string | undefined; catalogHash: string };
const catalog = await loadCatalog(catalogPath);
if (catalog.hash !== catalogHash) throw new Error('the catalog changed on disk while the API started; restart it');
const search = new CatalogSearch(catalog);

export default function answer(request: AssistantRequest): AssistantAnswer {
  const result = search.search(request);
  return { answer: describeResult(result), products: result.hits.map(toAnsweredProduct) };
}
