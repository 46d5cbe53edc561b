import { changedCatalog, makeCatalog } from '../assistant/catalog/catalog.js';
import type { CatalogIndex, CatalogView } from '../assistant/catalog/catalog-index.js';
import { CatalogSearch } from '../assistant/catalog/catalog-search.js';
import type { Logger } from '../platform/logger.js';
import type { CatalogBase, CatalogSnapshot, CatalogStore } from './catalog.store.js';

/**
 * Single-product changes are applied to the current index when at most this share of the
 * catalog changed since its last whole build (at least MIN_CHANGES products); beyond it the
 * catalog is read and indexed whole, which also renews the scoring statistics.
 */
const MAX_DRIFT = 0.05;
const MIN_CHANGES = 50;

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
 * version every half CATALOG_REFRESH_SECONDS. Single-product changes are read from the store
 * (what changed since this process's catalog, in one snapshot) and make the next index from the
 * current one, sharing all they leave alone; a whole-catalog upload is read in one snapshot and
 * its index built in slices between requests. Until the new index is ready the current one keeps
 * answering, then one assignment swaps them, so every answer reads one whole catalog.
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
    /** What the store needs to tell this view's catalog apart from its next version. */
    private base: CatalogBase | undefined,
    private readonly source: string,
    private readonly logger: Logger,
  ) {}

  /** Reads the store's catalog and starts following its changes. */
  static async open(store: CatalogStore, settings: LiveCatalogSettings, logger: Logger, source = 'database'): Promise<LiveCatalog> {
    const snapshot = await store.load();
    if (!snapshot) throw new Error('There is no catalog in the store to answer from.');
    const live = new LiveCatalog(store, await buildView(snapshot, source), snapshot.base, source, logger);
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
    if (await this.applyChanges(started)) return;
    const snapshot = await this.store.load();
    if (this.closed || !snapshot || snapshot.summary.version === this.view.catalog.hash) return;
    const view = await buildView(snapshot, this.source);
    if (this.closed) return;
    this.swap(view, snapshot.base, started, false);
  }

  /**
   * Single-product changes since the current view: a new view whose index shares all the
   * products did not change, made while the current one answers. False when the store cannot
   * tell (a whole-catalog upload, too many changes): then the catalog is read whole.
   */
  private async applyChanges(started: number): Promise<boolean> {
    const { base, view } = this;
    const max = Math.max(MIN_CHANGES, view.catalog.products.length * MAX_DRIFT) - view.search.drift * view.catalog.products.length;
    if (!base || !this.store.changesSince || max <= 0) return false;
    const delta = await this.store.changesSince(base, max);
    if (this.closed || !delta) return false;
    if (delta.summary.version !== view.catalog.hash && this.view === view) {
      const catalog = changedCatalog(view.catalog, delta, delta.summary.version);
      this.swap({ catalog, search: view.search.withChanges(catalog, delta) }, delta.base, started, true);
    }
    return true;
  }

  private swap(view: CatalogView, base: CatalogBase | undefined, started: number, incremental: boolean): void {
    const previous = this.view.catalog.hash;
    this.view = view;
    this.base = base;
    this.logger.info(
      { catalogVersion: view.catalog.hash, previousVersion: previous, products: view.catalog.products.length, incremental, ms: Math.round(performance.now() - started) },
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
