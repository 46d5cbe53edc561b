import type { Migration } from '../src/platform/migrator.js';

// Idempotency-Key records of the assistant query route: the outcome of a completed request is
// kept for 24 h so a retry (from any process, after any restart) replays it. An in-progress
// row holds a short lease, so a retry waits for it, and a crashed attempt is taken over when
// its lease ends.
export const up: Migration = async ({ context }) => {
  await context.sql(`
    CREATE TABLE idempotency_keys (
      user_id      varchar(128) NOT NULL,
      key          varchar(255) NOT NULL,
      request_hash varchar(64)  NOT NULL,
      status       varchar(16)  NOT NULL CONSTRAINT idempotency_keys_status_known CHECK (status IN ('in_progress', 'completed')),
      response     jsonb,
      attempt      varchar(64)  NOT NULL,
      charge_token varchar(64)  NOT NULL,
      created_at   timestamptz  NOT NULL DEFAULT now(),
      locked_until timestamptz  NOT NULL,
      expires_at   timestamptz  NOT NULL,
      PRIMARY KEY (user_id, key),
      CONSTRAINT idempotency_keys_completed_has_response CHECK (status <> 'completed' OR response IS NOT NULL)
    )`);
  await context.sql('CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at)');
};

export const down: Migration = async ({ context }) => {
  await context.sql('DROP TABLE idempotency_keys');
};
