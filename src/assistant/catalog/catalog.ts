import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { canonicalJson } from '../../platform/canonical-json.js';

/**
 * The product catalog the assistant answers from: a JSON file (`CATALOG_PATH`, else the bundled
 * `catalog/products.json`) validated at boot, so a bad file stops the process with a clear
 * message instead of producing odd answers later.
 */

const twoDecimals = (n: number) => Math.abs(Math.round(n * 100) - n * 100) < 1e-6;

const isHttpUrl = (s: string) => {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
};

/** A link to the product's page or picture: an absolute http(s) URL. */
const httpUrl = z.string().trim().max(2000).refine(isHttpUrl, 'an absolute http(s) URL');

export const catalogProductSchema = z.object({
  id: z.string().trim().min(1).max(100),
  name: z.string().trim().min(1).max(200),
  brand: z.string().trim().min(1).max(100),
  category: z.string().trim().min(1).max(100),
  price: z.number().nonnegative().max(1_000_000).refine(twoDecimals, 'a price with at most 2 decimals'),
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD'),
  description: z.string().trim().max(2000).default(''),
  tags: z.array(z.string().trim().min(1).max(50)).max(50).default([]),
  rating: z.number().min(0).max(5).optional(),
  url: httpUrl.optional(),
  imageUrl: httpUrl.optional(),
  /** Out-of-stock products are recommended only when a question asks for them (`filters.inStock: false`). */
  inStock: z.boolean().default(true),
});

export type CatalogProduct = z.output<typeof catalogProductSchema>;
/** A product as a catalog file or an upload may spell it: description, tags and stock may be left out. */
export type CatalogProductInput = z.input<typeof catalogProductSchema>;

const catalogFileSchema = z
  .object({
    products: z.array(catalogProductSchema).min(1, 'at least one product'),
  })
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.products.forEach((p, i) => {
      if (seen.has(p.id)) ctx.addIssue({ code: 'custom', path: ['products', i, 'id'], message: `duplicate id "${p.id}"` });
      seen.add(p.id);
    });
  });

export interface Catalog {
  readonly products: readonly CatalogProduct[];
  /** sha256 (hex) of the canonical serialization of the products: changes when any product does. */
  readonly hash: string;
  /** Where it was loaded from, for logs. */
  readonly source: string;
  byId(id: string): CatalogProduct | undefined;
}

export class CatalogError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CatalogError';
  }
}

/** One product's content hash: sha256 (hex) of its canonical JSON (stored beside it in the database). */
export function productHash(product: CatalogProduct): string {
  return createHash('sha256').update(canonicalJson(product)).digest('hex');
}

/** Orders ids by their UTF-8 bytes, as PostgreSQL's "C" collation does. */
export function compareIds(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * The content hash: sha256 (hex) of the products' own hashes concatenated in id order, so it is
 * independent of key order, whitespace and product order in the file, and the database computes
 * the same value from its stored product hashes (see catalog.store.postgres.ts).
 */
export function catalogHash(products: readonly CatalogProduct[]): string {
  const sorted = [...products].sort((a, b) => compareIds(a.id, b.id));
  const hash = createHash('sha256');
  for (const p of sorted) hash.update(productHash(p));
  return hash.digest('hex');
}

/** Validates parsed JSON as a catalog; throws CatalogError naming the first problems. */
export function parseCatalog(data: unknown, source = 'catalog'): Catalog {
  const parsed = catalogFileSchema.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 5).map((issue) => {
      const where = issue.path.length ? issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') : '(root)';
      return `${where}: ${issue.message}`;
    });
    const more = parsed.error.issues.length > 5 ? ` (and ${parsed.error.issues.length - 5} more)` : '';
    throw new CatalogError(`Invalid product catalog ${source}: ${problems.join('; ')}${more}`);
  }
  const products = parsed.data.products.map(normalizeProduct);
  return makeCatalog(products, catalogHash(products), source);
}

/** Labels in NFC, so "é" typed either way matches; frozen, as every catalog product is. */
export function normalizeProduct(p: CatalogProduct): CatalogProduct {
  return Object.freeze({ ...p, name: p.name.normalize('NFC'), brand: p.brand.normalize('NFC'), category: p.category.normalize('NFC') });
}

/** A catalog of products already validated and normalised (`hash`: their `catalogHash`). */
export function makeCatalog(products: CatalogProduct[], hash: string, source: string): Catalog {
  // Made on first use: a catalog made for one product's change should not pay for it up front.
  let index: Map<string, CatalogProduct> | undefined;
  return {
    products: Object.freeze(products),
    hash,
    source,
    byId: (id) => (index ??= new Map(products.map((p) => [p.id, p]))).get(id),
  };
}

/**
 * `catalog` with products put (new or replacing the one of their id) and ids deleted, as the
 * catalog of version `hash`: the products stay in id order, found by binary search.
 */
export function changedCatalog(catalog: Catalog, changes: { put: readonly CatalogProduct[]; deleted: readonly string[] }, hash: string): Catalog {
  const products = [...catalog.products];
  const position = (id: string) => {
    let lo = 0;
    let hi = products.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareIds(products[mid].id, id) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  for (const id of changes.deleted) {
    const at = position(id);
    if (products[at]?.id === id) products.splice(at, 1);
  }
  for (const p of changes.put) {
    const at = position(p.id);
    products.splice(at, products[at]?.id === p.id ? 1 : 0, p);
  }
  return makeCatalog(products, hash, catalog.source);
}

/** The bundled catalog: `catalog/products.json` at the project root (found from src/ and dist/src/). */
export function bundledCatalogPath(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'catalog', 'products.json');
    if (existsSync(path.join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new CatalogError('The bundled product catalog (catalog/products.json) was not found; set CATALOG_PATH.');
    dir = parent;
  }
}

/** Reads and validates a catalog file (`undefined`: the bundled one). */
export async function loadCatalog(file: string | undefined): Promise<Catalog> {
  const target = file ?? bundledCatalogPath();
  let text: string;
  try {
    text = await readFile(target, 'utf8');
  } catch (err) {
    throw new CatalogError(`Cannot read the product catalog ${target}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new CatalogError(`The product catalog ${target} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return parseCatalog(data, target);
}
