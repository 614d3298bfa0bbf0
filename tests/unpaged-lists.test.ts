/**
 * Whole (unpaged) lists are limited per user: lists longer than a chunk run at most
 * UNPAGED_LIST_CONCURRENCY at a time for one user, REST and GraphQL together, the rest waiting their turn
 * and answered in full; short lists (most) never wait; another user's lists, and anyone's pages and single
 * tasks, never wait behind them.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import type { App } from '../src/app.js';
import type { Database, PrismaClient } from '../src/db/client.js';
import { LIST_CHUNK_SIZE } from '../src/resolvers/task-list.js';
import { openTestDatabase } from './support/database.js';
import { listReadOf } from './support/list-reads.js';
import { createTestApp, describe, expect, send, signToken, test } from './support/fixtures.js';

let database: Database;
let app: App;
/** Per user: the queries of long whole lists (past their first chunk) running now, and the most seen at once. */
const running = new Map<string, number>();
const most = new Map<string, number>();

beforeAll(async () => {
  database = await openTestDatabase();
  const counted = database.prisma.$extends({
    query: {
      async $queryRaw({ args, query }) {
        const read = listReadOf(args);
        // A GraphQL list read whole (more than a chunk), or a REST chunk after the first (it has a cursor).
        const whole = read?.take !== undefined && read.take > LIST_CHUNK_SIZE + 1;
        const laterChunk = read?.take === LIST_CHUNK_SIZE + 1 && read.afterCursor;
        if (!read || (!whole && !laterChunk)) return query(args);
        const user = read.userId;
        running.set(user, (running.get(user) ?? 0) + 1);
        most.set(user, Math.max(most.get(user) ?? 0, running.get(user) ?? 0));
        try {
          // Long enough for every request of a burst to have arrived while this one runs.
          await new Promise((resolve) => setTimeout(resolve, 100));
          return await query(args);
        } finally {
          running.set(user, (running.get(user) ?? 1) - 1);
        }
      },
    },
  }) as unknown as PrismaClient;
  ({ app } = await createTestApp({ database, prisma: counted, env: { UNPAGED_LIST_CONCURRENCY: '2' } }));
});

afterAll(async () => {
  await database.close();
});

/** A user with `count` tasks, written straight to the database; `titles` newest first. */
async function userWithTasks(name: string, count: number) {
  const id = `${name}-${randomUUID()}`;
  const headers = { authorization: `Bearer ${await signToken({ sub: id })}` };
  await database.prisma.user.create({ data: { id } });
  const start = Date.now() - count * 1000;
  await database.prisma.task.createMany({
    data: Array.from({ length: count }, (_, i) => ({ userId: id, title: `${name}.${i}`, createdAt: new Date(start + i * 1000) })),
  });
  return { id, headers, titles: Array.from({ length: count }, (_, i) => `${name}.${count - 1 - i}`) };
}

const LONG = LIST_CHUNK_SIZE + 50;

describe('whole lists', () => {
  test("one user's burst of long lists, REST and GraphQL, runs two at a time and every one is answered in full", async () => {
    const alice = await userWithTasks('alice', LONG);

    const answers = await Promise.all(
      Array.from({ length: 4 }, () => [
        send(app, 'GET', '/api/tasks', { headers: alice.headers }),
        send(app, 'POST', '/graphql', { headers: alice.headers, body: { query: '{ tasks { title } }' } }),
      ]).flat(),
    );

    expect(most.get(alice.id)).toBe(2);
    answers.forEach((answer, i) => {
      expect(answer.status).toBe(200);
      if (i % 2 === 1) expect(answer.body).toEqual({ data: { tasks: alice.titles.map((title) => ({ title })) } });
      else expect((answer.body as { title: string }[]).map((t) => t.title)).toEqual(alice.titles);
    });
  });

  test('short lists (one chunk) never wait their turn', async () => {
    const carol = await userWithTasks('carol', 3);

    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        i % 2 === 0
          ? send(app, 'GET', '/api/tasks', { headers: carol.headers })
          : send(app, 'POST', '/graphql', { headers: carol.headers, body: { query: '{ tasks { title } }' } }),
      ),
    );

    expect(most.get(carol.id)).toBeUndefined();
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
  });

  test("another user's whole list does not wait behind one user's burst", async () => {
    const [alice, bob] = await Promise.all([userWithTasks('alice', LONG), userWithTasks('bob', LONG)]);

    let burstDone = false;
    const burst = Promise.all(Array.from({ length: 10 }, () => send(app, 'GET', '/api/tasks', { headers: alice.headers })));
    void burst.then(() => (burstDone = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const started = performance.now();
    const bobs = await send(app, 'GET', '/api/tasks', { headers: bob.headers });
    const bobMs = performance.now() - started;
    const aliceStillRunning = !burstDone;
    const answers = await burst;

    expect((bobs.body as { title: string }[]).map((t) => t.title)).toEqual(bob.titles);
    // Ten of Alice's lists at 100 ms or more each, two at a time, take 500 ms or more; Bob's takes one turn.
    expect(aliceStillRunning).toBe(true);
    expect(bobMs).toBeLessThan(400);
    expect(answers.every((answer) => answer.status === 200 && answer.body.length === LONG)).toBe(true);
  });

  test('pages and single tasks do not wait behind whole lists', async () => {
    const pager = await userWithTasks('pager', LONG);
    const { id } = (await send(app, 'GET', '/api/tasks?limit=1', { headers: pager.headers })).body[0] as { id: string };

    let listsDone = false;
    const wholeLists = Promise.all(Array.from({ length: 6 }, () => send(app, 'GET', '/api/tasks', { headers: pager.headers }))).then(() => {
      listsDone = true;
    });
    const [page, one] = await Promise.all([
      send(app, 'GET', '/api/tasks?limit=5', { headers: pager.headers }),
      send(app, 'GET', `/api/tasks/${id}`, { headers: pager.headers }),
    ]);
    // Six long lists of 100 ms or more each, two at a time, take 300 ms or more: not done when the page and the task come back.
    const stillRunning = !listsDone;
    await wholeLists;

    expect(page.status).toBe(200);
    expect(one.status).toBe(200);
    expect(stillRunning).toBe(true);
    expect(most.get(pager.id)).toBe(2);
  });
});
