import {
  DataTypes,
  type CreationOptional,
  type InferAttributes,
  type InferCreationAttributes,
  type Model,
  type ModelStatic,
  type Sequelize,
} from 'sequelize';

/**
 * Typed Sequelize models of the four original tables of docs/storage.md. They are defined on a given Sequelize
 * instance (never on a module-level one), so each app, and each test, has its own. The schema
 * itself is owned by migrations/; these models never `sync()`.
 */

export interface UserCreditRow
  extends Model<InferAttributes<UserCreditRow>, InferCreationAttributes<UserCreditRow>> {
  userId: string;
  isGuest: boolean;
  availableCredits: number;
  maxCredits: number;
  lastResetTimestamp: Date;
  createdAt: CreationOptional<Date>;
  updatedAt: CreationOptional<Date>;
}

export type TransactionType = 'grant' | 'debit' | 'refund' | 'reset' | 'adjustment' | 'carryover';

export interface CreditTransactionRow
  extends Model<InferAttributes<CreditTransactionRow>, InferCreationAttributes<CreditTransactionRow>> {
  /** bigint: pg returns it as a string. */
  id: CreationOptional<string>;
  userId: string;
  transactionType: TransactionType;
  amount: number;
  timestamp: CreationOptional<Date>;
  description: string | null;
  balanceAfter: number;
  idempotencyKey: string | null;
}

export interface UserConsentRow
  extends Model<InferAttributes<UserConsentRow>, InferCreationAttributes<UserConsentRow>> {
  userId: string;
  termsAccepted: boolean;
  marketingConsent: boolean;
  timestamp: CreationOptional<Date>;
  updatedAt: CreationOptional<Date>;
}

export interface QueryCacheRow extends Model<InferAttributes<QueryCacheRow>, InferCreationAttributes<QueryCacheRow>> {
  queryHash: string;
  result: unknown;
  cachedAt: CreationOptional<Date>;
  expiresAt: Date;
}

export interface Models {
  UserCredit: ModelStatic<UserCreditRow>;
  CreditTransaction: ModelStatic<CreditTransactionRow>;
  UserConsent: ModelStatic<UserConsentRow>;
  QueryCache: ModelStatic<QueryCacheRow>;
}

export function defineModels(sequelize: Sequelize): Models {
  const UserCredit = sequelize.define<UserCreditRow>(
    'UserCredit',
    {
      userId: { type: DataTypes.STRING(128), primaryKey: true, field: 'user_id' },
      isGuest: { type: DataTypes.BOOLEAN, allowNull: false, field: 'is_guest' },
      availableCredits: { type: DataTypes.INTEGER, allowNull: false, field: 'available_credits' },
      maxCredits: { type: DataTypes.INTEGER, allowNull: false, field: 'max_credits' },
      lastResetTimestamp: { type: DataTypes.DATE, allowNull: false, field: 'last_reset_timestamp' },
      createdAt: { type: DataTypes.DATE, field: 'created_at' },
      updatedAt: { type: DataTypes.DATE, field: 'updated_at' },
    },
    { tableName: 'user_credits', timestamps: true },
  );

  const CreditTransaction = sequelize.define<CreditTransactionRow>(
    'CreditTransaction',
    {
      id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
      userId: { type: DataTypes.STRING(128), allowNull: false, field: 'user_id' },
      transactionType: { type: DataTypes.STRING(16), allowNull: false, field: 'transaction_type' },
      amount: { type: DataTypes.INTEGER, allowNull: false },
      timestamp: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW },
      description: { type: DataTypes.TEXT, allowNull: true },
      balanceAfter: { type: DataTypes.INTEGER, allowNull: false, field: 'balance_after' },
      idempotencyKey: { type: DataTypes.STRING(255), allowNull: true, field: 'idempotency_key' },
    },
    { tableName: 'credit_transactions', timestamps: false },
  );

  const UserConsent = sequelize.define<UserConsentRow>(
    'UserConsent',
    {
      userId: { type: DataTypes.STRING(128), primaryKey: true, field: 'user_id' },
      termsAccepted: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: true, field: 'terms_accepted' },
      marketingConsent: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false, field: 'marketing_consent' },
      timestamp: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW },
      updatedAt: { type: DataTypes.DATE, field: 'updated_at' },
    },
    { tableName: 'user_consents', timestamps: true, createdAt: false },
  );

  const QueryCache = sequelize.define<QueryCacheRow>(
    'QueryCache',
    {
      queryHash: { type: DataTypes.STRING(128), primaryKey: true, field: 'query_hash' },
      result: { type: DataTypes.JSONB, allowNull: false },
      cachedAt: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW, field: 'cached_at' },
      expiresAt: { type: DataTypes.DATE, allowNull: false, field: 'expires_at' },
    },
    { tableName: 'query_cache', timestamps: false },
  );

  return { UserCredit, CreditTransaction, UserConsent, QueryCache };
}
