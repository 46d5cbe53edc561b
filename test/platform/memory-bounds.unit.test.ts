import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { labelInterner } from '../../src/http/metrics.middleware.js';
import { HTTP_METRIC_LABEL_SETS_MAX, MEMORY_RATE_LIMIT_MAX_KEYS } from '../../src/platform/memory-bounds.js';
import { MemoryRateLimitStore } from '../../src/rate-limit/rate-limit.store.memory.js';
import { TestClock } from '../contracts/clock.js';

/**
 * Every `new Map(`, `new Set(`, `new LRUCache(` and `new WeakMap(` in src/, and why it cannot
 * grow without bound. `find` is a piece of the line that makes it (every line of `file` holding
 * it is covered). A long-lived collection must name its bound in src/platform/memory-bounds.ts.
 */
const ALLOWED: { file: string; find: string; reason: string; optional?: true }[] = [
  // Long-lived, bounded by a constant or setting named in src/platform/memory-bounds.ts.
  { file: 'src/identity/token-verifier.ts', find: 'new LRUCache<string, Verified>({ max: VERIFIED_TOKENS_MAX })', reason: 'VERIFIED_TOKENS_MAX' },
  { file: 'src/http/rejection-limit.ts', find: 'new LRUCache<string, number>({ max: REJECTION_BLOCKED_MAX })', reason: 'REJECTION_BLOCKED_MAX' },
  { file: 'src/cache/cache.store.memory.ts', find: 'const lru = new LRUCache', reason: 'CACHE_MAX_ENTRIES (config), see memory-bounds' },
  { file: 'src/conversations/conversation.store.memory.ts', find: 'const lru = new LRUCache', reason: 'MEMORY_MAX_CONVERSATIONS' },
  { file: 'src/rate-limit/rate-limit.store.memory.ts', find: 'private readonly counters = new Map', reason: 'MEMORY_RATE_LIMIT_MAX_KEYS' },
  { file: 'src/http/metrics.middleware.ts', find: 'new Map', reason: 'HTTP_METRIC_LABEL_SETS_MAX (the interned label sets, nested maps)' },
  { file: 'src/assistant/providers/catalog.ts', find: 'const formatters = new Map', reason: 'PRICE_FORMATTERS_MAX' },
  { file: 'src/assistant/stored-answer.ts', find: 'new LRUCache<string, Kept>({ max: STORED_ANSWER_FORMS_MAX })', reason: 'STORED_ANSWER_FORMS_MAX' },
  // Single-flight, bounded by SINGLE_FLIGHT_MAX_KEYS (src/assistant/single-flight.step.ts).
  { file: 'src/assistant/single-flight.step.ts', find: 'private readonly running = new Map', reason: 'SINGLE_FLIGHT_MAX_KEYS' },
  // Long-lived, one entry per account (STORAGE_BACKEND=memory), bounded as memory-bounds says.
  { file: 'src/idempotency/idempotency.store.memory.ts', find: 'new Map', reason: 'per account, IDEMPOTENCY_MAX_KEYS_PER_USER each, 24 h' },
  { file: 'src/consent/consent.repository.memory.ts', find: 'private readonly records = new Map', reason: 'per account' },
  { file: 'src/credits/credit.repository.memory.ts', find: 'private readonly rows = new Map', reason: 'per account' },
  { file: 'src/credits/credit.repository.memory.ts', find: 'private readonly ledgers = new Map', reason: 'per account, retention cleanup' },
  { file: 'src/credits/credit.repository.memory.ts', find: 'private readonly holds = new Map', reason: 'per account, retention cleanup' },
  // Long-lived, made at startup: a fixed handful.
  { file: 'src/platform/breaker.ts', find: 'private readonly listeners = new Set', reason: 'subscribers registered at startup' },
  { file: 'src/platform/breaker.ts', find: 'private readonly breakers = new Map', reason: 'the named breakers made at startup' },
  { file: 'src/credits/credit.repository.ts', find: 'private readonly listeners = new Set', reason: 'subscribers registered at startup' },
  { file: 'src/platform/replica-reads.ts', find: 'const announced = new Map', reason: 'one entry per configured replica' },
  { file: 'src/http/openapi-components.ts', find: 'const namedSchemas = new Map', reason: 'schemas registered by the route modules' },
  { file: 'src/platform/db.ts', find: 'new WeakMap', reason: 'weak: per pooled connection' },
  { file: 'src/platform/pooled-query.ts', find: 'new WeakMap', reason: 'weak: per Sequelize instance' },
  // Long-lived, sized by the catalog (CATALOG_MAX_BYTES).
  { file: 'src/assistant/catalog/search-index-builder.ts', find: 'private readonly building = new Map', reason: 'terms of the catalog being indexed' },
  { file: 'src/assistant/catalog/catalog-search.ts', find: 'labelIds = new Map', reason: 'categories and brands of the catalog' },
  { file: 'src/assistant/catalog/top-matches.ts', find: 'const blocksOf = new WeakMap', reason: 'per-block maxima of the live index\'s postings, gone with them' },
  { file: 'src/assistant/catalog/search-index.ts', find: 'const lists = new Map', reason: 'the index\'s terms by length, made once per index (a key per term length)' },
  { file: 'src/assistant/catalog/search-index.ts', find: 'return new Map([...lists]', reason: 'the same, with each term\'s letter set, kept with the index' },
  { file: 'src/assistant/catalog/joint-bounds.ts', find: 'const groupsOf = new WeakMap', reason: 'joint per-block maxima of groups of terms, at most GROUPS_PER_TERM per term\'s postings, gone with them' },
  // Constants.
  { file: 'src/catalog/catalog-upload.ts', find: 'const WS = new Set', reason: 'constant' },
  { file: 'src/catalog/catalog-upload.ts', find: 'const CSV_COLUMNS = new Set', reason: 'constant' },
  { file: 'src/platform/transient-retry.ts', find: '= new Set([', reason: 'constant' },
  { file: 'src/platform/db-guard.ts', find: '= new Set([', reason: 'constant' },
  { file: 'src/platform/pglite-socket-queue.ts', find: 'const MID_QUERY = new Set', reason: 'constant' },
  { file: 'src/platform/pglite-socket-queue.ts', find: 'const HELD = new Set', reason: 'constant' },
  { file: 'src/http/rejection-limit.ts', find: 'const COUNTED_STATUSES = new Set', reason: 'constant' },
  { file: 'src/http/openapi-components.ts', find: 'REQUIRED_HEADERS: ReadonlySet<HeaderName> = new Set', reason: 'constant' },
  { file: 'src/conversations/follow-up.ts', find: 'const AUDIENCES = new Map', reason: 'constant' },
  { file: 'src/conversations/follow-up.ts', find: 'const COLORS = new Set', reason: 'constant' },
  { file: 'src/conversations/follow-up.ts', find: 'const ATTRIBUTES = new Set', reason: 'constant' },
  { file: 'src/conversations/follow-up.ts', find: 'const FILLER = new Set', reason: 'constant' },
  { file: 'src/conversations/follow-up.ts', find: 'const MORE = new Set', reason: 'constant' },
  { file: 'src/config.ts', find: 'const SECRET_VARS = new Set', reason: 'constant' },
  { file: 'src/assistant/catalog/terms.ts', find: 'const STOP_WORDS = new Set', reason: 'constant' },
  { file: 'src/assistant/catalog/terms.ts', find: 'SYNONYMS: ReadonlyMap<string, string> = new Map', reason: 'constant' },
  // Local to one call: garbage once it returns, sized by its input.
  { file: 'src/catalog/catalog.service.ts', find: 'const firstSeen = new Map', reason: 'local' },
  { file: 'src/catalog/catalog.service.ts', find: 'const merged = new Map', reason: 'local' },
  { file: 'src/catalog/catalog-upload.ts', find: 'const seen = new Set', reason: 'local' },
  { file: 'src/catalog/catalog-upload.ts', find: 'const value = new Map', reason: 'local' },
  { file: 'src/platform/batcher.ts', find: 'fetch([...new Set(items.map(', reason: 'local' },
  { file: 'src/cache/cache.store.redis.ts', find: 'const found = new Map', reason: 'local' },
  { file: 'src/cache/cache.store.postgres.ts', find: 'return new Map(rows.map', reason: 'local' },
  { file: 'src/cache/cache.store.postgres.ts', find: 'const latest = new Map', reason: 'local' },
  { file: 'src/http/cors.ts', find: 'const allowed = new Set(origins)', reason: 'CORS_ORIGINS, made once' },
  { file: 'src/http/openapi-responses.ts', find: 'headerRefs(...new Set(headers))', reason: 'local' },
  { file: 'src/http/openapi-responses.ts', find: 'const byStatus = new Map', reason: 'local' },
  { file: 'src/http/openapi-responses.ts', find: 'for (const code of new Set(codes))', reason: 'local' },
  { file: 'src/conversations/follow-up.ts', find: 'const previousWords = new Set', reason: 'local' },
  { file: 'src/conversations/follow-up.ts', find: 'const carriedWords = new Set', reason: 'local' },
  { file: 'src/conversations/follow-up.ts', find: 'const others = [...new Set', reason: 'local' },
  { file: 'src/config.ts', find: 'const seen = new Set', reason: 'local' },
  { file: 'src/assistant/catalog/search-index.ts', find: 'const repeats = new Map', reason: 'local' },
  { file: 'src/assistant/catalog/search-index.ts', find: 'const prefixed = new Set', reason: 'local' },
  { file: 'src/assistant/catalog/catalog.ts', find: 'const seen = new Set', reason: 'local' },
  { file: 'src/assistant/catalog/terms.ts', find: 'return [...new Set(', reason: 'local' },
  { file: 'src/assistant/providers/openai.ts', find: 'const chosen = new Set', reason: 'local' },
  { file: 'src/assistant/providers/openai.ts', find: 'const byId = new Map', reason: 'local' },
  { file: 'src/assistant/providers/openai.ts', find: 'const seen = new Set', reason: 'local' },
  { file: 'src/consent/consent.repository.postgres.ts', find: 'return new Map(rows.map', reason: 'local' },
  { file: 'src/credits/credit.statements.ts', find: 'return new Map(rows.map', reason: 'local' },
  { file: 'src/credits/credit.statements.ts', find: 'const users = new Set', reason: 'local' },
  { file: 'src/credits/credit.statements.ts', find: 'const byUser = new Map', reason: 'local' },
  { file: 'src/credits/credit.statements.ts', find: 'const byId = new Map', reason: 'local' },
  { file: 'src/credits/credit.repository.memory.ts', find: 'const offenders = new Set', reason: 'local' },
  { file: 'src/credits/credit.repository.memory.ts', find: 'for (const userId of new Set(', reason: 'local' },
  { file: 'src/assistant/catalog/catalog-search.ts', find: 'private docOfBuilt = new Map', reason: 'products of the catalog' },
  { file: 'src/assistant/catalog/catalog-search.ts', find: 'docOfChanged = new Map', reason: 'products changed since the last full build (at most 5 % of the catalog, then it is rebuilt)' },
  { file: 'src/assistant/catalog/catalog.ts', find: 'index ??= new Map(products.map', reason: 'per catalog' },
  { file: 'src/assistant/catalog/search-index-builder.ts', find: 'const postings = new Map', reason: 'terms of the catalog' },
  { file: 'src/assistant/catalog/search-index.ts', find: 'const postings = new Map(this.postings)', reason: 'terms of the catalog (the copy a single change makes)' },
  { file: 'src/catalog/catalog.store.postgres.ts', find: 'hashes: new Map(rows.map', reason: 'products of the catalog (content hashes)' },
  { file: 'src/catalog/catalog.store.postgres.ts', find: 'const hashes = new Map', reason: 'products of the catalog (content hashes)' },
  // Constants.
  { file: 'src/assistant/catalog/ranking.ts', find: 'export const HEAD_ENDS = new Set', reason: 'constant' },
  // Local to one call.
  { file: 'src/assistant/catalog/catalog-search.ts', find: 'const distinct = new Set(words).size', reason: 'local' },
  { file: 'src/assistant/catalog/index-parts.ts', find: 'const tfs = new Map', reason: 'local' },
  { file: 'src/assistant/catalog/index-parts.ts', find: 'return new Set(tokens).size', reason: 'local' },
  { file: 'src/conversations/conversation.store.postgres.ts', find: 'return new Map(rows.map', reason: 'local' },
  { file: 'src/assistant/gate/answer-finish.postgres.ts', find: 'const byN = new Map', reason: 'local' },
  { file: 'src/assistant/gate/query-gate.postgres.ts', find: 'const entries = new Map', reason: 'local' },
  { file: 'src/platform/batcher.ts', find: 'const seen = new Map', reason: 'local' },
  { file: 'src/idempotency/idempotency.store.postgres.ts', find: 'const byN = new Map', reason: 'local' },
  { file: 'src/idempotency/idempotency.store.postgres.ts', find: 'const done = new Set', reason: 'local' },
  { file: 'src/assistant/gate/answer-finish.postgres.ts', find: 'const entries = new Map', reason: 'local' },
  { file: 'src/http/route.ts', find: 'const byPath = new Map', reason: 'local (mounting a route table at startup)' },
];

const MAKES = /\bnew\s+(Map|Set|WeakMap|WeakSet|LRUCache)\b/;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? sources(full) : e.name.endsWith('.ts') ? [full] : [];
  });
}

describe('in-process maps and sets', () => {
  it('are each on the allow-list, with a reason, or bounded in src/platform/memory-bounds.ts', () => {
    const used = new Set<number>();
    const unlisted: string[] = [];
    for (const file of sources('src')) {
      const rel = file.split(path.sep).join('/');
      if (rel === 'src/platform/memory-bounds.ts') continue;
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (!MAKES.test(line)) return;
          const entry = ALLOWED.findIndex((a) => (a.file.endsWith('/') ? rel.startsWith(a.file) : rel === a.file) && line.includes(a.find));
          if (entry < 0) unlisted.push(`${rel}:${i + 1}: ${line.trim()}`);
          else used.add(entry);
        });
    }
    expect(unlisted, 'a new Map/Set/LRU in src/: bound it in src/platform/memory-bounds.ts and list it here with its reason').toEqual([]);
    const stale = ALLOWED.filter((a, i) => !used.has(i) && !a.optional).map((a) => `${a.file}: ${a.find}`);
    expect(stale, 'allow-list entries that match nothing any more').toEqual([]);
  });
});

describe('bounds added in src/platform/memory-bounds.ts', () => {
  it('the memory rate-limit store keeps at most MEMORY_RATE_LIMIT_MAX_KEYS counters, and still counts the newest key', async () => {
    const clock = new TestClock();
    const store = new MemoryRateLimitStore(clock.now);
    for (let i = 0; i < MEMORY_RATE_LIMIT_MAX_KEYS + 500; i++) await store.hit(`rejected:ip:${i}`, 60);
    expect(store.size).toBe(MEMORY_RATE_LIMIT_MAX_KEYS);
    expect(await store.hit('rejected:ip:newest', 60)).toMatchObject({ count: 1 });
    expect(await store.hit('rejected:ip:newest', 60)).toMatchObject({ count: 2 });
    expect(store.size).toBe(MEMORY_RATE_LIMIT_MAX_KEYS);
  });

  it('the memory rate-limit store drops finished windows before live ones', async () => {
    const clock = new TestClock();
    const store = new MemoryRateLimitStore(clock.now, 3);
    await store.hit('long', 3600);
    await store.hit('short-1', 60);
    await store.hit('short-2', 60);
    clock.advance(61_000);
    await store.hit('new', 60);
    expect(store.size).toBe(2);
    // 'long' (the first started, still live) was kept: its count goes on.
    expect(await store.hit('long', 3600)).toMatchObject({ count: 2 });
  });

  it('the HTTP metrics intern at most HTTP_METRIC_LABEL_SETS_MAX label sets, and label past it all the same', () => {
    const labelsFor = labelInterner();
    for (let i = 0; i < HTTP_METRIC_LABEL_SETS_MAX + 100; i++) labelsFor('GET', `/route/${i}`, 200);
    expect(labelsFor.size).toBe(HTTP_METRIC_LABEL_SETS_MAX);
    expect(labelsFor('POST', '/past/the/bound', 404)).toEqual({ method: 'POST', route: '/past/the/bound', status: '404' });
    expect(labelsFor.size).toBe(HTTP_METRIC_LABEL_SETS_MAX);
    expect(labelsFor('GET', '/route/0', 200)).toBe(labelsFor('GET', '/route/0', 200));
  });
});
