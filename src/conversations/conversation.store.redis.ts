import { createStoreClient, slotKey, type RedisStoreOptions } from '../platform/redis-client.js';
import type { Conversation, ConversationStore, ConversationTurn } from './conversation.store.js';

export const DEFAULT_CONVERSATION_KEY_PREFIX = 'shopassist:conv:';

export type RedisConversationStoreOptions = RedisStoreOptions;

/**
 * The value of a conversation's key: the owner's user id, then one turn per line as JSON
 * (JSON.stringify escapes line breaks, and user ids have none). Scripts split and join lines and
 * never decode a turn, so a turn comes back byte for byte as it was written.
 */
const SPLIT = `
local function split(raw)
  local lines = {}
  local pos = 1
  while true do
    local nl = string.find(raw, '\\n', pos, true)
    if not nl then
      lines[#lines + 1] = string.sub(raw, pos)
      return lines
    end
    lines[#lines + 1] = string.sub(raw, pos, nl - 1)
    pos = nl + 1
  end
end
`;

/** KEYS[1] the conversation; ARGV: user id, turn JSON, lifetime (s), turns kept. Nil for another user's. */
const APPEND = `${SPLIT}
local raw = redis.call('GET', KEYS[1])
local lines = {ARGV[1]}
if raw then
  lines = split(raw)
  if lines[1] ~= ARGV[1] then return false end
end
lines[#lines + 1] = ARGV[2]
local max = tonumber(ARGV[4])
local kept = {ARGV[1]}
for i = math.max(2, #lines - max + 1), #lines do kept[#kept + 1] = lines[i] end
local value = table.concat(kept, '\\n')
redis.call('SET', KEYS[1], value, 'EX', tonumber(ARGV[3]))
return value
`;

/** KEYS[1] the conversation; ARGV[1] user id. {value, ms to live} or nil. */
const GET = `${SPLIT}
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
if split(raw)[1] ~= ARGV[1] then return false end
return {raw, redis.call('PTTL', KEYS[1])}
`;

/** KEYS[1] the conversation; ARGV[1] user id. 1 when deleted. */
const DELETE = `${SPLIT}
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
if split(raw)[1] ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
`;

interface ConversationCommands {
  conversationAppend(key: string, userId: string, turn: string, ttlSeconds: number, maxTurns: number): Promise<string | null>;
  conversationGet(key: string, userId: string): Promise<[string, number] | null>;
  conversationDelete(key: string, userId: string): Promise<number>;
}

/**
 * CONVERSATION_BACKEND=redis (ioredis), shared by every API process, on one Redis or a Redis
 * Cluster (see platform/redis-client.ts for how the client fails fast and recovers). One key per
 * conversation, expiring by Redis's own TTL (renewed by each turn). Every command touches that
 * one key only and the id is its hash tag (`…{id}`), so the same scripts run unchanged on a
 * cluster. Each operation is one Lua script (atomic: an owner check and its write cannot be
 * split by another process).
 */
export async function createRedisConversationStore(options: RedisConversationStoreOptions): Promise<ConversationStore> {
  const { redis, prefix } = await createStoreClient(options, { purpose: 'conversation', defaultKeyPrefix: DEFAULT_CONVERSATION_KEY_PREFIX });
  redis.defineCommand('conversationAppend', { numberOfKeys: 1, lua: APPEND });
  redis.defineCommand('conversationGet', { numberOfKeys: 1, lua: GET });
  redis.defineCommand('conversationDelete', { numberOfKeys: 1, lua: DELETE });
  const commands = redis as unknown as ConversationCommands;

  const keyOf = (id: string) => slotKey(prefix, id);
  const parse = (id: string, raw: string, msToLive: number): Conversation => {
    const [userId, ...turns] = raw.split('\n');
    return {
      id,
      userId: userId!,
      turns: turns.map((line) => JSON.parse(line) as ConversationTurn),
      expiresAt: new Date(Date.now() + Math.max(0, msToLive)),
    };
  };
  return {
    backend: 'redis',
    async get(userId, id) {
      const found = await commands.conversationGet(keyOf(id), userId);
      return found ? parse(id, found[0], Number(found[1])) : undefined;
    },
    async append(userId, id, turn, { ttlSeconds, maxTurns }) {
      const raw = await commands.conversationAppend(keyOf(id), userId, JSON.stringify(turn), ttlSeconds, maxTurns);
      return raw === null ? undefined : parse(id, raw, ttlSeconds * 1000);
    },
    async delete(userId, id) {
      return (await commands.conversationDelete(keyOf(id), userId)) === 1;
    },
    cleanupExpired: () => Promise.resolve(0),
    async ping() {
      await redis.ping();
    },
    async close() {
      redis.disconnect();
    },
  };
}
