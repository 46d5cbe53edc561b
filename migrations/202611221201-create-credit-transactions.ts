import type { Migration } from '../src/platform/migrator.js';

// The ledger: one row per change of a balance. `balance_after` makes every row provable on its
// own; the idempotency key is unique per user (NULLs are distinct, so rows without one never clash).
export const up: Migration = async ({ context }) => {
  await context.sql(`
    CREATE TABLE credit_transactions (
      id               bigint       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      user_id          varchar(128) NOT NULL,
      transaction_type varchar(16)  NOT NULL CONSTRAINT credit_transactions_type_known
                         CHECK (transaction_type IN ('grant', 'debit', 'refund', 'reset', 'adjustment', 'carryover')),
      amount           integer      NOT NULL CONSTRAINT credit_transactions_amount_non_zero CHECK (amount <> 0),
      "timestamp"      timestamptz  NOT NULL DEFAULT now(),
      description      text,
      balance_after    integer      NOT NULL CONSTRAINT credit_transactions_balance_after_non_negative CHECK (balance_after >= 0),
      idempotency_key  varchar(255),
      CONSTRAINT credit_transactions_user_idempotency_key UNIQUE (user_id, idempotency_key)
    )`);
  await context.sql('CREATE INDEX credit_transactions_user_id_timestamp ON credit_transactions (user_id, "timestamp")');
};

export const down: Migration = async ({ context }) => {
  await context.sql('DROP TABLE credit_transactions');
};
