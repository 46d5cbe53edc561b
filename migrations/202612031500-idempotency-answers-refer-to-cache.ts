import type { Migration } from '../src/platform/migrator.js';

// A completed Idempotency-Key record may refer to the query_cache row holding its answer instead
// of keeping a copy (docs/adr/0011): `cache_ref` names the row, `cache_fields` the top-level
// fields of the response that row holds; `response` keeps the rest. Triggers on query_cache copy
// the referred fields into every record still referring to a row, BEFORE its answer changes or
// the row goes (overwrite, clear, cleanup, TRUNCATE), so a referred answer is never lost or
// changed while its record lives. A replay reads the answer through one join.

/** The referred fields of the records `$where` selects, copied from `$source`'s row into `response`. */
const copyBack = (source: string) =>
  `response = k.response || (SELECT jsonb_object_agg(f, ${source}.result -> f) FROM unnest(k.cache_fields) AS f),
   cache_ref = NULL, cache_fields = NULL`;

export const up: Migration = async ({ context }) => {
  await context.sql(`
    ALTER TABLE idempotency_keys
      ADD COLUMN cache_ref    varchar(128),
      ADD COLUMN cache_fields text[],
      ADD CONSTRAINT idempotency_keys_cache_ref_whole CHECK ((cache_ref IS NULL) = (cache_fields IS NULL)),
      ADD CONSTRAINT idempotency_keys_cache_ref_completed CHECK (cache_ref IS NULL OR status = 'completed')`);
  await context.sql('CREATE INDEX idempotency_keys_cache_ref ON idempotency_keys (cache_ref) WHERE cache_ref IS NOT NULL');

  // A plpgsql statement takes a fresh snapshot under READ COMMITTED, so the copy sees every
  // reference committed before this transaction got the row's lock (a completion takes its
  // reference under FOR SHARE of the row, so it either committed before, or waits and then sees
  // the row changed). Under REPEATABLE READ or SERIALIZABLE the transaction's snapshot would hide
  // such a reference: those are refused.
  await context.sql(`
    CREATE FUNCTION query_cache_keep_referred_answers() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'query_cache rows are changed under READ COMMITTED only (idempotency records may refer to them)'
          USING ERRCODE = 'feature_not_supported';
      END IF;
      IF TG_LEVEL = 'STATEMENT' THEN
        UPDATE idempotency_keys k SET ${copyBack('q')} FROM query_cache q WHERE q.query_hash = k.cache_ref;
        RETURN NULL;
      END IF;
      UPDATE idempotency_keys k SET ${copyBack('OLD')} WHERE k.cache_ref = OLD.query_hash;
      IF TG_OP = 'DELETE' THEN
        RETURN OLD;
      END IF;
      RETURN NEW;
    END
    $fn$`);
  // The answer is compared as text: jsonb equality calls 1.0 and 1 equal, a replay would not.
  await context.sql(`
    CREATE TRIGGER query_cache_answer_changes BEFORE UPDATE ON query_cache FOR EACH ROW
      WHEN (OLD.result::text IS DISTINCT FROM NEW.result::text OR OLD.query_hash IS DISTINCT FROM NEW.query_hash)
      EXECUTE FUNCTION query_cache_keep_referred_answers()`);
  await context.sql(`
    CREATE TRIGGER query_cache_answer_goes BEFORE DELETE ON query_cache FOR EACH ROW
      EXECUTE FUNCTION query_cache_keep_referred_answers()`);
  await context.sql(`
    CREATE TRIGGER query_cache_truncated BEFORE TRUNCATE ON query_cache FOR EACH STATEMENT
      EXECUTE FUNCTION query_cache_keep_referred_answers()`);
};

export const down: Migration = async ({ context }) => {
  // Every reference becomes a copy first: rolling back loses no answer.
  await context.sql(`UPDATE idempotency_keys k SET ${copyBack('q')} FROM query_cache q WHERE q.query_hash = k.cache_ref`);
  await context.sql('DROP TRIGGER query_cache_truncated ON query_cache');
  await context.sql('DROP TRIGGER query_cache_answer_goes ON query_cache');
  await context.sql('DROP TRIGGER query_cache_answer_changes ON query_cache');
  await context.sql('DROP FUNCTION query_cache_keep_referred_answers()');
  await context.sql('DROP INDEX idempotency_keys_cache_ref');
  await context.sql(`
    ALTER TABLE idempotency_keys
      DROP CONSTRAINT idempotency_keys_cache_ref_completed,
      DROP CONSTRAINT idempotency_keys_cache_ref_whole,
      DROP COLUMN cache_fields,
      DROP COLUMN cache_ref`);
};
