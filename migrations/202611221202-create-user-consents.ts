import type { Migration } from '../src/platform/migrator.js';

export const up: Migration = async ({ context }) => {
  await context.sql(`
    CREATE TABLE user_consents (
      user_id           varchar(128) PRIMARY KEY,
      terms_accepted    boolean      NOT NULL DEFAULT true,
      marketing_consent boolean      NOT NULL DEFAULT false,
      "timestamp"       timestamptz  NOT NULL DEFAULT now(),
      updated_at        timestamptz  NOT NULL DEFAULT now()
    )`);
};

export const down: Migration = async ({ context }) => {
  await context.sql('DROP TABLE user_consents');
};
