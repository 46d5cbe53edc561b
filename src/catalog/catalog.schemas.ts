import { z } from 'zod';
import { catalogProductSchema } from '../assistant/catalog/catalog.js';

/** A product as uploaded or put: the catalog's fields, nothing else (an unknown field is a mistake to name). */
export const uploadedProduct = catalogProductSchema.strict();

/** PUT /api/v1/admin/catalog/products/{productId}: the product; `id`, when given, must be the path's. */
export const productBody = catalogProductSchema.extend({ id: catalogProductSchema.shape.id.optional() }).strict();

const optionalField = <T extends z.ZodType>(schema: T) => schema.nullable().optional();

/** PATCH: some fields; `null` removes an optional one (`description`, `tags`, `rating`, `url`, `imageUrl`). */
export const productPatch = z
  .strictObject({
    name: catalogProductSchema.shape.name.optional(),
    brand: catalogProductSchema.shape.brand.optional(),
    category: catalogProductSchema.shape.category.optional(),
    price: catalogProductSchema.shape.price.optional(),
    currency: catalogProductSchema.shape.currency.optional(),
    inStock: z.boolean().optional(),
    description: optionalField(z.string()),
    tags: optionalField(z.array(z.string())),
    rating: optionalField(z.number()),
    url: optionalField(z.string()),
    imageUrl: optionalField(z.string()),
  })
  .refine((p) => Object.keys(p).length > 0, { message: 'at least one field to change' });
export type ProductPatch = z.output<typeof productPatch>;

export const productIdParams = z.object({ productId: catalogProductSchema.shape.id });

export const catalogSummaryResponse = z.object({
  version: z.string().regex(/^[0-9a-f]{64}$/).describe('The content hash of the live catalog (part of the answer cache key)'),
  products: z.int().min(0).describe('How many products the live catalog has'),
  updatedAt: z.iso.datetime(),
});

export const productResponse = z.object({
  id: z.string(),
  name: z.string(),
  brand: z.string(),
  category: z.string(),
  price: z.number().min(0),
  currency: z.string().regex(/^[A-Z]{3}$/),
  description: z.string(),
  tags: z.array(z.string()),
  rating: z.number().min(0).max(5).optional(),
  url: z.url().optional(),
  imageUrl: z.url().optional(),
  inStock: z.boolean(),
});
