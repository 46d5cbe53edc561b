import type { Migration } from '../src/platform/migrator.js';

// Fixed-window counters shared by every API process (guest sessions per IP, queries per user).
export const up: Migration = async ({ context }) => {
  await context.sql(`
    CREATE TABLE rate_limit_counters (
      key          varchar(255) PRIMARY KEY,
      window_start timestamptz  NOT NULL,
      window_end   timestamptz  NOT NULL,
      count        integer      NOT NULL CONSTRAINT rate_limit_counters_count_positive CHECK (count > 0),
      CONSTRAINT rate_limit_counters_window_order CHECK (window_end > window_start)
    )`);
  await context.sql('CREATE INDEX rate_limit_counters_window_end ON rate_limit_counters (window_end)');
};

export const down: Migration = async ({ context }) => {
  await context.sql('DROP TABLE rate_limit_counters');
};
