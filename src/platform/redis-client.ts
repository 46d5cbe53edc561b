import { Cluster, Redis } from 'ioredis';
import type { Logger } from './logger.js';

/**
 * One way to reach Redis for every Redis-backed store (the query cache today; any later store
 * such as conversations uses the same factory): a single Redis (REDIS_URL) or a Redis Cluster
 * (REDIS_CLUSTER_NODES, which replaces REDIS_URL where set). Both are built to fail fast in an
 * outage: no offline queue (a command while disconnected rejects at once instead of waiting for
 * a reconnect), one retry per command at most, a command timeout for a peer that hangs
 * silently; the client keeps reconnecting (and, on a cluster, refreshing its slot map) in the
 * background, so a store comes back by itself.
 *
 * Commands issued in one turn of the event loop are sent together (ioredis auto-pipelining):
 * concurrent requests' reads share one round trip per node, as the PostgreSQL store's reads
 * share one statement.
 */
export type RedisTarget = { kind: 'single'; url: string } | { kind: 'cluster'; nodes: { host: string; port: number }[] };

export type RedisClient = Redis | Cluster;

export interface RedisClientOptions {
  target: RedisTarget;
  /** Gives up on a command after this long (ms). */
  commandTimeoutMs: number;
  /** Gives up on a new connection after this long (ms). */
  connectTimeoutMs: number;
  /** What the client serves, for its log lines (`cache`, …). */
  purpose: string;
  logger: Logger;
}

/** REDIS_CLUSTER_NODES when set, else REDIS_URL. */
export function redisTarget(settings: { redisUrl: string; redisClusterNodes?: { host: string; port: number }[] | undefined }): RedisTarget {
  return settings.redisClusterNodes && settings.redisClusterNodes.length > 0
    ? { kind: 'cluster', nodes: settings.redisClusterNodes }
    : { kind: 'single', url: settings.redisUrl };
}

const reconnectDelay = (attempt: number) => Math.min(100 * attempt, 1000);

/** Connects (a Redis that is down at start is an outage like any other, not a failed start). */
export async function createRedisClient(options: RedisClientOptions): Promise<RedisClient> {
  const { target, logger, purpose } = options;
  const perConnection = {
    maxRetriesPerRequest: 1,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: options.connectTimeoutMs,
  };
  const client: RedisClient =
    target.kind === 'single'
      ? new Redis(target.url, {
          ...perConnection,
          lazyConnect: true,
          enableOfflineQueue: false,
          enableAutoPipelining: true,
          retryStrategy: reconnectDelay,
        })
      : new Cluster(target.nodes, {
          lazyConnect: true,
          enableOfflineQueue: false,
          enableAutoPipelining: true,
          clusterRetryStrategy: reconnectDelay,
          // A failed master: its slots are re-read from the other nodes soon, not in 5 s.
          slotsRefreshTimeout: options.connectTimeoutMs,
          slotsRefreshInterval: 5000,
          retryDelayOnFailover: 50,
          retryDelayOnClusterDown: 50,
          retryDelayOnTryAgain: 50,
          maxRedirections: 4,
          redisOptions: perConnection,
        });
  // Log the first error of an outage and the recovery, not every reconnect attempt.
  let healthy = true;
  client.on('error', (err: Error) => {
    if (!healthy) return;
    healthy = false;
    logger.warn({ event: `${purpose}_redis_error`, cluster: target.kind === 'cluster', err: { message: err.message } }, `Redis ${purpose} connection failed`);
  });
  client.on('ready', () => {
    if (healthy) return;
    healthy = true;
    logger.info({ event: `${purpose}_redis_ready`, cluster: target.kind === 'cluster' }, `Redis ${purpose} connection restored`);
  });
  // A cluster with a node node down rejects `connect`: the client goes on trying by itself.
  await client.connect().catch(() => {});
  return client;
}

/**
 * A key whose slot is decided by `tag` alone (Redis Cluster hashes only the part in braces):
 * keys with the same tag always share a slot, so multi-key commands and transactions over them
 * work on a cluster. `prefix` and `tag` must not contain braces.
 */
export function slotKey(prefix: string, tag: string, suffix = ''): string {
  return `${prefix}{${tag}}${suffix}`;
}

/** Throws unless `prefix` can go in front of slotKey's tag (no braces, which would move the tag). */
export function assertKeyPrefix(prefix: string): void {
  if (/[{}]/.test(prefix)) throw new Error(`a Redis key prefix must not contain braces: ${prefix}`);
}

/** What a store on Redis (the cache, the conversations) is configured with. */
export interface RedisStoreOptions {
  /** A single Redis (REDIS_URL) or a Redis Cluster (REDIS_CLUSTER_NODES); see redisTarget. */
  target: RedisTarget;
  /** Every key the store writes starts with it (no braces). */
  keyPrefix?: string;
  /** Gives up on a command after this long (ms); default 500. */
  commandTimeoutMs?: number;
  /** Gives up on a new connection after this long (ms); default 1000. */
  connectTimeoutMs?: number;
  logger: Logger;
}

/**
 * The client of a store on Redis and the prefix of its keys (the store's default unless
 * configured; checked by assertKeyPrefix), with the stores' common time limits.
 */
export async function createStoreClient(
  options: RedisStoreOptions,
  store: { purpose: string; defaultKeyPrefix: string },
): Promise<{ redis: RedisClient; prefix: string }> {
  const prefix = options.keyPrefix ?? store.defaultKeyPrefix;
  assertKeyPrefix(prefix);
  const redis = await createRedisClient({
    target: options.target,
    commandTimeoutMs: options.commandTimeoutMs ?? 500,
    connectTimeoutMs: options.connectTimeoutMs ?? 1000,
    purpose: store.purpose,
    logger: options.logger,
  });
  return { redis, prefix };
}

/**
 * Every key matching `pattern`, handed over a page at a time: SCAN on the one Redis, or on each
 * master of a cluster (every master holds its own share of the keys).
 */
export async function scanKeys(client: RedisClient, pattern: string, onPage: (keys: string[]) => Promise<void>): Promise<void> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  // A cluster that knows no master (none reachable yet) must not look like an empty one.
  if (client instanceof Cluster && (client.status !== 'ready' || nodes.length === 0)) throw new Error('the Redis Cluster is not reachable');
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await onPage(keys);
    } while (cursor !== '0');
  }
}
