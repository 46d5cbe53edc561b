import { Piscina } from 'piscina';
import type { Logger } from '../../platform/logger.js';
import type { Catalog } from '../catalog/catalog.js';
import { CATALOG_MODEL } from './catalog.js';
import { throwIfAborted, type AssistantAnswer, type AssistantProvider, type AssistantRequest } from './provider.js';

/**
 * The built-in catalog assistant on search threads (piscina): the full-text search is the
 * costliest part of a fresh answer, and off the event loop it no longer holds up every other
 * request, and uses the machine's other cores. Same name, model and catalog version as the
 * in-process CatalogProvider, so both share cache entries. A search past the caller's timeout
 * is left to finish (a few milliseconds) rather than killing its thread, whose index would have
 * to be rebuilt; the caller has answered 504 by then.
 */
export class CatalogPoolProvider implements AssistantProvider {
  readonly name = 'catalog' as const;
  readonly model = CATALOG_MODEL;
  readonly catalogVersion: string;
  private readonly pool: Piscina<AssistantRequest, AssistantAnswer>;

  constructor(catalog: Catalog, options: { threads: number; catalogPath: string | undefined; logger?: Logger }) {
    this.catalogVersion = catalog.hash;
    // From source (tsx, tests) the thread loads the TypeScript module through tsx's API.
    const fromSource = import.meta.url.endsWith('.ts');
    this.pool = new Piscina({
      filename: new URL(`../catalog/catalog-search.worker.${fromSource ? 'source.mjs' : 'js'}`, import.meta.url).href,
      minThreads: options.threads,
      maxThreads: options.threads,
      idleTimeout: Number.POSITIVE_INFINITY,
      workerData: { catalogPath: options.catalogPath, catalogHash: catalog.hash },
    });
    // A thread that fails (at start, say) fails the searches it was given, which answer 502;
    // piscina replaces it. Said once per failure here, never thrown as an unhandled event.
    this.pool.on('error', (err: unknown) => options.logger?.error({ err }, 'a catalog search thread failed'));
  }

  async answer(request: AssistantRequest, signal: AbortSignal): Promise<AssistantAnswer> {
    throwIfAborted(signal);
    // Only the plain request crosses to the thread (structured clone).
    const plain: AssistantRequest = { query: request.query, limit: request.limit, ...(request.filters ? { filters: { ...request.filters } } : {}) };
    const answer = await this.pool.run(plain);
    throwIfAborted(signal);
    return answer;
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
