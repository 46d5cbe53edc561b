import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type ModelStatic, type Sequelize } from 'sequelize';
import { check, defineOnce } from '../platform/model-definition.js';
import type { ConversationTurn } from './conversation.store.js';

/** Turns a row holds at most (the CHECK `conversations_turns_capped`). */
export const MAX_STORED_TURNS = 20;

/**
 * The typed model of `conversations` (migrations/): reads, deletes and cleanup go through it;
 * a turn is added by the batched append statement of conversation.store.postgres.ts
 * (docs/adr/0010-models-off-the-hot-path.md).
 */
export interface ConversationRow extends Model<InferAttributes<ConversationRow>, InferCreationAttributes<ConversationRow>> {
  conversationId: string;
  userId: string;
  /** Oldest first, 1 to 20 of them. */
  turns: ConversationTurn[];
  createdAt: CreationOptional<Date>;
  updatedAt: CreationOptional<Date>;
  /** After updatedAt (CHECK conversations_expires_after_update). */
  expiresAt: Date;
}

export function conversationModel(sequelize: Sequelize): ModelStatic<ConversationRow> {
  return defineOnce<ConversationRow>(sequelize, 'Conversation', (s) =>
    s.define<ConversationRow>(
      'Conversation',
      {
        conversationId: { type: DataTypes.STRING(64), primaryKey: true, field: 'conversation_id' },
        userId: { type: DataTypes.STRING(160), allowNull: false, field: 'user_id' },
        turns: {
          type: DataTypes.JSONB,
          allowNull: false,
          validate: {
            capped: (v: unknown) => check('conversations_turns_capped', Array.isArray(v) && v.length >= 1 && v.length <= MAX_STORED_TURNS),
          },
        },
        createdAt: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW, field: 'created_at' },
        updatedAt: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW, field: 'updated_at' },
        expiresAt: { type: DataTypes.DATE, allowNull: false, field: 'expires_at' },
      },
      {
        tableName: 'conversations',
        timestamps: false,
        validate: {
          expiresAfterUpdate(this: ConversationRow) {
            if (this.updatedAt instanceof Date) check('conversations_expires_after_update', this.expiresAt.getTime() > this.updatedAt.getTime());
          },
        },
      },
    ),
  );
}
