/**
 * MAX_TASKS_PER_USER: a create beyond it is 409 {"detail":"Task limit reached","code":"QUOTA_EXCEEDED"} on REST and
 * QUOTA_EXCEEDED on GraphQL, checked in the database without a race, per user.
 */
import { afterAll, beforeAll } from 'vitest';
import { createTestApp, describe, expect, test, type TestApp } from './support/fixtures.js';

let api: TestApp;
beforeAll(async () => {
  api = await createTestApp({ env: { MAX_TASKS_PER_USER: '5' } });
});
afterAll(() => api.close());

const create = (user: Awaited<ReturnType<TestApp['user']>>, title: string) => user.request('POST', '/api/tasks', { body: { title } });

describe('the task limit', () => {
  test('the sixth create is 409, on both faces; deleting one makes room again', async () => {
    const alice = await api.user('alice');
    for (let i = 1; i <= 5; i++) expect((await create(alice, `task ${i}`)).status).toBe(201);

    const refused = await create(alice, 'one too many');
    const viaGraphQL = await alice.graphql('mutation { createTask(title: "one too many") { id } }');

    expect(refused.status).toBe(409);
    expect(refused.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(refused.body).toEqual({ detail: 'Task limit reached', code: 'QUOTA_EXCEEDED' });
    expect(viaGraphQL.body).toMatchObject({
      data: null,
      errors: [{ message: 'Task limit reached', extensions: { code: 'QUOTA_EXCEEDED' } }],
    });
    const list = await alice.request('GET', '/api/tasks');
    expect(list.body).toHaveLength(5);

    expect((await alice.request('DELETE', `/api/tasks/${list.body[0].id}`)).status).toBe(204);
    expect((await create(alice, 'room again')).status).toBe(201);
    expect((await create(alice, 'full again')).status).toBe(409);
  });

  test('is per user', async () => {
    const [alice, bob] = await Promise.all([api.user('alice'), api.user('bob')]);
    for (let i = 0; i < 5; i++) await create(alice, `task ${i}`);

    expect((await create(alice, 'more')).status).toBe(409);
    expect((await create(bob, 'first')).status).toBe(201);
  });

  test('40 concurrent creates by a new user: exactly 5 succeed, the rest are 409, and 5 tasks exist', async () => {
    const carol = await api.user('carol');

    const statuses = await Promise.all(Array.from({ length: 40 }, (_, i) => create(carol, `race ${i}`).then((r) => r.status)));

    expect(statuses.filter((s) => s === 201)).toHaveLength(5);
    expect(statuses.filter((s) => s === 409)).toHaveLength(35);
    expect((await carol.request('GET', '/api/tasks')).body).toHaveLength(5);
    const [row] = await api.database.prisma.user.findMany({ where: { id: carol.id }, select: { taskCount: true } });
    expect(row?.taskCount).toBe(5);
  });

  test('50 concurrent first creates by a new user under the limit: every one is 201 (none refused for the race on their row)', async () => {
    const roomy = await createTestApp({ database: api.database, env: { MAX_TASKS_PER_USER: '100000' } });
    try {
      for (let round = 0; round < 3; round++) {
        const newcomer = await roomy.user(`newcomer-${round}`);
        const answers = await Promise.all(
          Array.from({ length: 50 }, (_, i) => newcomer.request('POST', '/api/tasks', { body: { title: `first ${i}` } })),
        );

        expect(answers.filter((r) => r.status !== 201).map((r) => [r.status, r.body])).toEqual([]);
        expect(await roomy.database.prisma.task.count({ where: { userId: newcomer.id } })).toBe(50);
      }
    } finally {
      await roomy.close();
    }
  });

  test('two instances on one database: 40 concurrent creates split between them, exactly 5 succeed', async () => {
    const other = await createTestApp({ database: api.database, env: { MAX_TASKS_PER_USER: '5' } });
    try {
      const erin = await api.user('erin');
      const viaOther = { authorization: `Bearer ${erin.token}` };

      const statuses = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          (i % 2 === 0
            ? create(erin, `race ${i}`)
            : other.request('POST', '/api/tasks', { headers: viaOther, body: { title: `race ${i}` } })
          ).then((r) => r.status),
        ),
      );

      expect(statuses.filter((s) => s === 201)).toHaveLength(5);
      expect(statuses.filter((s) => s === 409)).toHaveLength(35);
    } finally {
      await other.app.close();
    }
  });

  test('the count follows tasks removed with their user (cascade) and added in bulk', async () => {
    const dave = await api.user('dave');
    await create(dave, 'first');
    await api.database.prisma.task.createMany({ data: [1, 2, 3].map((n) => ({ userId: dave.id, title: `bulk ${n}` })) });

    expect((await api.database.prisma.user.findUniqueOrThrow({ where: { id: dave.id } })).taskCount).toBe(4);
    expect((await create(dave, 'fifth')).status).toBe(201);
    expect((await create(dave, 'sixth')).status).toBe(409);

    await api.database.prisma.task.deleteMany({ where: { userId: dave.id, title: { startsWith: 'bulk' } } });
    expect((await api.database.prisma.user.findUniqueOrThrow({ where: { id: dave.id } })).taskCount).toBe(2);
  });
});
