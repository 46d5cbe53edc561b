import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type ModelStatic, type Sequelize } from 'sequelize';
import { check, defineOnce } from '../platform/model-definition.js';
import { HOLD_STATES, TRANSACTION_TYPES, type HoldState, type TransactionType } from './credit.repository.js';

/**
 * Typed models of the credit tables (user_credits, credit_transactions, credit_holds; see
 * migrations/), each CHECK constraint mirrored as a validation. They serve the operator and
 * maintenance work of the PostgreSQL repository; every change of a balance stays one guarded
 * statement of credit.sql.ts (docs/adr/0010-models-off-the-hot-path.md).
 */

export interface UserCreditRow extends Model<InferAttributes<UserCreditRow>, InferCreationAttributes<UserCreditRow>> {
  userId: string;
  isGuest: boolean;
  /** CHECK user_credits_available_non_negative. */
  availableCredits: number;
  /** CHECK user_credits_max_positive. */
  maxCredits: number;
  lastResetTimestamp: Date;
  createdAt: CreationOptional<Date>;
  updatedAt: CreationOptional<Date>;
}

export interface CreditTransactionRow extends Model<InferAttributes<CreditTransactionRow>, InferCreationAttributes<CreditTransactionRow>> {
  /** bigint: pg returns it as a string. */
  id: CreationOptional<string>;
  userId: string;
  transactionType: TransactionType;
  /** Never 0 (CHECK credit_transactions_amount_non_zero). */
  amount: number;
  timestamp: CreationOptional<Date>;
  description: string | null;
  /** CHECK credit_transactions_balance_after_non_negative. */
  balanceAfter: number;
  idempotencyKey: string | null;
}

export interface CreditHoldRow extends Model<InferAttributes<CreditHoldRow>, InferCreationAttributes<CreditHoldRow>> {
  /** The debit entry the hold belongs to (bigint: a string). */
  debitId: string;
  userId: string;
  amount: number;
  state: CreationOptional<HoldState>;
  createdAt: Date;
  expiresAt: Date;
  settledAt: CreationOptional<Date | null>;
  refundedAt: CreationOptional<Date | null>;
}

export interface CreditModels {
  UserCredit: ModelStatic<UserCreditRow>;
  CreditTransaction: ModelStatic<CreditTransactionRow>;
  CreditHold: ModelStatic<CreditHoldRow>;
}

export function creditModels(sequelize: Sequelize): CreditModels {
  const UserCredit = defineOnce<UserCreditRow>(sequelize, 'UserCredit', (s) =>
    s.define<UserCreditRow>(
      'UserCredit',
      {
        userId: { type: DataTypes.STRING(128), primaryKey: true, field: 'user_id' },
        isGuest: { type: DataTypes.BOOLEAN, allowNull: false, field: 'is_guest' },
        availableCredits: { type: DataTypes.INTEGER, allowNull: false, field: 'available_credits', validate: { min: 0 } },
        maxCredits: { type: DataTypes.INTEGER, allowNull: false, field: 'max_credits', validate: { min: 1 } },
        lastResetTimestamp: { type: DataTypes.DATE, allowNull: false, field: 'last_reset_timestamp' },
        createdAt: { type: DataTypes.DATE, allowNull: false, field: 'created_at' },
        updatedAt: { type: DataTypes.DATE, allowNull: false, field: 'updated_at' },
      },
      { tableName: 'user_credits', timestamps: true },
    ),
  );

  const CreditTransaction = defineOnce<CreditTransactionRow>(sequelize, 'CreditTransaction', (s) =>
    s.define<CreditTransactionRow>(
      'CreditTransaction',
      {
        id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
        userId: { type: DataTypes.STRING(128), allowNull: false, field: 'user_id' },
        transactionType: { type: DataTypes.STRING(16), allowNull: false, field: 'transaction_type', validate: { isIn: [[...TRANSACTION_TYPES]] } },
        amount: {
          type: DataTypes.INTEGER,
          allowNull: false,
          validate: { nonZero: (v: number) => check('credit_transactions_amount_non_zero', v !== 0) },
        },
        timestamp: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW },
        description: { type: DataTypes.TEXT, allowNull: true },
        balanceAfter: { type: DataTypes.INTEGER, allowNull: false, field: 'balance_after', validate: { min: 0 } },
        idempotencyKey: { type: DataTypes.STRING(255), allowNull: true, field: 'idempotency_key' },
      },
      { tableName: 'credit_transactions', timestamps: false },
    ),
  );

  const CreditHold = defineOnce<CreditHoldRow>(sequelize, 'CreditHold', (s) =>
    s.define<CreditHoldRow>(
      'CreditHold',
      {
        debitId: { type: DataTypes.BIGINT, primaryKey: true, field: 'debit_id' },
        userId: { type: DataTypes.STRING(128), allowNull: false, field: 'user_id' },
        amount: { type: DataTypes.INTEGER, allowNull: false, validate: { min: 1 } },
        state: { type: DataTypes.STRING(16), allowNull: false, defaultValue: 'held', validate: { isIn: [[...HOLD_STATES]] } },
        createdAt: { type: DataTypes.DATE, allowNull: false, field: 'created_at' },
        expiresAt: { type: DataTypes.DATE, allowNull: false, field: 'expires_at' },
        settledAt: { type: DataTypes.DATE, allowNull: true, field: 'settled_at' },
        refundedAt: { type: DataTypes.DATE, allowNull: true, field: 'refunded_at' },
      },
      {
        tableName: 'credit_holds',
        timestamps: false,
        validate: {
          expiresAfterCreation(this: CreditHoldRow) {
            check('credit_holds_expires_after_creation', this.expiresAt.getTime() > this.createdAt.getTime());
          },
          oneOutcome(this: CreditHoldRow) {
            const state = this.state ?? 'held';
            const settled = this.settledAt != null;
            const refunded = this.refundedAt != null;
            check(
              'credit_holds_one_outcome',
              (state === 'held' && !settled && !refunded) || (state === 'settled' && settled && !refunded) || (state === 'refunded' && refunded && !settled),
            );
          },
        },
      },
    ),
  );

  return { UserCredit, CreditTransaction, CreditHold };
}
