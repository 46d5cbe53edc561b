import { DataTypes, type InferAttributes, type InferCreationAttributes, type Model, type ModelStatic, type Sequelize } from 'sequelize';
import { check, defineOnce } from '../platform/model-definition.js';

/**
 * The typed model of `rate_limit_counters` (migrations/). A hit is the guarded upsert of
 * rate-limit.store.postgres.ts; the model serves cleanup.
 */
export interface RateLimitCounterRow extends Model<InferAttributes<RateLimitCounterRow>, InferCreationAttributes<RateLimitCounterRow>> {
  key: string;
  windowStart: Date;
  windowEnd: Date;
  /** CHECK rate_limit_counters_count_positive. */
  count: number;
}

export function rateLimitModel(sequelize: Sequelize): ModelStatic<RateLimitCounterRow> {
  return defineOnce<RateLimitCounterRow>(sequelize, 'RateLimitCounter', (s) =>
    s.define<RateLimitCounterRow>(
      'RateLimitCounter',
      {
        key: { type: DataTypes.STRING(255), primaryKey: true },
        windowStart: { type: DataTypes.DATE, allowNull: false, field: 'window_start' },
        windowEnd: { type: DataTypes.DATE, allowNull: false, field: 'window_end' },
        count: { type: DataTypes.INTEGER, allowNull: false, validate: { min: 1 } },
      },
      {
        tableName: 'rate_limit_counters',
        timestamps: false,
        validate: {
          windowOrder(this: RateLimitCounterRow) {
            check('rate_limit_counters_window_order', this.windowEnd.getTime() > this.windowStart.getTime());
          },
        },
      },
    ),
  );
}
