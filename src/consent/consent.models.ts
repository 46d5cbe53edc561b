import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type ModelStatic, type Sequelize } from 'sequelize';
import { defineOnce } from '../platform/model-definition.js';

/**
 * The typed model of `user_consents` (migrations/). No Sequelize-managed timestamps: both
 * columns are the database's clock (or a test's), set by the repository's statements.
 */
export interface UserConsentRow extends Model<InferAttributes<UserConsentRow>, InferCreationAttributes<UserConsentRow>> {
  userId: string;
  termsAccepted: CreationOptional<boolean>;
  marketingConsent: CreationOptional<boolean>;
  /** When the user first recorded a choice. */
  timestamp: CreationOptional<Date>;
  /** When the choice last changed. */
  updatedAt: CreationOptional<Date>;
}

export function consentModel(sequelize: Sequelize): ModelStatic<UserConsentRow> {
  return defineOnce<UserConsentRow>(sequelize, 'UserConsent', (s) =>
    s.define<UserConsentRow>(
      'UserConsent',
      {
        userId: { type: DataTypes.STRING(128), primaryKey: true, field: 'user_id' },
        termsAccepted: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: true, field: 'terms_accepted' },
        marketingConsent: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false, field: 'marketing_consent' },
        timestamp: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW },
        updatedAt: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW, field: 'updated_at' },
      },
      { tableName: 'user_consents', timestamps: false },
    ),
  );
}
