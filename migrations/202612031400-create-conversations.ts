import type { Migration } from '../src/platform/migrator.js';

// One row per conversation: its owner, its turns (a JSON array, at most 20) and when it expires.
// Expired rows are never served and are deleted in batches by the expires_at index.
export const up: Migration = async ({ context }) => {
  await context.sql(`
    CREATE TABLE conversations (
      conversation_id varchar(64)  PRIMARY KEY,
      user_id         varchar(160) NOT NULL,
      turns           jsonb        NOT NULL,
      created_at      timestamptz  NOT NULL DEFAULT now(),
      updated_at      timestamptz  NOT NULL DEFAULT now(),
      expires_at      timestamptz  NOT NULL,
      CONSTRAINT conversations_turns_capped CHECK (jsonb_typeof(turns) = 'array' AND jsonb_array_length(turns) BETWEEN 1 AND 20),
      CONSTRAINT conversations_expires_after_update CHECK (expires_at > updated_at)
    )`);
  await context.sql('CREATE INDEX conversations_expires_at ON conversations (expires_at)');
};

export const down: Migration = async ({ context }) => {
  await context.sql('DROP TABLE conversations');
};
