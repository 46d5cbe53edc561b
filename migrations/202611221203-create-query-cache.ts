import type { Migration } from '../src/platform/migrator.js';

// Expired rows are never served and are deleted in batches by the expires_at index.
export const up: Migration = async ({ context }) => {
  await context.sql(`
    CREATE TABLE query_cache (
      query_hash varchar(128) PRIMARY KEY,
      result     jsonb        NOT NULL,
      cached_at  timestamptz  NOT NULL DEFAULT now(),
      expires_at timestamptz  NOT NULL,
      CONSTRAINT query_cache_expires_after_cached CHECK (expires_at > cached_at)
    )`);
  await context.sql('CREATE INDEX query_cache_expires_at ON query_cache (expires_at)');
};

export const down: Migration = async ({ context }) => {
  await context.sql('DROP TABLE query_cache');
};
