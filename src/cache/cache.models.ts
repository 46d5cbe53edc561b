import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type ModelStatic, type Sequelize } from 'sequelize';
import { check, defineOnce } from '../platform/model-definition.js';
import type { JsonValue } from './cache.store.js';

/**
 * The typed model of `query_cache` (migrations/). Lookups and writes are the batched statements
 * of cache.store.postgres.ts (docs/adr/0010-models-off-the-hot-path.md); the model serves cleanup.
 */
export interface QueryCacheRow extends Model<InferAttributes<QueryCacheRow>, InferCreationAttributes<QueryCacheRow>> {
  queryHash: string;
  result: JsonValue;
  cachedAt: CreationOptional<Date>;
  expiresAt: Date;
}

export function cacheModel(sequelize: Sequelize): ModelStatic<QueryCacheRow> {
  return defineOnce<QueryCacheRow>(sequelize, 'QueryCache', (s) =>
    s.define<QueryCacheRow>(
      'QueryCache',
      {
        queryHash: { type: DataTypes.STRING(128), primaryKey: true, field: 'query_hash' },
        result: { type: DataTypes.JSONB, allowNull: false },
        cachedAt: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW, field: 'cached_at' },
        expiresAt: { type: DataTypes.DATE, allowNull: false, field: 'expires_at' },
      },
      {
        tableName: 'query_cache',
        timestamps: false,
        validate: {
          expiresAfterCached(this: QueryCacheRow) {
            if (this.cachedAt instanceof Date) check('query_cache_expires_after_cached', this.expiresAt.getTime() > this.cachedAt.getTime());
          },
        },
      },
    ),
  );
}
