/**
 * Whole (unpaged) lists are limited per user: one user's burst runs at most UNPAGED_LIST_CONCURRENCY at a
 * time, REST and GraphQL together, the rest waiting their turn and answered in full; another user's lists,
 * and anyone's pages and single tasks, never wait behind them.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import type { App } from '../src/app.js';
import type { Database, PrismaClient } from '../src/db/client.js';
import { MAX_PAGE_SIZE } from '../src/resolvers/task.js';
import { openTestDatabase } from './support/database.js';
import { createTestApp, describe, expect, send, signToken, test } from './support/fixtures.js';

let database: Database;
let app: App;
/** Per user: whole-list queries (no `take`, or a chunk of a streamed list) running now, and the most seen at once. */
const running = new Map<string, number>();
const most = new Map<string, number>();

beforeAll(async () => {
  database = await openTestDatabase();
  const counted = database.prisma.$extends({
    query: {
      task: {
        async findMany({ args, query }) {
          if (args.take !== undefined && args.take <= MAX_PAGE_SIZE + 1) return query(args);
          const user = typeof args.where?.userId === 'string' ? args.where.userId : 'unknown';
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
    },
  }) as unknown as PrismaClient;
  ({ app } = await createTestApp({ database, prisma: counted, env: { UNPAGED_LIST_CONCURRENCY: '2' } }));
});

afterAll(async () => {
  await database.close();
});

async function userWithTasks(name: string, count: number) {
  const id = `${name}-${randomUUID()}`;
  const headers = { authorization: `Bearer ${await signToken({ sub: id })}` };
  for (let i = 0; i < count; i++) expect((await send(app, 'POST', '/api/tasks', { headers, body: { title: `${name}.${i}` } })).status).toBe(201);
  return { id, headers, titles: Array.from({ length: count }, (_, i) => `${name}.${count - 1 - i}`) };
}

describe('whole lists', () => {
  test("one user's burst, REST and GraphQL, runs two at a time and every one is answered in full", async () => {
    const alice = await userWithTasks('alice', 3);

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

  test("another user's whole list does not wait behind one user's burst", async () => {
    const [alice, bob] = await Promise.all([userWithTasks('alice', 2), userWithTasks('bob', 2)]);

    const burst = Promise.all(Array.from({ length: 10 }, () => send(app, 'GET', '/api/tasks', { headers: alice.headers })));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const started = performance.now();
    const bobs = await send(app, 'GET', '/api/tasks', { headers: bob.headers });
    const bobMs = performance.now() - started;
    const aliceStillRunning = (running.get(alice.id) ?? 0) > 0;
    const answers = await burst;

    expect((bobs.body as { title: string }[]).map((t) => t.title)).toEqual(bob.titles);
    // Ten of Alice's lists at 100 ms or more each, two at a time, take 500 ms or more; Bob's takes one turn.
    expect(aliceStillRunning).toBe(true);
    expect(bobMs).toBeLessThan(400);
    expect(answers.every((answer) => answer.status === 200 && answer.body.length === 2)).toBe(true);
  });

  test('pages and single tasks do not wait behind whole lists', async () => {
    const pager = await userWithTasks('pager', 1);
    const { id } = (await send(app, 'GET', '/api/tasks?limit=1', { headers: pager.headers })).body[0] as { id: string };

    let listsDone = false;
    const wholeLists = Promise.all(Array.from({ length: 6 }, () => send(app, 'GET', '/api/tasks', { headers: pager.headers }))).then(() => {
      listsDone = true;
    });
    const [page, one] = await Promise.all([
      send(app, 'GET', '/api/tasks?limit=5', { headers: pager.headers }),
      send(app, 'GET', `/api/tasks/${id}`, { headers: pager.headers }),
    ]);
    // Six whole lists of 100 ms or more each, two at a time, take 300 ms or more: not done when the page and the task come back.
    const stillRunning = !listsDone;
    await wholeLists;

    expect(page.status).toBe(200);
    expect(one.status).toBe(200);
    expect(stillRunning).toBe(true);
    expect(most.get(pager.id)).toBe(2);
  });
});
