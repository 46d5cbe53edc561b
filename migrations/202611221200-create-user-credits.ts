import type { Migration } from '../src/platform/migrator.js';

export const up: Migration = async ({ context }) => {
  await context.sql(`
    CREATE TABLE user_credits (
      user_id              varchar(128) PRIMARY KEY,
      is_guest             boolean      NOT NULL,
      available_credits    integer      NOT NULL CONSTRAINT user_credits_available_non_negative CHECK (available_credits >= 0),
      max_credits          integer      NOT NULL CONSTRAINT user_credits_max_positive CHECK (max_credits > 0),
      last_reset_timestamp timestamptz  NOT NULL,
      created_at           timestamptz  NOT NULL DEFAULT now(),
      updated_at           timestamptz  NOT NULL DEFAULT now()
    )`);
};

export const down: Migration = async ({ context }) => {
  await context.sql('DROP TABLE user_credits');
};
