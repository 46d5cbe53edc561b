import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPostgresConversationStore } from '../../src/conversations/conversation.store.postgres.js';
import type { ConversationTurn } from '../../src/conversations/conversation.store.js';
import { createMigratedDatabase, type MigratedDatabase } from '../support/credit-storage.js';

/**
 * Every answer adds a turn to its conversation: the appends of one turn of the event loop share
 * one statement, as the other hot-path writes do, without changing what each caller gets back.
 */
let db: MigratedDatabase;
beforeAll(async () => {
  db = await createMigratedDatabase();
});
afterAll(async () => {
  await db?.dispose();
});

const OPTIONS = { ttlSeconds: 600, maxTurns: 20 };
const turn = (query: string): ConversationTurn => ({
  query,
  resolvedQuery: { query, filters: {} },
  productIds: ['p-1'],
  prices: [10],
  createdAt: '2026-01-01T09:00:00.000Z',
});

/** Counts the statements sent through the pool (each takes a connection), as the store sends them. */
function countConnections(): { count(): number } {
  const manager = db.database.sequelize.connectionManager as unknown as { getConnection: (...args: unknown[]) => Promise<unknown> };
  const original = manager.getConnection.bind(manager);
  let n = 0;
  manager.getConnection = (...args) => {
    n++;
    return original(...args);
  };
  return { count: () => n };
}

it('sends the appends of one turn, to distinct conversations, as one statement; each caller gets its own conversation', async () => {
  const store = createPostgresConversationStore(db.database.sequelize);
  await store.append('owner', 'c-foreign', turn('mine'), OPTIONS);
  const counter = countConnections();
  const results = await Promise.all([
    ...Array.from({ length: 10 }, (_, i) => store.append(`u-${i}`, `c-${i}`, turn(`q-${i}`), OPTIONS)),
    store.append('intruder', 'c-foreign', turn('not yours'), OPTIONS),
  ]);
  expect(counter.count()).toBe(1);
  results.slice(0, 10).forEach((c, i) => {
    expect(c).toMatchObject({ id: `c-${i}`, userId: `u-${i}`, turns: [turn(`q-${i}`)] });
  });
  expect(results[10]).toBeUndefined();
  expect((await store.get('owner', 'c-foreign'))!.turns).toEqual([turn('mine')]);
});

it('keeps every turn of one conversation appended several times in one turn, in call order', async () => {
  const store = createPostgresConversationStore(db.database.sequelize);
  const results = await Promise.all([
    store.append('u-same', 'c-same', turn('first'), OPTIONS),
    store.append('u-other', 'c-other', turn('other'), OPTIONS),
    store.append('u-same', 'c-same', turn('second'), OPTIONS),
    store.append('u-same', 'c-same', turn('third'), OPTIONS),
  ]);
  expect(results.map((c) => c?.turns.length)).toEqual([1, 1, 2, 3]);
  expect((await store.get('u-same', 'c-same'))!.turns.map((t) => t.query)).toEqual(['first', 'second', 'third']);
});

it('fails only the append the database refuses, not the others of its statement', async () => {
  const store = createPostgresConversationStore(db.database.sequelize);
  const [good, bad, alsoGood] = await Promise.allSettled([
    store.append('u-a', 'c-a', turn('a'), OPTIONS),
    store.append('x'.repeat(161), 'c-too-long-user', turn('b'), OPTIONS),
    store.append('u-c', 'c-c', turn('c'), OPTIONS),
  ]);
  expect(good.status).toBe('fulfilled');
  expect(bad.status).toBe('rejected');
  expect(alsoGood.status).toBe('fulfilled');
  await expect(store.get('u-c', 'c-c')).resolves.toMatchObject({ turns: [turn('c')] });
});
