import { normalizeProduct, type CatalogProduct } from '../assistant/catalog/catalog.js';
import { AppError, type ValidationIssue } from '../platform/errors.js';
import { readUpload, UploadShapeError, type UploadFormat } from './catalog-upload.js';
import type { CatalogStore, CatalogSummary } from './catalog.store.js';
import { uploadedProduct, type ProductPatch } from './catalog.schemas.js';
import type { LiveCatalog } from './live-catalog.js';

/** At most this many bad products are named in a failed upload's answer. */
export const MAX_BAD_PRODUCTS = 20;
/** Issues named per bad product. */
const MAX_ISSUES_PER_PRODUCT = 5;
/** Products written to the store per statement. */
const BATCH_SIZE = 1000;

const invalid = (details: ValidationIssue[], what = 'The catalog upload') =>
  new AppError('VALIDATION_FAILED', `${what} is not valid; nothing was changed.`, { details });

/**
 * The operator's catalog: whole-catalog uploads (validated as they stream, all or nothing) and
 * single-product changes. After a change this process answers from the new version before the
 * call resolves; the other processes follow within CATALOG_REFRESH_SECONDS.
 */
export class CatalogService {
  constructor(
    private readonly store: CatalogStore,
    private readonly live: LiveCatalog,
  ) {}

  async summary(): Promise<CatalogSummary> {
    const summary = await this.store.summary();
    if (summary) return summary;
    const { catalog } = this.live.current();
    return { version: catalog.hash, products: catalog.products.length, updatedAt: new Date() };
  }

  /**
   * Replaces the whole catalog with the products of `body`. Every product is validated as it
   * arrives and written in batches while the old catalog stays live; the first bad product stops
   * the writing, reading goes on to name up to MAX_BAD_PRODUCTS of them, and nothing changes.
   */
  async replace(body: AsyncIterable<Buffer | string>, format: UploadFormat): Promise<CatalogSummary> {
    const issues: ValidationIssue[] = [];
    let bad = 0;
    let count = 0;
    const firstSeen = new Map<string, string>();
    let summary: CatalogSummary | undefined;
    try {
      summary = await this.store.replace(async (add) => {
        let batch: CatalogProduct[] = [];
        for await (const item of readUpload(body, format)) {
          const problems = 'unreadable' in item ? [{ path: item.where, message: item.unreadable }] : [];
          let product: CatalogProduct | undefined;
          if ('value' in item) {
            const parsed = uploadedProduct.safeParse(item.value);
            if (parsed.success) {
              product = normalizeProduct(parsed.data);
              const earlier = firstSeen.get(product.id);
              if (earlier !== undefined) problems.push({ path: `${item.where}.id`, message: `duplicate id "${product.id}" (first at ${earlier})` });
              else firstSeen.set(product.id, item.where);
            } else {
              for (const issue of parsed.error.issues) problems.push({ path: [item.where, ...issue.path.map(String)].join('.'), message: issue.message });
            }
          }
          if (problems.length) {
            issues.push(...problems.slice(0, MAX_ISSUES_PER_PRODUCT));
            if (++bad >= MAX_BAD_PRODUCTS) break;
            continue;
          }
          count++;
          if (bad > 0 || !product) continue;
          batch.push(product);
          if (batch.length >= BATCH_SIZE) {
            await add(batch);
            batch = [];
          }
        }
        if (bad > 0) return false;
        if (count === 0) {
          issues.push({ path: '(body)', message: 'at least one product' });
          return false;
        }
        if (batch.length) await add(batch);
        return true;
      });
    } catch (err) {
      if (err instanceof UploadShapeError) throw invalid([...issues, { path: err.where, message: err.message }].slice(0, MAX_BAD_PRODUCTS * MAX_ISSUES_PER_PRODUCT));
      throw err;
    }
    if (issues.length || !summary) throw invalid(issues);
    await this.live.refresh();
    return summary;
  }

  /** Creates or replaces one product. */
  async put(id: string, body: Omit<CatalogProduct, 'id'> & { id?: string }): Promise<CatalogProduct> {
    if (body.id !== undefined && body.id !== id) throw invalid([{ path: 'id', message: `the product id in the path ("${id}")` }], 'The product');
    const product = normalizeProduct({ ...body, id });
    const { product: stored } = await this.store.change(id, () => ({ put: product }));
    await this.live.refresh();
    return stored!;
  }

  /** Changes some fields of one product; 404 PRODUCT_NOT_FOUND when there is none. */
  async patch(id: string, patch: ProductPatch): Promise<CatalogProduct> {
    const { product } = await this.store.change(id, (current) => {
      if (!current) throw notFound(id);
      const merged = new Map<string, unknown>(Object.entries(current));
      for (const [field, value] of Object.entries(patch)) {
        if (value === null) merged.delete(field);
        else if (value !== undefined) merged.set(field, value);
      }
      const parsed = uploadedProduct.safeParse(Object.fromEntries(merged));
      if (!parsed.success) throw invalid(parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(body)', message: i.message })), 'The changed product');
      return { put: normalizeProduct(parsed.data) };
    });
    await this.live.refresh();
    return product!;
  }

  async remove(id: string): Promise<void> {
    await this.store.change(id, (current) => {
      if (!current) throw notFound(id);
      return { delete: true };
    });
    await this.live.refresh();
  }
}

function notFound(id: string): AppError {
  return new AppError('PRODUCT_NOT_FOUND', `There is no product "${id}" in the catalog.`);
}
