/**
 * Unpaged lists (every task of a user) hold the whole list in memory, so only a few are built at once
 * (UNPAGED_LIST_CONCURRENCY); the rest wait their turn and are answered in full. Paged lists and single
 * tasks never wait behind them.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import type { App } from '../src/app.js';
import type { Database, PrismaClient } from '../src/db/client.js';
import { openTestDatabase } from './support/database.js';
import { createTestApp, describe, expect, send, signToken, test } from './support/fixtures.js';

let database: Database;
let app: App;
/** Unpaged task queries (no `take`) running right now, and the most seen at once. */
const unpaged = { running: 0, most: 0 };

beforeAll(async () => {
  database = await openTestDatabase();
  const counted = database.prisma.$extends({
    query: {
      task: {
        async findMany({ args, query }) {
          if (args.take !== undefined) return query(args);
          unpaged.running++;
          unpaged.most = Math.max(unpaged.most, unpaged.running);
          try {
            // Long enough for every request of a burst to have arrived while this one runs.
            await new Promise((resolve) => setTimeout(resolve, 100));
            return await query(args);
          } finally {
            unpaged.running--;
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

describe('unpaged lists', () => {
  test('a burst of whole lists, REST and GraphQL, runs two at a time and every one is answered in full', async () => {
    const users = await Promise.all(
      Array.from({ length: 4 }, async (_, n) => {
        const id = `burst-${n}-${randomUUID()}`;
        const headers = { authorization: `Bearer ${await signToken({ sub: id })}` };
        for (let i = 0; i < 3; i++) expect((await send(app, 'POST', '/api/tasks', { headers, body: { title: `${n}.${i}` } })).status).toBe(201);
        return { id, headers };
      }),
    );
    unpaged.most = 0;

    const answers = await Promise.all(
      users.flatMap(({ headers }) => [
        send(app, 'GET', '/api/tasks', { headers }),
        send(app, 'POST', '/graphql', { headers, body: { query: '{ tasks { title } }' } }),
        send(app, 'GET', '/api/tasks', { headers }),
      ]),
    );

    expect(unpaged.most).toBe(2);
    answers.forEach((answer, i) => {
      const n = Math.floor(i / 3);
      const titles = [`${n}.2`, `${n}.1`, `${n}.0`];
      expect(answer.status).toBe(200);
      if (i % 3 === 1) expect(answer.body).toEqual({ data: { tasks: titles.map((title) => ({ title })) } });
      else expect((answer.body as { title: string }[]).map((t) => t.title)).toEqual(titles);
    });
  });

  test('pages and single tasks do not wait behind whole lists', async () => {
    const headers = { authorization: `Bearer ${await signToken({ sub: `pager-${randomUUID()}` })}` };
    const created = await send(app, 'POST', '/api/tasks', { headers, body: { title: 'mine' } });
    const { id } = created.body as { id: string };
    unpaged.most = 0;

    const wholeLists = Promise.all(Array.from({ length: 6 }, () => send(app, 'GET', '/api/tasks', { headers })));
    const [page, one] = await Promise.all([send(app, 'GET', '/api/tasks?limit=5', { headers }), send(app, 'GET', `/api/tasks/${id}`, { headers })]);
    // Six whole lists of 100 ms or more each, two at a time, are still running when the page and the task come back.
    const stillRunning = unpaged.running > 0;
    await wholeLists;

    expect(page.status).toBe(200);
    expect(one.status).toBe(200);
    expect(stillRunning).toBe(true);
    expect(unpaged.most).toBe(2);
  });
});
