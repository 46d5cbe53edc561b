import type { Migration } from '../src/platform/migrator.js';

// Held charges: a fresh answer's debit stays a hold until its answer is recorded (settled) or it
// is given back (refunded), exactly once either way. The hold is written by the charge statement
// itself, beside its debit entry, so `available` equals the sum of the ledger at every instant.
//
// What the database makes impossible, whatever the code does:
// - a hold both settled and refunded: one `state` column, and the CHECK ties each state to its
//   timestamp (settled_at for settled, refunded_at for refunded, neither while held);
// - a hold that changes once it has an outcome: the trigger refuses any update of a settled or
//   refunded hold (and any change of its debit, user or amount);
// - an open hold that vanishes: the trigger refuses to delete a hold still `held` (retention
//   deletes only holds with an outcome);
// - a hold refunded twice: the refund entry's ledger key is `refund:<debit_id>`, unique per user.
// The sweep finds open holds past their expiry through a partial index on `expires_at`.
export const up: Migration = async ({ context }) => {
  await context.sql(`
    CREATE TABLE credit_holds (
      debit_id    bigint       PRIMARY KEY,
      user_id     varchar(128) NOT NULL,
      amount      integer      NOT NULL CONSTRAINT credit_holds_amount_positive CHECK (amount > 0),
      state       varchar(16)  NOT NULL DEFAULT 'held' CONSTRAINT credit_holds_state_known CHECK (state IN ('held', 'settled', 'refunded')),
      created_at  timestamptz  NOT NULL,
      expires_at  timestamptz  NOT NULL,
      settled_at  timestamptz,
      refunded_at timestamptz,
      CONSTRAINT credit_holds_expires_after_creation CHECK (expires_at > created_at),
      CONSTRAINT credit_holds_one_outcome CHECK (
        (state = 'held' AND settled_at IS NULL AND refunded_at IS NULL) OR
        (state = 'settled' AND settled_at IS NOT NULL AND refunded_at IS NULL) OR
        (state = 'refunded' AND refunded_at IS NOT NULL AND settled_at IS NULL))
    )`);
  await context.sql(`CREATE INDEX credit_holds_open_expiry ON credit_holds (expires_at) WHERE state = 'held'`);
  await context.sql('CREATE INDEX credit_holds_user_id ON credit_holds (user_id)');
  await context.sql(`
    CREATE FUNCTION credit_holds_outcome_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        IF OLD.state = 'held' THEN
          RAISE EXCEPTION 'hold % is still open', OLD.debit_id USING ERRCODE = '23514', CONSTRAINT = 'credit_holds_outcome_is_final';
        END IF;
        RETURN OLD;
      END IF;
      IF OLD.state <> 'held' THEN
        RAISE EXCEPTION 'hold % is already %', OLD.debit_id, OLD.state USING ERRCODE = '23514', CONSTRAINT = 'credit_holds_outcome_is_final';
      END IF;
      IF NEW.debit_id <> OLD.debit_id OR NEW.user_id <> OLD.user_id OR NEW.amount <> OLD.amount OR NEW.created_at <> OLD.created_at THEN
        RAISE EXCEPTION 'hold % changes only its state', OLD.debit_id USING ERRCODE = '23514', CONSTRAINT = 'credit_holds_outcome_is_final';
      END IF;
      RETURN NEW;
    END
    $$`);
  await context.sql(`
    CREATE TRIGGER credit_holds_outcome_is_final BEFORE UPDATE OR DELETE ON credit_holds
      FOR EACH ROW EXECUTE FUNCTION credit_holds_outcome_is_final()`);
};

export const down: Migration = async ({ context }) => {
  // The table's triggers go with it; the open-hold guard must not stop the table itself going.
  await context.sql('DROP TABLE credit_holds');
  await context.sql('DROP FUNCTION credit_holds_outcome_is_final()');
};
