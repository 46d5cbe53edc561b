/**
 * pg's client-side `query_timeout` rejects a query whose answer never comes, but leaves the
 * client waiting for that answer: every later query on the connection would queue behind it and
 * time out too. Over a silently hanging network the connection is lost anyway, so on a read
 * timeout it is marked invalid (the pool's `validate` refuses it) and its socket destroyed (the
 * client's error handler makes Sequelize evict it). New connections then replace it, which is
 * how the pool recovers by itself once the database is back.
 */
interface PgConnectionLike {
  query: (...args: unknown[]) => unknown;
  _invalid?: boolean;
  connection?: { stream?: { destroy(): void } };
}

const READ_TIMEOUT = 'Query read timeout';

export function evictOnReadTimeout(client: object): void {
  const c = client as PgConnectionLike;
  const query = c.query.bind(c);
  const evict = (err: unknown) => {
    if (err instanceof Error && err.message === READ_TIMEOUT) {
      c._invalid = true;
      c.connection?.stream?.destroy();
    }
  };
  c.query = (...args: unknown[]) => {
    const last = args.length - 1;
    const callback = args[last];
    if (typeof callback === 'function') {
      args[last] = (err: unknown, result: unknown) => {
        evict(err);
        (callback as (e: unknown, r: unknown) => void)(err, result);
      };
      return query(...args);
    }
    const result = query(...args);
    if (result && typeof (result as Promise<unknown>).catch === 'function') (result as Promise<unknown>).catch(evict);
    return result;
  };
}
