import type { Migration } from '../src/platform/migrator.js';

// The cleanup finds guest accounts that no change has touched for GUEST_SESSION_TTL_DAYS,
// least recently touched first; registered accounts are never looked at, so only guests are indexed.
export const up: Migration = async ({ context }) => {
  await context.sql('CREATE INDEX user_credits_idle_guests ON user_credits (updated_at) WHERE is_guest');
};

export const down: Migration = async ({ context }) => {
  await context.sql('DROP INDEX user_credits_idle_guests');
};
