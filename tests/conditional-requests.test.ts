/**
 * Versions and ETags (issue 12): every task's version in its ETag (REST) and `version` (GraphQL); 304 for a
 * matching If-None-Match; If-Match and `expectedVersion` make a change conditional (412, and exactly one
 * of two racing changes wins); REQUIRE_IF_MATCH answers 428; a list's ETag moves with every change, and is
 * read in the list's own statement.
 */
import { afterAll, beforeAll } from 'vitest';
import type { PrismaClient } from '../src/db/client.js';
import { listEtag } from '../src/http/conditional.js';
import { createTestApp, describe, expect, test, type TestApp, type TestUser } from './support/fixtures.js';

let api: TestApp;
beforeAll(async () => {
  api = await createTestApp();
});
afterAll(() => api.close());

async function created(user: TestUser, title = 'a task') {
  const response = await user.request('POST', '/api/tasks', { body: { title } });
  expect(response.status).toBe(201);
  return { id: response.body.id as string, etag: response.headers.get('etag') ?? '' };
}

describe('ETags on one task', () => {
  test('POST answers 201 with a strong ETag and Location; the JSON keeps its six keys', async () => {
    const alice = await api.user('alice');
    const response = await alice.request('POST', '/api/tasks', { body: { title: 'new' } });

    expect(response.status).toBe(201);
    expect(response.headers.get('etag')).toBe('"v1"');
    expect(response.headers.get('location')).toBe(`/api/tasks/${response.body.id}`);
    expect(Object.keys(response.body).sort()).toEqual(['completed', 'created_at', 'id', 'title', 'updated_at', 'user_id']);
  });

  test('GET, PATCH and PUT carry the version; each change moves it by one', async () => {
    const alice = await api.user('alice');
    const { id } = await created(alice);

    expect((await alice.request('GET', `/api/tasks/${id}`)).headers.get('etag')).toBe('"v1"');
    const patched = await alice.request('PATCH', `/api/tasks/${id}`, { body: { completed: true } });
    expect(patched.headers.get('etag')).toBe('"v2"');
    const put = await alice.request('PUT', `/api/tasks/${id}`, { body: { title: 'renamed' } });
    expect(put.headers.get('etag')).toBe('"v3"');
    expect((await alice.request('GET', `/api/tasks/${id}`)).headers.get('etag')).toBe('"v3"');
    const graphql = await alice.graphql(`{ task(id: "${id}") { version } }`);
    expect(graphql.body).toEqual({ data: { task: { version: 3 } } });
  });

  test('If-None-Match with the current ETag is 304 with no body and the same ETag; a stale one is 200', async () => {
    const alice = await api.user('alice');
    const { id, etag } = await created(alice);

    const notModified = await alice.request('GET', `/api/tasks/${id}`, { headers: { 'if-none-match': etag } });
    expect(notModified.status).toBe(304);
    expect(notModified.text).toBe('');
    expect(notModified.headers.get('etag')).toBe(etag);
    expect((await alice.request('GET', `/api/tasks/${id}`, { headers: { 'if-none-match': `"v9", W/${etag}` } })).status).toBe(304);
    expect((await alice.request('GET', `/api/tasks/${id}`, { headers: { 'if-none-match': '*' } })).status).toBe(304);

    await alice.request('PATCH', `/api/tasks/${id}`, { body: { completed: true } });
    const changed = await alice.request('GET', `/api/tasks/${id}`, { headers: { 'if-none-match': etag } });
    expect(changed.status).toBe(200);
    expect(changed.body.completed).toBe(true);
    expect(changed.headers.get('etag')).toBe('"v2"');
  });

  test("another user's ETag check is still 403, a missing task 404, a malformed header 400", async () => {
    const [alice, bob] = await Promise.all([api.user('alice'), api.user('bob')]);
    const { id, etag } = await created(alice);

    expect((await bob.request('GET', `/api/tasks/${id}`, { headers: { 'if-none-match': etag } })).status).toBe(403);
    expect((await bob.request('PATCH', `/api/tasks/${id}`, { body: { completed: true }, headers: { 'if-match': etag } })).status).toBe(403);
    expect(
      (
        await alice.request('PATCH', '/api/tasks/00000000-0000-4000-8000-000000000000', {
          body: { completed: true },
          headers: { 'if-match': '"v1"' },
        })
      ).status,
    ).toBe(404);
    const malformed = await alice.request('PATCH', `/api/tasks/${id}`, { body: { completed: true }, headers: { 'if-match': 'v1' } });
    expect(malformed.status).toBe(400);
    expect(malformed.body.detail).toMatch(/If-Match/);
    expect((await alice.request('GET', `/api/tasks/${id}`)).body.completed).toBe(false);
  });
});

describe('versions move with every update', () => {
  test('also one made outside the API (an older instance, a hand-written UPDATE): an If-Match from before it fails', async () => {
    const alice = await api.user('alice');
    const { id, etag } = await created(alice);
    await api.database.prisma.$executeRaw`UPDATE tasks SET title = 'by hand' WHERE id = ${id}::uuid`;

    expect((await alice.request('GET', `/api/tasks/${id}`)).headers.get('etag')).toBe('"v2"');
    expect((await alice.request('PATCH', `/api/tasks/${id}`, { body: { completed: true }, headers: { 'if-match': etag } })).status).toBe(
      412,
    );
  });
});

describe('If-Match', () => {
  test('a stale ETag is 412 and changes nothing, on PATCH, PUT and DELETE', async () => {
    const alice = await api.user('alice');
    const { id, etag } = await created(alice, 'original');
    await alice.request('PATCH', `/api/tasks/${id}`, { body: { completed: true } });

    for (const [method, body] of [
      ['PATCH', { completed: false }],
      ['PUT', { title: 'overwritten' }],
      ['DELETE', undefined],
    ] as const) {
      const stale = await alice.request(method, `/api/tasks/${id}`, { body, headers: { 'if-match': etag } });
      expect(stale.status, method).toBe(412);
      expect(stale.body).toEqual({ detail: expect.stringMatching(/changed since you read it/), code: 'PRECONDITION_FAILED' });
    }
    const now = await alice.request('GET', `/api/tasks/${id}`);
    expect(now.body).toMatchObject({ title: 'original', completed: true });
    expect(now.headers.get('etag')).toBe('"v2"');
  });

  test('the current ETag (or one in a list, or *) lets the change through and answers the new ETag', async () => {
    const alice = await api.user('alice');
    const { id, etag } = await created(alice);

    const first = await alice.request('PUT', `/api/tasks/${id}`, { body: { title: 'one' }, headers: { 'if-match': etag } });
    expect(first.status).toBe(200);
    expect(first.headers.get('etag')).toBe('"v2"');
    const listed = await alice.request('PATCH', `/api/tasks/${id}`, { body: { completed: true }, headers: { 'if-match': '"v7", "v2"' } });
    expect(listed.headers.get('etag')).toBe('"v3"');
    const any = await alice.request('PATCH', `/api/tasks/${id}`, { body: { completed: false }, headers: { 'if-match': '*' } });
    expect(any.headers.get('etag')).toBe('"v4"');
    // Weak tags never match If-Match (strong comparison).
    expect(
      (await alice.request('PATCH', `/api/tasks/${id}`, { body: { completed: true }, headers: { 'if-match': 'W/"v4"' } })).status,
    ).toBe(412);
    expect((await alice.request('DELETE', `/api/tasks/${id}`, { headers: { 'if-match': '"v4"' } })).status).toBe(204);
    expect((await alice.request('GET', `/api/tasks/${id}`)).status).toBe(404);
  });

  test('entity tags are compared exactly: "v01" is not "v1"; a comma inside a tag does not split it', async () => {
    const alice = await api.user('alice');
    const { id } = await created(alice);

    expect((await alice.request('PATCH', `/api/tasks/${id}`, { body: { completed: true }, headers: { 'if-match': '"v01"' } })).status).toBe(
      412,
    );
    expect(
      (await alice.request('PATCH', `/api/tasks/${id}`, { body: { completed: true }, headers: { 'if-match': '"a,b", "v1"' } })).status,
    ).toBe(200);
    // A malformed If-None-Match is ignored (the answer is the task), a malformed If-Match refused.
    expect((await alice.request('GET', `/api/tasks/${id}`, { headers: { 'if-none-match': 'v2' } })).status).toBe(200);
  });

  test('two concurrent PATCHes with the same If-Match: one 200, one 412', async () => {
    const alice = await api.user('alice');
    for (let round = 0; round < 5; round++) {
      const { id, etag } = await created(alice, `race ${round}`);
      const answers = await Promise.all([
        alice.request('PATCH', `/api/tasks/${id}`, { body: { completed: true }, headers: { 'if-match': etag } }),
        alice.request('PUT', `/api/tasks/${id}`, { body: { title: 'winner?' }, headers: { 'if-match': etag } }),
      ]);
      expect(answers.map((a) => a.status).sort()).toEqual([200, 412]);
      expect((await alice.request('GET', `/api/tasks/${id}`)).headers.get('etag')).toBe('"v2"');
    }
  });

  test('REQUIRE_IF_MATCH=true: a change without If-Match is 428 (GraphQL: without expectedVersion), with one it proceeds', async () => {
    const strict = await createTestApp({ database: api.database, env: { REQUIRE_IF_MATCH: 'true' } });
    try {
      const carol = await strict.user('carol');
      const { id, etag } = await created(carol);

      for (const [method, body] of [
        ['PATCH', { completed: true }],
        ['PUT', { title: 'x' }],
        ['DELETE', undefined],
      ] as const) {
        const refused = await carol.request(method, `/api/tasks/${id}`, { body });
        expect(refused.status, method).toBe(428);
        expect(refused.body.detail).toMatch(/requires If-Match/);
      }
      const viaGraphQL = await carol.graphql(`mutation { renameTask(id: "${id}", title: "x") { id } }`);
      expect(viaGraphQL.body.errors[0].extensions.code).toBe('PRECONDITION_REQUIRED');
      expect((await carol.request('PATCH', `/api/tasks/${id}`, { body: { completed: true }, headers: { 'if-match': etag } })).status).toBe(
        200,
      );
      const withVersion = await carol.graphql(`mutation { renameTask(id: "${id}", title: "y", expectedVersion: 2) { version } }`);
      expect(withVersion.body).toEqual({ data: { renameTask: { version: 3 } } });
      // The id, the task's owner and its existence are checked first.
      const [erin] = [await strict.user('erin')];
      expect((await carol.request('PATCH', '/api/tasks/nope', { body: { completed: true } })).status).toBe(400);
      expect((await erin.request('PATCH', `/api/tasks/${id}`, { body: { completed: true } })).status).toBe(403);
      expect((await carol.request('DELETE', '/api/tasks/00000000-0000-4000-8000-000000000000')).status).toBe(404);
      expect((await carol.request('PUT', `/api/tasks/${id}`, { body: { title: ' ' } })).status).toBe(400);
      // Creating needs no condition.
      expect((await carol.request('POST', '/api/tasks', { body: { title: 'new' } })).status).toBe(201);
    } finally {
      await strict.close();
    }
  });
});

describe('expectedVersion on GraphQL', () => {
  test('a mismatch is PRECONDITION_FAILED and changes nothing; a match changes and bumps the version', async () => {
    const alice = await api.user('alice');
    const { id } = await created(alice, 'before');

    for (const mutation of [
      `setTaskCompleted(id: "${id}", completed: true, expectedVersion: 5) { id }`,
      `renameTask(id: "${id}", title: "after", expectedVersion: 5) { id }`,
      `deleteTask(id: "${id}", expectedVersion: 5) { id }`,
    ]) {
      const refused = await alice.graphql(`mutation { ${mutation} }`);
      expect(refused.body).toMatchObject({ data: null, errors: [{ extensions: { code: 'PRECONDITION_FAILED' } }] });
    }
    expect((await alice.graphql(`{ task(id: "${id}") { title version } }`)).body).toEqual({
      data: { task: { title: 'before', version: 1 } },
    });

    const renamed = await alice.graphql(`mutation { renameTask(id: "${id}", title: "after", expectedVersion: 1) { title version } }`);
    expect(renamed.body).toEqual({ data: { renameTask: { title: 'after', version: 2 } } });
    const deleted = await alice.graphql(`mutation { deleteTask(id: "${id}", expectedVersion: 2) { id } }`);
    expect(deleted.body).toEqual({ data: { deleteTask: { id } } });
  });

  test('two concurrent toggles with the same expectedVersion: exactly one wins', async () => {
    const alice = await api.user('alice');
    const { id } = await created(alice);
    const toggle = (completed: boolean) =>
      alice.graphql(`mutation { setTaskCompleted(id: "${id}", completed: ${completed}, expectedVersion: 1) { version } }`);

    const answers = await Promise.all([toggle(true), toggle(false)]);

    expect(answers.filter((a) => a.body.data?.setTaskCompleted?.version === 2)).toHaveLength(1);
    expect(answers.filter((a) => a.body.errors?.[0]?.extensions?.code === 'PRECONDITION_FAILED')).toHaveLength(1);
  });
});

describe("a list's ETag", () => {
  test('changes with every create, change and delete of the user’s tasks, and only then; 304 while it holds', async () => {
    const [alice, bob] = await Promise.all([api.user('alice'), api.user('bob')]);
    const etagOf = async (path = '/api/tasks') => {
      const response = await alice.request('GET', path);
      expect(response.status).toBe(200);
      return response.headers.get('etag') ?? '';
    };
    const empty = await etagOf();
    expect(empty).toMatch(/^"[^"]+"$/);
    expect(await etagOf()).toBe(empty);
    // Another user at the same count of changes has another ETag.
    expect((await bob.request('GET', '/api/tasks')).headers.get('etag')).not.toBe(empty);

    const { id } = await created(alice);
    const afterCreate = await etagOf();
    expect(afterCreate).not.toBe(empty);
    await alice.request('PATCH', `/api/tasks/${id}`, { body: { completed: true } });
    const afterPatch = await etagOf();
    expect(afterPatch).not.toBe(afterCreate);
    // Someone else's changes, a refused change and reads leave it alone.
    await created(bob);
    await alice.request('PATCH', `/api/tasks/${id}`, { body: { completed: false }, headers: { 'if-match': '"v1"' } });
    await alice.request('GET', `/api/tasks/${id}`);
    expect(await etagOf()).toBe(afterPatch);
    expect(await etagOf('/api/tasks?limit=1')).toBe(afterPatch);

    const notModified = await alice.request('GET', '/api/tasks?limit=1', { headers: { 'if-none-match': afterPatch } });
    expect(notModified.status).toBe(304);
    expect(notModified.text).toBe('');
    expect(notModified.headers.get('etag')).toBe(afterPatch);
    expect((await alice.request('GET', '/api/tasks', { headers: { 'if-none-match': afterPatch } })).status).toBe(304);

    await alice.request('DELETE', `/api/tasks/${id}`);
    const afterDelete = await alice.request('GET', '/api/tasks', { headers: { 'if-none-match': afterPatch } });
    expect(afterDelete.status).toBe(200);
    expect(afterDelete.body).toEqual([]);
    expect(afterDelete.headers.get('etag')).not.toBe(afterPatch);
  });

  test('a streamed whole list (more than one chunk) carries it too', async () => {
    const alice = await api.user('alice');
    await api.database.prisma.user.create({ data: { id: alice.id } });
    await api.database.prisma.task.createMany({ data: Array.from({ length: 600 }, (_, i) => ({ userId: alice.id, title: `bulk ${i}` })) });

    const whole = await alice.request('GET', '/api/tasks');
    expect(whole.body).toHaveLength(600);
    const etag = whole.headers.get('etag') ?? '';
    expect(etag).not.toBe('');
    expect((await alice.request('GET', '/api/tasks', { headers: { 'if-none-match': etag } })).status).toBe(304);
  });
});

describe("a list's ETag, read in the list's own statement", () => {
  /** The ETag a list of `userId` has now: their change counter, 0 without a users row. */
  async function currentListEtag(userId: string): Promise<string> {
    const user = await api.database.prisma.user.findUnique({ where: { id: userId }, select: { changeCount: true } });
    return listEtag(userId, user?.changeCount ?? 0n);
  }

  const lists = [
    '/api/tasks',
    '/api/tasks?limit=1',
    '/api/tasks?limit=100',
    '/api/tasks?completed=true',
    '/api/tasks?completed=true&limit=5',
  ];

  test('a page and a whole list carry the exact ETag; If-None-Match with it from the same answer is 304, with no body and the ETag', async () => {
    const alice = await api.user('alice');
    const { id } = await created(alice, 'one');
    await created(alice, 'two');
    await alice.request('PATCH', `/api/tasks/${id}`, { body: { completed: true } });
    const expected = await currentListEtag(alice.id);

    for (const path of lists) {
      const answer = await alice.request('GET', path);
      expect(answer.status, path).toBe(200);
      const etag = answer.headers.get('etag');
      expect(etag, path).toBe(expected);
      const notModified = await alice.request('GET', path, { headers: { 'if-none-match': etag ?? '' } });
      expect(notModified.status, path).toBe(304);
      expect(notModified.text, path).toBe('');
      expect(notModified.headers.get('etag'), path).toBe(expected);
      expect(notModified.headers.get('link'), path).toBeNull();
    }
    // A page with more after it: its Link on the 200, none on the 304.
    expect((await alice.request('GET', '/api/tasks?limit=1')).headers.get('link')).toMatch(/rel="next"/);
  });

  test('moves with a write: the ETag read before it then gets the new list, page and whole', async () => {
    const alice = await api.user('alice');
    const { id } = await created(alice, 'before');
    const before = (await alice.request('GET', '/api/tasks')).headers.get('etag') ?? '';
    await alice.request('PUT', `/api/tasks/${id}`, { body: { title: 'after' } });
    const after = await currentListEtag(alice.id);
    expect(after).not.toBe(before);

    for (const path of ['/api/tasks', '/api/tasks?limit=10']) {
      const answer = await alice.request('GET', path, { headers: { 'if-none-match': before } });
      expect(answer.status, path).toBe(200);
      expect(answer.headers.get('etag'), path).toBe(after);
      expect(
        answer.body.map((task: { title: string }) => task.title),
        path,
      ).toEqual(['after']);
    }
  });

  test('of an empty list: 0 for a user never seen, their counter for one whose tasks are gone or filtered out', async () => {
    const [newcomer, leaver] = await Promise.all([api.user('newcomer'), api.user('leaver')]);
    const { id } = await created(leaver, 'done');
    await leaver.request('PATCH', `/api/tasks/${id}`, { body: { completed: true } });

    // No users row: version 0. Open tasks of someone whose only task is completed: an empty page, their counter.
    for (const [user, path, version] of [
      [newcomer, '/api/tasks', 0n],
      [newcomer, '/api/tasks?limit=5', 0n],
      [leaver, '/api/tasks?completed=false', 2n],
      [leaver, '/api/tasks?completed=false&limit=5', 2n],
    ] as const) {
      const answer = await user.request('GET', path);
      expect(answer.status, path).toBe(200);
      expect(answer.body, path).toEqual([]);
      expect(answer.headers.get('etag'), path).toBe(listEtag(user.id, version));
      expect((await user.request('GET', path, { headers: { 'if-none-match': listEtag(user.id, version) } })).status, path).toBe(304);
    }
    expect(await api.database.prisma.user.count({ where: { id: newcomer.id } })).toBe(0);

    await leaver.request('DELETE', `/api/tasks/${id}`);
    for (const path of ['/api/tasks', '/api/tasks?limit=5']) {
      const answer = await leaver.request('GET', path);
      expect(answer.body, path).toEqual([]);
      expect(answer.headers.get('etag'), path).toBe(listEtag(leaver.id, 3n));
    }
  });

  test('a refused list request (bad limit or cursor) is 400 whatever its If-None-Match, and has no ETag: there is no list to label', async () => {
    const alice = await api.user('alice');
    await created(alice);
    const etag = await currentListEtag(alice.id);
    // RFC 9110 §13.2.1: preconditions apply only where the answer without them would be a 2xx.
    for (const path of ['/api/tasks?limit=0', '/api/tasks?limit=101', '/api/tasks?cursor=bad', '/api/tasks?limit=5&cursor=bad']) {
      for (const headers of [{}, { 'if-none-match': etag }, { 'if-none-match': '*' }] as Record<string, string>[]) {
        const refused = await alice.request('GET', path, { headers });
        expect(refused.status, path).toBe(400);
        expect(refused.headers.get('etag'), path).toBeNull();
      }
    }
  });

  test('a streamed whole list carries the ETag of its first chunk; a matching If-None-Match is 304 before any of it is sent', async () => {
    const alice = await api.user('alice');
    await api.database.prisma.user.create({ data: { id: alice.id } });
    await api.database.prisma.task.createMany({ data: Array.from({ length: 600 }, (_, i) => ({ userId: alice.id, title: `bulk ${i}` })) });
    const expected = await currentListEtag(alice.id);

    const whole = await alice.request('GET', '/api/tasks');
    expect(whole.body).toHaveLength(600);
    expect(whole.headers.get('etag')).toBe(expected);
    const notModified = await alice.request('GET', '/api/tasks', { headers: { 'if-none-match': `"other", ${expected}` } });
    expect(notModified.status).toBe(304);
    expect(notModified.text).toBe('');
    expect(notModified.headers.get('etag')).toBe(expected);
    expect(notModified.headers.get('transfer-encoding')).toBeNull();
  });

  test('costs no statement of its own on REST, and GraphQL lists do not read it', async () => {
    const statements: string[] = [];
    const recording = api.database.prisma.$extends({
      query: {
        $allOperations({ model, operation, args, query }) {
          const text = operation === '$queryRaw' ? (args as { strings: string[] }).strings.join('?') : `${model ?? ''}.${operation}`;
          statements.push(text);
          return query(args);
        },
      },
    }) as unknown as PrismaClient;
    const counted = await createTestApp({ database: api.database, prisma: recording });
    try {
      const alice = await counted.user('alice');
      for (let i = 0; i < 3; i++) await alice.request('POST', '/api/tasks', { body: { title: `t${i}` } });
      const etag = await currentListEtag(alice.id);

      for (const [path, headers] of [
        ['/api/tasks', {}],
        ['/api/tasks?limit=2', {}],
        ['/api/tasks', { 'if-none-match': etag }],
        ['/api/tasks?limit=2', { 'if-none-match': etag }],
      ] as const) {
        statements.length = 0;
        const answer = await alice.request('GET', path, { headers });
        expect(answer.headers.get('etag'), path).toBe(etag);
        expect(statements, path).toHaveLength(1);
        expect(statements[0], path).toMatch(/change_count FROM users/);
      }

      for (const query of ['{ tasks { id } }', '{ tasks(limit: 2) { id } }', '{ taskConnection(first: 2) { edges { node { id } } } }']) {
        statements.length = 0;
        const answer = await alice.graphql(query);
        expect(answer.body.errors, query).toBeUndefined();
        expect(statements, query).toHaveLength(1);
        expect(statements[0], query).not.toMatch(/change_count/);
      }
    } finally {
      await counted.close();
    }
  });
});
