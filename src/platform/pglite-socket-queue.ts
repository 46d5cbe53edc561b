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
 */

/** Messages that continue an extended-protocol query until its Sync. */
const MID_QUERY = new Set(['P', 'B', 'D', 'E', 'C', 'H'].map((c) => c.charCodeAt(0)));

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
  db: { isInTransaction(): boolean; runExclusive<T>(fn: () => Promise<T>): Promise<T>; execProtocolRawStream(message: Uint8Array, options: { onRawData(data: Uint8Array): void }): Promise<unknown> };
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
        let bytes = 0;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(item.message, {
              onRawData: (data) => {
                bytes += data.length;
                item.onData(data);
              },
            }),
          );
        } catch (err) {
          midQuery = null;
          item.reject(err);
          continue;
        }
        midQuery = MID_QUERY.has(item.message[0] ?? 0) ? item.handlerId : null;
        this.lastHandlerId = item.handlerId;
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
      void this.processQueue();
    }
  };
}
