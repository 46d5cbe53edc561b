import type { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/**
 * The socket server of the embedded database queues every wire-protocol message of every client
 * connection and runs them one at a time on its single backend. It keeps a transaction's messages
 * together, but not the messages of one extended-protocol query (Parse, Bind, Describe, Execute
 * … Sync): another connection's Bind could land between a Bind and its Execute and replace the
 * unnamed portal, so a query would run another's statement (wrong rows) or fail ("portal does
 * not exist"). This makes the queue finish one connection's query, up to its Sync, before it
 * takes a message of another connection, as a real server does by having a backend per
 * connection. It relies on the queue's internals of the pinned @electric-sql/pglite-socket
 * version (checked at start: a version without them fails loudly, not silently).
 *
 * It also answers a query in one write, as a server's backend does: the socket server writes the
 * answer of each message as it comes (ParseComplete, BindComplete, the rows, …: four or five
 * writes, and as many reads for `pg`, a statement), while the client waits for nothing before its
 * Sync or Flush. The answers of Parse, Bind, Describe, Execute and Close are held and written
 * with the answer of the message that ends the query (Sync, Flush, or any other). PGlite's files
 * are synced at that message too, not after each message of the query (its implicit transaction
 * commits at the Sync; on the Node file system the sync is a no-op).
 */

/** Messages that continue an extended-protocol query until its Sync. */
const MID_QUERY = new Set(['P', 'B', 'D', 'E', 'C', 'H'].map((c) => c.charCodeAt(0)));
/** Of those, the ones whose answer the client waits for only at the Sync or Flush that follows. */
const HELD = new Set(['P', 'B', 'D', 'E', 'C'].map((c) => c.charCodeAt(0)));

interface QueuedMessage {
  handlerId: number;
  message: Uint8Array;
  resolve(bytes: number): void;
  reject(err: unknown): void;
  onData(data: Uint8Array): void;
}

interface QueryQueue {
  queue: QueuedMessage[];
  processing: boolean;
  lastHandlerId: number | null;
  db: {
    isInTransaction(): boolean;
    runExclusive<T>(fn: () => Promise<T>): Promise<T>;
    execProtocolRawStream(message: Uint8Array, options: { syncToFs?: boolean; onRawData(data: Uint8Array): void }): Promise<unknown>;
  };
  processQueue(): Promise<void>;
  clearQueueForHandler(handlerId: number): void;
}

export function keepQueriesWhole(server: PGLiteSocketServer): void {
  const queue = (server as unknown as { queryQueue?: QueryQueue }).queryQueue;
  if (!queue || !Array.isArray(queue.queue) || typeof queue.processQueue !== 'function' || typeof queue.clearQueueForHandler !== 'function') {
    throw new Error('The embedded database socket server is not the version this app was written for (its query queue changed).');
  }
  /** The connection whose query is under way (its last message was not a Sync). */
  let midQuery: number | null = null;
  /** Answers held for the connection whose query is under way, written with its last message's. */
  let held: Uint8Array[] = [];
  /** The held answers and `last` as one buffer (`last` itself when nothing is held). */
  const release = (last: Uint8Array[]): Uint8Array => {
    const parts = held.length === 0 ? last : [...held, ...last];
    held = [];
    if (parts.length === 1) return parts[0]!;
    return Buffer.concat(parts);
  };

  queue.processQueue = async function processQueue(this: QueryQueue): Promise<void> {
    if (this.processing || this.queue.length === 0) return;
    this.processing = true;
    try {
      while (this.queue.length > 0) {
        const owner = midQuery ?? (this.db.isInTransaction() ? this.lastHandlerId : null);
        let next: QueuedMessage | undefined;
        if (owner !== null) {
          const at = this.queue.findIndex((m) => m.handlerId === owner);
          // The owner's next message has not arrived yet: wait for it (its enqueue restarts us).
          if (at === -1) break;
          next = this.queue.splice(at, 1)[0];
        } else {
          next = this.queue.shift();
        }
        if (!next) break;
        const item = next;
        const type = item.message[0] ?? 0;
        const answer: Uint8Array[] = [];
        let bytes = 0;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(item.message, {
              // PGlite reuses the buffer it streams from: keep a copy of what is held.
              onRawData: (data) => {
                bytes += data.length;
                answer.push(data.slice());
              },
              syncToFs: !MID_QUERY.has(type),
            }),
          );
        } catch (err) {
          midQuery = null;
          const out = release(answer);
          if (out.length > 0) item.onData(out);
          item.reject(err);
          continue;
        }
        midQuery = MID_QUERY.has(type) ? item.handlerId : null;
        this.lastHandlerId = item.handlerId;
        if (HELD.has(type)) {
          held.push(...answer);
        } else {
          const out = release(answer);
          if (out.length > 0) item.onData(out);
        }
        item.resolve(bytes);
      }
    } finally {
      this.processing = false;
    }
  };

  const clear = queue.clearQueueForHandler.bind(queue);
  queue.clearQueueForHandler = function clearQueueForHandler(this: QueryQueue, handlerId: number): void {
    clear(handlerId);
    if (midQuery === handlerId) {
      midQuery = null;
      held = [];
      void this.processQueue();
    }
  };
}
