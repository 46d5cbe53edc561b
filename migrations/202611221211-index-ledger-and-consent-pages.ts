import type { Migration } from '../src/platform/migrator.js';

// Keyset pages read "newest first" by (timestamp, id): history pages per user, consent pages
// for operators; retention cleanup finds old ledger rows by timestamp alone.
export const up: Migration = async ({ context }) => {
  await context.sql('CREATE INDEX credit_transactions_user_id_timestamp_id ON credit_transactions (user_id, "timestamp" DESC, id DESC)');
  await context.sql('DROP INDEX credit_transactions_user_id_timestamp');
  await context.sql('CREATE INDEX credit_transactions_timestamp ON credit_transactions ("timestamp")');
  await context.sql('CREATE INDEX user_consents_timestamp_user_id ON user_consents ("timestamp" DESC, user_id COLLATE "C" DESC)');
};

export const down: Migration = async ({ context }) => {
  await context.sql('DROP INDEX user_consents_timestamp_user_id');
  await context.sql('DROP INDEX credit_transactions_timestamp');
  await context.sql('CREATE INDEX credit_transactions_user_id_timestamp ON credit_transactions (user_id, "timestamp")');
  await context.sql('DROP INDEX credit_transactions_user_id_timestamp_id');
};
