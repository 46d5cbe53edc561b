import { makeCatalog } from '../assistant/catalog/catalog.js';
import type { CatalogIndex, CatalogView } from '../assistant/catalog/catalog-index.js';
import { CatalogSearch } from '../assistant/catalog/catalog-search.js';
import type { Logger } from '../platform/logger.js';
import type { CatalogSnapshot, CatalogStore } from './catalog.store.js';

export interface LiveCatalogSettings {
  /** Every process answers from a changed catalog within this many seconds (CATALOG_REFRESH_SECONDS). */
  refreshSeconds: number;
  /** Listen for change notifications (default true); without them polling alone finds changes. */
  listen?: boolean;
}

async function buildView(snapshot: CatalogSnapshot, source: string): Promise<CatalogView> {
  const catalog = makeCatalog(snapshot.products, snapshot.summary.version, source);
  return { catalog, search: await CatalogSearch.build(catalog) };
}

/**
 * The catalog this process answers from, kept up to date with the store. A change is noticed by
 * notification (LISTEN/NOTIFY on PostgreSQL) or, where notifications are lost, by polling the
 * version every half CATALOG_REFRESH_SECONDS. The new catalog is read in one snapshot and its
 * index built in slices between requests; until it is ready the current one keeps answering,
 * then one assignment swaps them, so every answer reads one whole catalog.
 */
export class LiveCatalog implements CatalogIndex {
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private stopListening: (() => Promise<void>) | undefined;
  private closed = false;

  private constructor(
    private readonly store: CatalogStore,
    private view: CatalogView,
    private readonly source: string,
    private readonly logger: Logger,
  ) {}

  /** Reads the store's catalog and starts following its changes. */
  static async open(store: CatalogStore, settings: LiveCatalogSettings, logger: Logger, source = 'database'): Promise<LiveCatalog> {
    const snapshot = await store.load();
    if (!snapshot) throw new Error('There is no catalog in the store to answer from.');
    const live = new LiveCatalog(store, await buildView(snapshot, source), source, logger);
    if (store.writable) {
      const every = Math.max(250, (settings.refreshSeconds * 1000) / 2);
      live.timer = setInterval(() => live.refreshQuietly(), every);
      live.timer.unref();
      if (settings.listen ?? true) live.stopListening = await store.onChange(() => live.refreshQuietly());
    }
    return live;
  }

  current(): CatalogView {
    return this.view;
  }

  /**
   * Makes this process answer from the store's current version; resolves once it does (or when
   * it already did). Calls while a refresh runs share it, and one more round follows it.
   */
  refresh(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.refreshOnce();
        } while (this.again && !this.closed);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  private refreshQuietly(): void {
    this.refresh().catch((err: unknown) => this.logger.warn({ err }, 'could not refresh the catalog; still answering from the current one'));
  }

  private async refreshOnce(): Promise<void> {
    const summary = await this.store.summary();
    if (this.closed || !summary || summary.version === this.view.catalog.hash) return;
    const started = performance.now();
    const snapshot = await this.store.load();
    if (this.closed || !snapshot || snapshot.summary.version === this.view.catalog.hash) return;
    const view = await buildView(snapshot, this.source);
    if (this.closed) return;
    const previous = this.view.catalog.hash;
    this.view = view;
    this.logger.info(
      { catalogVersion: view.catalog.hash, previousVersion: previous, products: view.catalog.products.length, ms: Math.round(performance.now() - started) },
      'catalog refreshed',
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.stopListening?.();
    await this.running?.catch(() => {});
  }
}
