import net from 'node:net';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/platform/embedded-postgres.js';
import { keepQueriesWhole } from '../../src/platform/pglite-socket-queue.js';

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

describe('the socket server queue of the embedded database (on this thread, to count its writes)', () => {
  let db: PGlite;
  let socketServer: PGLiteSocketServer;
  let url: string;
  beforeAll(async () => {
    db = await PGlite.create();
    socketServer = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 4 });
    keepQueriesWhole(socketServer);
    await socketServer.start();
    url = `postgres://postgres@${socketServer.getServerConn()}/postgres`;
  });
  afterAll(async () => {
    await socketServer?.stop();
    await db?.close();
  });

  it('writes a query\'s whole answer at once, as a server does, not one write per protocol message', async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query('SELECT $1::int AS n', [0]); // the first answer also carries the parameter status
      const queries = 20;
      const writes = await serverWrites(url, async () => {
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

});

describe('the embedded PostgreSQL\'s thread', () => {
  it('runs a long statement beside this thread\'s event loop, not on it', async () => {
    const server = await startEmbeddedPostgres();
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      let last = performance.now();
      let longestGap = 0;
      const ticker = setInterval(() => {
        const now = performance.now();
        longestGap = Math.max(longestGap, now - last);
        last = now;
      }, 5);
      const started = performance.now();
      try {
        await client.query('SELECT count(*) FROM generate_series(1, 2000000) AS g WHERE g % 7 = 0');
      } finally {
        clearInterval(ticker);
      }
      const took = performance.now() - started;
      expect(took).toBeGreaterThan(150); // long enough for a stall to show
      expect(longestGap).toBeLessThan(took / 2);
    } finally {
      await client.end();
      await server.stop();
    }
  });
});
