/**
 * A `SELECT` expression that makes the statement's own transaction commit without waiting for
 * the WAL flush (set_config with is_local: that transaction only), for writes no credit depends
 * on: cache entries, conversation turns, the query route's rate-limit counts, an Idempotency-Key's
 * claim. Each use says why it may. A crash of the server may forget the last of them; any later
 * synchronous commit (every balance, ledger, hold and settle write) flushes the WAL up to itself,
 * these included.
 *
 * Not on the embedded database: PGlite has no WAL writer, so an asynchronous commit would stay in
 * memory until the next synchronous one, for as long as none comes, and a killed process would
 * lose it; and there a synchronous commit is only a write to the operating system (no fsync), so
 * it costs next to nothing. The embedded server sets `shopassist.disposable_commit` to `on` for
 * its one session (embedded-postgres.worker.ts), which this expression then keeps.
 */
export const DISPOSABLE_COMMIT = `set_config('synchronous_commit', COALESCE(NULLIF(current_setting('shopassist.disposable_commit', true), ''), 'off'), true)`;

/** The setting the embedded database's session is given: disposable writes commit synchronously there. */
export const EMBEDDED_DISPOSABLE_COMMIT = `SET shopassist.disposable_commit = 'on'`;
