import type { Migration } from '../src/platform/migrator.js';

// Retention cleanup finds old ledger rows by timestamp alone (history pages use the existing
// (user_id, timestamp) index); operators page consent records newest first by (timestamp, user_id).
export const up: Migration = async ({ context }) => {
  await context.sql('CREATE INDEX credit_transactions_timestamp ON credit_transactions ("timestamp")');
  await context.sql('CREATE INDEX user_consents_timestamp_user_id ON user_consents ("timestamp" DESC, user_id COLLATE "C" DESC)');
};

export const down: Migration = async ({ context }) => {
  await context.sql('DROP INDEX user_consents_timestamp_user_id');
  await context.sql('DROP INDEX credit_transactions_timestamp');
};
