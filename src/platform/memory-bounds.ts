/**
 * Every map, set and LRU the server keeps in process memory beyond one call, and what bounds it,
 * in one place. A long-lived collection imports its bound from here (or from config, named
 * here); `test/platform/memory-bounds.unit.test.ts` fails when a `new Map(`, `new Set(` or
 * `new LRUCache(` appears in src/ that is not listed there with its reason.
 *
 * Bounded by a constant of this module:
 * - the token verifier's LRU of verified tokens: VERIFIED_TOKENS_MAX (src/identity/token-verifier.ts);
 * - the refused-request throttle's LRU of blocked senders: REJECTION_BLOCKED_MAX (src/http/rejection-limit.ts);
 * - the memory conversation store's LRU: MEMORY_MAX_CONVERSATIONS (src/conversations/conversation.store.memory.ts);
 * - the memory rate-limit store's counters: MEMORY_RATE_LIMIT_MAX_KEYS (src/rate-limit/rate-limit.store.memory.ts),
 *   which also bounds the guest-session limiter and the refused-request counts on that backend
 *   (both are keys of that store);
 * - the interned label sets of the HTTP metrics: HTTP_METRIC_LABEL_SETS_MAX (src/http/metrics.middleware.ts);
 * - the catalog provider's price formatters: PRICE_FORMATTERS_MAX (src/assistant/providers/catalog.ts);
 * - the cached answers' validated and serialised forms: STORED_ANSWER_FORMS_MAX
 *   (src/assistant/stored-answer.ts);
 * - single-flight (identical cache misses sharing one provider call): SINGLE_FLIGHT_MAX_KEYS
 *   (src/assistant/single-flight.step.ts).
 *
 * Bounded in config:
 * - the memory query cache's LRU: CACHE_MAX_ENTRIES (config.cache.maxEntries, default 10 000;
 *   src/cache/cache.store.memory.ts): an operator sizes it to the memory they give the process.
 *
 * Bounded by what they hold, with no number of their own:
 * - the memory storage backend (STORAGE_BACKEND=memory: one process, development and tests):
 *   the credit repository's accounts, ledgers and holds, the consent records and the
 *   idempotency records hold one entry per account (times IDEMPOTENCY_MAX_KEYS_PER_USER live
 *   records each, gone 24 h after they began; ledgers and holds past TRANSACTION_RETENTION_DAYS
 *   are deleted by the cleanup). Accounts exist only for a verified token: registered users of
 *   the identity provider, and guests, made at most GUEST_SESSIONS_PER_HOUR an hour and deleted
 *   GUEST_SESSION_TTL_DAYS after their last use. No hard cap: dropping one of these entries
 *   would lose credits or replay a charge, which a cap must never do; production runs on
 *   PostgreSQL.
 * - the breaker registry and every listener set: made once at startup, a fixed handful.
 * - the catalog's search index, its per-block maxima and its label numbers: the catalog, bounded by CATALOG_MAX_BYTES.
 * - module-level Sets and Maps of constants (stop words, SQLSTATEs, column names): fixed.
 */

/**
 * Verified bearer tokens remembered, so the same token needs no second signature check. A token
 * and its caller are a few hundred bytes: ~5 MB at most. A token is remembered 5 minutes at most,
 * so this is the shoppers one process can serve from memory within 5 minutes; past it the least
 * recently used token is verified again (a signature check, no error).
 */
export const VERIFIED_TOKENS_MAX = 10_000;

/**
 * Senders (callers and address groups) one process turns away before parsing, until their
 * minute ends. ~100 bytes each; past it the least recently blocked go first, and they are still
 * counted in shared storage, so they are blocked again at their next refused request.
 */
export const REJECTION_BLOCKED_MAX = 10_000;

/**
 * Conversations the memory conversation store keeps (CONVERSATION_BACKEND=memory, one process).
 * A conversation is at most 20 turns of a few KB: ~1 GB would be the worst case, far more than a
 * development process needs; past it the least recently used conversation is forgotten, which
 * only makes its next follow-up a new question.
 */
export const MEMORY_MAX_CONVERSATIONS = 10_000;

/**
 * Rate-limit counters of the memory rate-limit store (STORAGE_BACKEND=memory): keys are per user
 * and per client address group, so a sender with many addresses could grow them without end.
 * ~150 bytes each: 100 000 are ~15 MB, above any development load. When full, finished windows
 * are dropped first, then the oldest counters (whose limits then start again at 0).
 */
export const MEMORY_RATE_LIMIT_MAX_KEYS = 100_000;

/**
 * Label sets the HTTP metrics intern (method × route template × status). Methods are those
 * Node's parser knows (~35), routes are declared templates and statuses are codes, so real use
 * is a few hundred; past the bound a label set is built per request and not kept.
 */
export const HTTP_METRIC_LABEL_SETS_MAX = 2_000;

/**
 * Intl.NumberFormat per currency and whole/cents in the catalog provider: currencies come from
 * the shop's catalog (ISO 4217 has under 200); past the bound a formatter is built per use.
 */
export const PRICE_FORMATTERS_MAX = 512;

/**
 * Single-flight: distinct keys whose provider call is shared at once, at most. Each key is one
 * provider call running on this process: a healthy process holds a few dozen (fresh answers a second × a call's duration,
 * some hundreds × well under a second), and a hanging upstream opens the assistant breaker within
 * a few timed-out calls, after which calls fail at once and leave the map. 1024 is far past both,
 * so it never takes sharing away from real traffic, while a flood of distinct questions against a
 * slow upstream cannot grow the map (and the answers its promises hold) without end. Past it a
 * call simply runs on its own, uncoalesced: sharing is an optimisation, never a reason to refuse
 * a question.
 */
export const SINGLE_FLIGHT_MAX_KEYS = 1024;

/**
 * Cache entries whose validated answer and serialised products the query route keeps, so that a
 * cached answer served again is not validated and serialised again (src/assistant/stored-answer.ts).
 * An entry holds the value as read, the answer and its products' JSON: about three times the
 * entry's size, a few KB; 1000 are a few MB. Past it the least recently served entry is
 * validated and serialised again at its next hit (no error, no other change).
 */
export const STORED_ANSWER_FORMS_MAX = 1000;
