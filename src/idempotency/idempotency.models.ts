import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type ModelStatic, type Sequelize } from 'sequelize';
import { check, defineOnce } from '../platform/model-definition.js';
import type { StoredResponse } from './idempotency.store.js';

/** The record states (the CHECK `idempotency_keys_status_known`). */
export const IDEMPOTENCY_STATUSES = ['in_progress', 'completed'] as const;
export type IdempotencyStatus = (typeof IDEMPOTENCY_STATUSES)[number];

/**
 * The typed model of `idempotency_keys` (migrations/). `begin` and `complete` are the guarded
 * statements of idempotency.store.postgres.ts (docs/adr/0010-models-off-the-hot-path.md); the
 * model serves cleanup.
 */
export interface IdempotencyKeyRow extends Model<InferAttributes<IdempotencyKeyRow>, InferCreationAttributes<IdempotencyKeyRow>> {
  userId: string;
  key: string;
  requestHash: string;
  status: IdempotencyStatus;
  /** Set once completed (CHECK idempotency_keys_completed_has_response). */
  response: StoredResponse | null;
  attempt: string;
  chargeToken: string;
  createdAt: CreationOptional<Date>;
  lockedUntil: Date;
  expiresAt: Date;
}

export function idempotencyModel(sequelize: Sequelize): ModelStatic<IdempotencyKeyRow> {
  return defineOnce<IdempotencyKeyRow>(sequelize, 'IdempotencyKey', (s) =>
    s.define<IdempotencyKeyRow>(
      'IdempotencyKey',
      {
        userId: { type: DataTypes.STRING(128), primaryKey: true, field: 'user_id' },
        key: { type: DataTypes.STRING(255), primaryKey: true },
        requestHash: { type: DataTypes.STRING(64), allowNull: false, field: 'request_hash' },
        status: { type: DataTypes.STRING(16), allowNull: false, validate: { isIn: [[...IDEMPOTENCY_STATUSES]] } },
        response: { type: DataTypes.JSONB, allowNull: true },
        attempt: { type: DataTypes.STRING(64), allowNull: false },
        chargeToken: { type: DataTypes.STRING(64), allowNull: false, field: 'charge_token' },
        createdAt: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW, field: 'created_at' },
        lockedUntil: { type: DataTypes.DATE, allowNull: false, field: 'locked_until' },
        expiresAt: { type: DataTypes.DATE, allowNull: false, field: 'expires_at' },
      },
      {
        tableName: 'idempotency_keys',
        timestamps: false,
        validate: {
          completedHasResponse(this: IdempotencyKeyRow) {
            check('idempotency_keys_completed_has_response', this.status !== 'completed' || this.response != null);
          },
        },
      },
    ),
  );
}
