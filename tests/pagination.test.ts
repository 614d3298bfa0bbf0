/**
 * Pages of the task list: REST (`limit`, `cursor`, `completed`, Link rel="next") and the GraphQL Relay
 * connection. Keyset pagination on (created_at, id): newest first, no duplicates or gaps even while tasks
 * are being added, and bad bounds or cursors are 400s.
 */
import { describe, expect, test, type TestUser } from './support/fixtures.js';

async function createTasks(user: TestUser, count: number, prefix = 't'): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const response = await user.request('POST', '/api/tasks', { body: { title: `${prefix}${i}` } });
    ids.push(response.body.id as string);
  }
  return ids.reverse(); // newest first
}

function nextLink(linkHeader: string | null): string | null {
  return linkHeader === null ? null : (/^<([^>]+)>; rel="next"$/.exec(linkHeader)?.[1] ?? null);
}

/** Follows Link headers from `start` to the end; returns every page's ids. */
async function allPages(user: TestUser, start: string, between?: () => Promise<unknown>): Promise<string[][]> {
  const pages: string[][] = [];
  for (let path: string | null = start; path !== null;) {
    const response = await user.request('GET', path);
    expect(response.status).toBe(200);
    pages.push((response.body as { id: string }[]).map((t) => t.id));
    path = nextLink(response.headers.get('link'));
    if (between) await between();
  }
  return pages;
}

describe('GET /api/tasks pages', () => {
  test('without parameters returns the whole list and no Link', async ({ alice }) => {
    const ids = await createTasks(alice, 7);

    const response = await alice.request('GET', '/api/tasks');

    expect(response.body.map((t: { id: string }) => t.id)).toEqual(ids);
    expect(response.headers.get('link')).toBeNull();
  });

  test('limit pages newest first, each Link leading to the next, the last page without one', async ({ alice }) => {
    const ids = await createTasks(alice, 7);

    const pages = await allPages(alice, '/api/tasks?limit=3');

    expect(pages).toEqual([ids.slice(0, 3), ids.slice(3, 6), ids.slice(6)]);
  });

  test('a last page that is exactly full has no Link', async ({ alice }) => {
    const ids = await createTasks(alice, 4);

    const pages = await allPages(alice, '/api/tasks?limit=2');

    expect(pages).toEqual([ids.slice(0, 2), ids.slice(2, 4)]);
  });

  test('the Link keeps the filter and the page size', async ({ alice }) => {
    await createTasks(alice, 5);

    const response = await alice.request('GET', '/api/tasks?completed=false&limit=2');

    const next = nextLink(response.headers.get('link')) ?? '';
    expect(new URL(next, 'http://x').searchParams.get('completed')).toBe('false');
    expect(new URL(next, 'http://x').searchParams.get('limit')).toBe('2');
    expect(next.startsWith('/api/tasks?')).toBe(true);
  });

  test('completed=true and completed=false filter, with or without pages', async ({ alice }) => {
    const ids = await createTasks(alice, 6);
    for (const id of [ids[1], ids[3], ids[4]]) {
      await alice.request('PATCH', `/api/tasks/${id}`, { body: { completed: true } });
    }

    const done = (await alice.request('GET', '/api/tasks?completed=true')).body.map((t: { id: string }) => t.id);
    const open = (await allPages(alice, '/api/tasks?completed=false&limit=2')).flat();

    expect(done).toEqual([ids[1], ids[3], ids[4]]);
    expect(open).toEqual([ids[0], ids[2], ids[5]]);
  });

  test('no task is repeated or skipped while new tasks arrive between pages', async ({ alice }) => {
    const existing = await createTasks(alice, 25, 'old');
    let added = 0;

    const seen = (
      await allPages(alice, '/api/tasks?limit=4', async () => {
        await Promise.all([0, 1].map(() => alice.request('POST', '/api/tasks', { body: { title: `new${added++}` } })));
      })
    ).flat();

    expect(new Set(seen).size).toBe(seen.length);
    for (const id of existing) expect(seen.filter((s) => s === id)).toHaveLength(1);
    expect(seen.slice(0, existing.length)).toEqual(existing);
  });

  test('a page only ever holds the caller’s tasks, whatever cursor they send', async ({ alice, bob }) => {
    await createTasks(alice, 3);
    await createTasks(bob, 3, 'bob');
    const bobFirst = await bob.request('GET', '/api/tasks?limit=1');
    const bobCursor = new URL(nextLink(bobFirst.headers.get('link')) ?? '', 'http://x').searchParams.get('cursor') ?? '';

    const response = await alice.request('GET', `/api/tasks?limit=10&cursor=${bobCursor}`);

    expect(response.status).toBe(200);
    expect(response.body.every((t: { user_id: string }) => t.user_id === alice.id)).toBe(true);
  });

  test.for([
    ['limit=0', 'limit must be an integer from 1 to 100'],
    ['limit=101', 'limit must be an integer from 1 to 100'],
    ['limit=-5', 'limit must be an integer from 1 to 100'],
    ['limit=abc', '"limit" must be an integer'],
    ['limit=2.5', '"limit" must be an integer'],
    ['limit=1&limit=2', '"limit" must be given once'],
    ['completed=yes', '"completed" must be true or false'],
    ['cursor=not-a-cursor', 'Invalid cursor'],
    [`cursor=${Buffer.from('2026-01-01T00:00:00.000Z|not-a-uuid').toString('base64url')}`, 'Invalid cursor'],
    [`cursor=${Buffer.from('yesterday|00000000-0000-4000-8000-000000000000').toString('base64url')}`, 'Invalid cursor'],
    [`cursor=${'A'.repeat(5000)}`, 'Invalid cursor'],
  ] as const)('?%s is 400', async ([query, detail], { alice }) => {
    const response = await alice.request('GET', `/api/tasks?${query}`);

    expect(response.status).toBe(400);
    expect(response.body).toEqual({ detail, code: 'BAD_USER_INPUT' });
  });

  test('the page-size bounds are documented in the OpenAPI document', async ({ api }) => {
    const document = (await api.request('GET', '/openapi.json')).body;
    const limit = document.paths['/api/tasks'].get.parameters.find((p: { name: string }) => p.name === 'limit');

    expect(limit.schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 100 });
    expect(document.paths['/api/tasks'].get.responses['200'].headers.Link).toBeDefined();
  });
});

describe('the taskConnection GraphQL field', () => {
  const PAGE = `query($first: Int, $after: String, $last: Int, $before: String, $completed: Boolean) {
    taskConnection(first: $first, after: $after, last: $last, before: $before, completed: $completed) {
      edges { cursor node { id } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }`;

  async function page(user: TestUser, variables: Record<string, unknown>) {
    const response = await user.graphql(PAGE, variables);
    expect(response.body.errors).toBeUndefined();
    const connection = response.body.data.taskConnection;
    return { ids: connection.edges.map((e: { node: { id: string } }) => e.node.id) as string[], pageInfo: connection.pageInfo };
  }

  test('first/after walks forwards, newest first, and says when it is done', async ({ alice }) => {
    const ids = await createTasks(alice, 5);

    const one = await page(alice, { first: 2 });
    const two = await page(alice, { first: 2, after: one.pageInfo.endCursor });
    const three = await page(alice, { first: 2, after: two.pageInfo.endCursor });

    expect([one.ids, two.ids, three.ids]).toEqual([ids.slice(0, 2), ids.slice(2, 4), ids.slice(4)]);
    expect([one.pageInfo.hasNextPage, two.pageInfo.hasNextPage, three.pageInfo.hasNextPage]).toEqual([true, true, false]);
  });

  test('last/before walks backwards', async ({ alice }) => {
    const ids = await createTasks(alice, 5);

    const last = await page(alice, { last: 2 });
    const before = await page(alice, { last: 2, before: last.pageInfo.startCursor });

    expect(last.ids).toEqual(ids.slice(3));
    expect(last.pageInfo.hasPreviousPage).toBe(true);
    expect(before.ids).toEqual(ids.slice(1, 3));
  });

  test('completed filters the connection too', async ({ alice }) => {
    const ids = await createTasks(alice, 3);
    await alice.request('PATCH', `/api/tasks/${ids[1]}`, { body: { completed: true } });

    expect((await page(alice, { first: 10, completed: true })).ids).toEqual([ids[1]]);
  });

  test.for([
    [{ first: 101 }, /100/],
    [{ first: 10, after: 'garbage' }, /Invalid cursor/],
  ] as const)('refuses %j', async ([variables, message], { alice }) => {
    const response = await alice.graphql(PAGE, variables);

    expect(response.body.errors[0].message).toMatch(message);
  });
});
