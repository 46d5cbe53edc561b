import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/platform/embedded-postgres.js';

/** The writes the server's side of its connections makes while `run` goes. */
async function serverWrites(url: string, run: () => Promise<void>): Promise<number> {
  const port = Number(new URL(url).port);
  const proto = net.Socket.prototype as unknown as { write: (...args: unknown[]) => boolean };
  const original = proto.write;
  let writes = 0;
  proto.write = function counted(this: net.Socket, ...args: unknown[]) {
    if (this.localPort === port) writes++;
    return original.apply(this, args);
  };
  try {
    await run();
  } finally {
    proto.write = original;
  }
  return writes;
}

describe('the embedded PostgreSQL socket server', () => {
  let server: EmbeddedPostgres;
  beforeAll(async () => {
    server = await startEmbeddedPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers each query with its own rows while several connections query at once', async () => {
    const pool = new pg.Pool({ connectionString: server.url, max: 8 });
    try {
      const answers = await Promise.all(
        Array.from({ length: 200 }, async (_, i) => {
          const r = await pool.query<{ n: number; label: string }>('SELECT $1::int AS n, $2::text AS label', [i, `q${i}`]);
          return r.rows;
        }),
      );
      answers.forEach((rows, i) => expect(rows).toEqual([{ n: i, label: `q${i}` }]));
    } finally {
      await pool.end();
    }
  });

  it('writes a query\'s whole answer at once, as a server does, not one write per protocol message', async () => {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      await client.query('SELECT $1::int AS n', [0]); // the first answer also carries the parameter status
      const queries = 20;
      const writes = await serverWrites(server.url, async () => {
        for (let i = 0; i < queries; i++) {
          const r = await client.query<{ n: number }>('SELECT $1::int AS n', [i]);
          expect(r.rows).toEqual([{ n: i }]);
        }
      });
      // Parse, Bind, Describe, Execute and Sync each answer; their answers go in one write.
      expect(writes).toBe(queries);
    } finally {
      await client.end();
    }
  });

  it('answers a failing query with its error at the Sync, and the connection goes on', async () => {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      await expect(client.query('SELECT $1::int FROM no_such_table', [1])).rejects.toThrow(/no_such_table/);
      await expect(client.query('SELECT $1::int / 0 AS x', [1])).rejects.toThrow(/division by zero/);
      const r = await client.query<{ n: number }>('SELECT $1::int AS n', [7]);
      expect(r.rows).toEqual([{ n: 7 }]);
    } finally {
      await client.end();
    }
  });
});
