import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type ModelStatic, type Sequelize } from 'sequelize';
import { check, defineOnce } from '../platform/model-definition.js';

/**
 * Typed models of `products` and `catalog_state` (migrations/). Uploads and swaps are the
 * transactions of catalog.store.postgres.ts, which write generations in bulk; these models
 * describe the tables for any other reader.
 */
export interface ProductRow extends Model<InferAttributes<ProductRow>, InferCreationAttributes<ProductRow>> {
  generation: string;
  id: string;
  name: string;
  brand: string;
  category: string;
  /** numeric(12,2): pg returns it as a string. CHECK products_price_not_negative. */
  price: string;
  currency: string;
  description: CreationOptional<string>;
  tags: CreationOptional<string[]>;
  /** CHECK products_rating_range. */
  rating: number | null;
  url: string | null;
  imageUrl: string | null;
  inStock: CreationOptional<boolean>;
  contentHash: string;
  updatedAt: CreationOptional<Date>;
}

export interface CatalogStateRow extends Model<InferAttributes<CatalogStateRow>, InferCreationAttributes<CatalogStateRow>> {
  singleton: CreationOptional<true>;
  generation: string;
  version: string;
  productCount: number;
  updatedAt: CreationOptional<Date>;
}

export interface CatalogModels {
  Product: ModelStatic<ProductRow>;
  CatalogState: ModelStatic<CatalogStateRow>;
}

export function catalogModels(sequelize: Sequelize): CatalogModels {
  const Product = defineOnce<ProductRow>(sequelize, 'Product', (s) =>
    s.define<ProductRow>(
      'Product',
      {
        generation: { type: DataTypes.BIGINT, primaryKey: true },
        id: { type: DataTypes.STRING(100), primaryKey: true },
        name: { type: DataTypes.STRING(200), allowNull: false },
        brand: { type: DataTypes.STRING(100), allowNull: false },
        category: { type: DataTypes.STRING(100), allowNull: false },
        price: { type: DataTypes.DECIMAL(12, 2), allowNull: false, validate: { min: 0 } },
        currency: { type: DataTypes.CHAR(3), allowNull: false },
        description: { type: DataTypes.TEXT, allowNull: false, defaultValue: '' },
        tags: { type: DataTypes.ARRAY(DataTypes.TEXT), allowNull: false, defaultValue: [] },
        rating: { type: DataTypes.DOUBLE, allowNull: true, validate: { min: 0, max: 5 } },
        url: { type: DataTypes.TEXT, allowNull: true },
        imageUrl: { type: DataTypes.TEXT, allowNull: true, field: 'image_url' },
        inStock: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: true, field: 'in_stock' },
        contentHash: { type: DataTypes.CHAR(64), allowNull: false, field: 'content_hash' },
        updatedAt: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW, field: 'updated_at' },
      },
      { tableName: 'products', timestamps: false },
    ),
  );
  const CatalogState = defineOnce<CatalogStateRow>(sequelize, 'CatalogState', (s) =>
    s.define<CatalogStateRow>(
      'CatalogState',
      {
        singleton: {
          type: DataTypes.BOOLEAN,
          primaryKey: true,
          defaultValue: true,
          validate: { isSingleton: (v: boolean) => check('catalog_state_singleton_check', v === true) },
        },
        generation: { type: DataTypes.BIGINT, allowNull: false },
        version: { type: DataTypes.CHAR(64), allowNull: false },
        productCount: { type: DataTypes.INTEGER, allowNull: false, field: 'product_count', validate: { min: 0 } },
        updatedAt: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW, field: 'updated_at' },
      },
      { tableName: 'catalog_state', timestamps: false },
    ),
  );
  return { Product, CatalogState };
}
