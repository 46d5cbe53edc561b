import { AsyncLocalStorage } from 'node:async_hooks';
import type { RequestListener } from 'node:http';
import pg from 'pg';

/**
 * Counts the statements an app sends to PostgreSQL while it handles a request: every statement,
 * whether Sequelize's or the hot path's own (pooledQuery), leaves through a `pg` Client's `query`,
 * one round trip each (a named statement's parse, bind and execute go out together). The count
 * is taken in the request's async context, so a timer of the app (catalog refresh, hold sweep)
 * that fires meanwhile is not counted; a batched statement is counted for the request whose
 * turn sent it, so count with one request at a time: then it is the statements each request
 * costs. Install it before the app connects: a connection binds the Client's `query` as it is
 * when the connection is made (src/platform/pg-eviction.ts).
 */
export interface RoundTripCounter {
  /** Wraps an app (an Express app or any request listener): its requests are counted while `measure` runs. */
  wrap(app: RequestListener): RequestListener;
  /** Runs `send` and resolves the statements its request sent, each named as `label` names it. */
  measure<T>(send: () => Promise<T>): Promise<{ result: T; statements: string[] }>;
  /** Puts the `pg` Client back as it was. */
  restore(): void;
}

interface QueryConfig {
  name?: string;
  text?: string;
}

/**
 * A statement as the count lists it: a named statement by its name (without the connection's
 * prefix), any other by its first words.
 */
export function label(arg: unknown): string {
  const config: QueryConfig = typeof arg === 'string' ? { text: arg } : ((arg ?? {}) as QueryConfig);
  if (config.name) return config.name.replace(/^sa[0-9a-f]{12}_/, '');
  return (config.text ?? '').replace(/\s+/g, ' ').trim().slice(0, 80);
}

export function countRoundTrips(): RoundTripCounter {
  const context = new AsyncLocalStorage<string[]>();
  let current: string[] | undefined;
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function counted(this: unknown, ...args: unknown[]) {
    const sink = context.getStore();
    if (sink && sink === current) sink.push(label(args[0]));
    return original.apply(this, args);
  };
  return {
    wrap: (app) => (req, res) => {
      // The request is counted when it arrives during a measure.
      if (current) context.run(current, () => app(req, res));
      else app(req, res);
    },
    async measure(send) {
      if (current) throw new Error('one request at a time');
      const statements: string[] = [];
      current = statements;
      try {
        const result = await send();
        // Whatever the request still sends after its response (none today) is counted too.
        await new Promise((resolve) => setTimeout(resolve, 50));
        return { result, statements: [...statements] };
      } finally {
        current = undefined;
      }
    },
    restore() {
      proto.query = original;
    },
  };
}
