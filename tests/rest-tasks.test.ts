import { randomUUID } from 'node:crypto';
import { describe, expect, test, type TestUser } from './support/fixtures.js';

const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function createTask(user: TestUser, title = 'Buy milk') {
  const response = await user.request('POST', '/api/tasks', { body: { title } });
  expect(response.status).toBe(201);
  return response.body as { id: string; title: string; completed: boolean; user_id: string; created_at: string; updated_at: string };
}

async function titlesOf(user: TestUser): Promise<string[]> {
  const response = await user.request('GET', '/api/tasks');
  expect(response.status).toBe(200);
  return (response.body as { title: string }[]).map((t) => t.title);
}

describe('POST /api/tasks', () => {
  test('returns 201 with exactly the task fields, owned by the caller', async ({ alice }) => {
    const response = await alice.request('POST', '/api/tasks', { body: { title: 'Buy milk' } });

    expect(response.status).toBe(201);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(Object.keys(response.body).sort()).toEqual(['completed', 'created_at', 'id', 'title', 'updated_at', 'user_id']);
    expect(response.body).toMatchObject({ title: 'Buy milk', completed: false, user_id: alice.id });
    expect(response.body.id).toMatch(UUID);
    expect(response.body.created_at).toMatch(ISO_TIMESTAMP);
    expect(response.body.updated_at).toBe(response.body.created_at);
  });

  test('trims the title', async ({ alice }) => {
    const task = await createTask(alice, '  \t Buy milk \n ');
    expect(task.title).toBe('Buy milk');
  });

  test('takes the owner from the token, never from the body', async ({ alice, bob }) => {
    const response = await alice.request('POST', '/api/tasks', {
      body: { title: 'Mine', user_id: bob.id, id: randomUUID(), completed: true, created_at: '2000-01-01T00:00:00Z' },
    });

    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ title: 'Mine', user_id: alice.id, completed: false });
    expect(response.body.created_at).not.toBe('2000-01-01T00:00:00.000Z');
    expect(await titlesOf(bob)).toEqual([]);
  });

  test('accepts a title of exactly 500 characters, counted as PostgreSQL counts them', async ({ api, alice }) => {
    const title = '😀'.repeat(500); // 1000 UTF-16 code units, 500 characters
    const task = await createTask(alice, title);

    expect(task.title).toBe(title);
    const [row] = await api.database.prisma.$queryRaw<{ length: number }[]>`
      SELECT char_length(title)::int AS length FROM tasks WHERE id = ${task.id}::uuid`;
    expect(row?.length).toBe(500);
  });

  test.for([
    ['empty', '', 'Title must not be empty'],
    ['blank', '   \t ', 'Title must not be empty'],
    ['501 characters', 'é'.repeat(501), 'Title must be at most 500 characters'],
    ['501 characters after trimming nothing', `${'x'.repeat(500)}y`, 'Title must be at most 500 characters'],
  ])('returns 400 for a title that is %s', async ([, title, detail], { alice }) => {
    const response = await alice.request('POST', '/api/tasks', { body: { title } });

    expect(response.status).toBe(400);
    expect(response.body).toEqual({ detail, code: 'BAD_USER_INPUT' });
    expect(await titlesOf(alice)).toEqual([]);
  });

  test.for([
    ['missing', {}, '"title" is required'],
    ['a number', { title: 123 }, '"title" must be a string'],
    ['null', { title: null }, '"title" must be a string'],
    ['a boolean', { title: true }, '"title" must be a string'],
    ['an array', { title: ['x'] }, '"title" must be a string'],
    ['an object', { title: { text: 'x' } }, '"title" must be a string'],
  ])('returns 422 when the title is %s', async ([, body, detail], { alice }) => {
    const response = await alice.request('POST', '/api/tasks', { body });

    expect(response.status).toBe(422);
    expect(response.body).toEqual({ detail, code: 'UNPROCESSABLE_ENTITY' });
    expect(await titlesOf(alice)).toEqual([]);
  });

  test.for([
    ['malformed JSON', '{"title": "x"', 'Request body is not valid JSON'],
    ['a JSON array', '[{"title": "x"}]', 'Request body must be a JSON object'],
    ['a JSON string', '"x"', 'Request body must be a JSON object'],
    ['JSON null', 'null', 'Request body must be a JSON object'],
    ['empty', '', '"title" is required'],
  ])('returns 422 when the body is %s', async ([, rawBody, detail], { alice }) => {
    const response = await alice.request('POST', '/api/tasks', {
      rawBody,
      headers: { 'content-type': 'application/json' },
    });

    expect(response.status).toBe(422);
    expect(response.body).toEqual({ detail, code: 'UNPROCESSABLE_ENTITY' });
    expect(await titlesOf(alice)).toEqual([]);
  });

  test('returns 415 for a body that is not declared as JSON', async ({ alice }) => {
    const response = await alice.request('POST', '/api/tasks', {
      rawBody: '{"title":"x"}',
      headers: { 'content-type': 'text/plain' },
    });

    expect(response.status).toBe(415);
    expect(response.body).toEqual({ detail: 'Content-Type must be application/json', code: 'UNSUPPORTED_MEDIA_TYPE' });
    expect(await titlesOf(alice)).toEqual([]);
  });

  test('ignores arguments in the query string', async ({ alice }) => {
    const response = await alice.request('POST', '/api/tasks?title=from-query', { body: { title: 'from-body' } });

    expect(response.status).toBe(201);
    expect(response.body.title).toBe('from-body');
  });

  test('returns 401 without a token, before looking at the body', async ({ api }) => {
    const response = await api.request('POST', '/api/tasks', { rawBody: '{not json', headers: { 'content-type': 'application/json' } });

    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(response.body).toEqual({ detail: 'Not authenticated', code: 'UNAUTHENTICATED' });
  });
});

describe('GET /api/tasks', () => {
  test("returns 200 with only the caller's tasks, newest first", async ({ alice, bob }) => {
    await createTask(alice, 'first');
    await createTask(bob, 'not yours');
    await createTask(alice, 'second');
    await createTask(alice, 'third');

    const response = await alice.request('GET', '/api/tasks');

    expect(response.status).toBe(200);
    expect(response.body.map((t: { title: string }) => t.title)).toEqual(['third', 'second', 'first']);
    expect(response.body.every((t: { user_id: string }) => t.user_id === alice.id)).toBe(true);
  });

  test('returns an empty array for a user with no tasks', async ({ alice }) => {
    const response = await alice.request('GET', '/api/tasks');

    expect(response.status).toBe(200);
    expect(response.body).toEqual([]);
  });

  test('returns 401 without a token', async ({ api }) => {
    const response = await api.request('GET', '/api/tasks');

    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(response.body).toEqual({ detail: 'Not authenticated', code: 'UNAUTHENTICATED' });
  });
});

describe('GET /api/tasks/{id}', () => {
  test('returns 200 with the task', async ({ alice }) => {
    const task = await createTask(alice);

    const response = await alice.request('GET', `/api/tasks/${task.id}`);

    expect(response.status).toBe(200);
    expect(response.body).toEqual(task);
  });

  test('accepts the id in upper case', async ({ alice }) => {
    const task = await createTask(alice);

    const response = await alice.request('GET', `/api/tasks/${task.id.toUpperCase()}`);

    expect(response.status).toBe(200);
    expect(response.body.id).toBe(task.id);
  });

  test.for(['abc', '1%20OR%201%3D1', '123', `${randomUUID()}x`])('returns 400 for the id %s', async (id, { alice }) => {
    const response = await alice.request('GET', `/api/tasks/${id}`);

    expect(response.status).toBe(400);
    expect(response.body).toEqual({ detail: 'Task id must be a UUID', code: 'BAD_USER_INPUT' });
  });

  test("returns 403 for another user's task", async ({ alice, bob }) => {
    const task = await createTask(alice);

    const response = await bob.request('GET', `/api/tasks/${task.id}`);

    expect(response.status).toBe(403);
    expect(response.body).toEqual({ detail: 'You do not have access to this task', code: 'FORBIDDEN' });
  });

  test('returns 404 for a task that does not exist', async ({ alice }) => {
    const response = await alice.request('GET', `/api/tasks/${randomUUID()}`);

    expect(response.status).toBe(404);
    expect(response.body).toEqual({ detail: 'Task not found', code: 'NOT_FOUND' });
  });

  test('returns 401 without a token, before checking the id', async ({ api }) => {
    const response = await api.request('GET', '/api/tasks/not-a-uuid');

    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
  });
});

describe('PATCH /api/tasks/{id}', () => {
  test('returns 200 with the task marked completed, and back again', async ({ alice }) => {
    const task = await createTask(alice);

    const done = await alice.request('PATCH', `/api/tasks/${task.id}`, { body: { completed: true } });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ id: task.id, title: task.title, completed: true, created_at: task.created_at });
    expect(Date.parse(done.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(task.updated_at));

    const undone = await alice.request('PATCH', `/api/tasks/${task.id}`, { body: { completed: false } });
    expect(undone.status).toBe(200);
    expect(undone.body.completed).toBe(false);
    expect((await alice.request('GET', `/api/tasks/${task.id}`)).body.completed).toBe(false);
  });

  test('updates updated_at on every change', async ({ alice }) => {
    const task = await createTask(alice);
    await new Promise((resolve) => setTimeout(resolve, 5));

    const response = await alice.request('PATCH', `/api/tasks/${task.id}`, { body: { completed: true } });

    expect(Date.parse(response.body.updated_at)).toBeGreaterThan(Date.parse(task.updated_at));
  });

  test.for([
    ['missing', {}, '"completed" is required'],
    ['a string', { completed: 'yes' }, '"completed" must be a boolean'],
    ['the string "true"', { completed: 'true' }, '"completed" must be a boolean'],
    ['a number', { completed: 1 }, '"completed" must be a boolean'],
    ['null', { completed: null }, '"completed" must be a boolean'],
  ])('returns 422 when completed is %s, and changes nothing', async ([, body, detail], { alice }) => {
    const task = await createTask(alice);

    const response = await alice.request('PATCH', `/api/tasks/${task.id}`, { body });

    expect(response.status).toBe(422);
    expect(response.body).toEqual({ detail, code: 'UNPROCESSABLE_ENTITY' });
    expect((await alice.request('GET', `/api/tasks/${task.id}`)).body).toEqual(task);
  });

  test('returns 400 for an id that is not a UUID', async ({ alice }) => {
    const response = await alice.request('PATCH', '/api/tasks/abc', { body: { completed: true } });

    expect(response.status).toBe(400);
    expect(response.body).toEqual({ detail: 'Task id must be a UUID', code: 'BAD_USER_INPUT' });
  });

  test("returns 403 for another user's task, and leaves it alone", async ({ alice, bob }) => {
    const task = await createTask(alice);

    const response = await bob.request('PATCH', `/api/tasks/${task.id}`, { body: { completed: true } });

    expect(response.status).toBe(403);
    expect(response.body).toEqual({ detail: 'You do not have access to this task', code: 'FORBIDDEN' });
    expect((await alice.request('GET', `/api/tasks/${task.id}`)).body).toEqual(task);
  });

  test('returns 404 for a task that does not exist', async ({ alice }) => {
    const response = await alice.request('PATCH', `/api/tasks/${randomUUID()}`, { body: { completed: true } });

    expect(response.status).toBe(404);
    expect(response.body).toEqual({ detail: 'Task not found', code: 'NOT_FOUND' });
  });

  test('returns 401 without a token', async ({ api }) => {
    const response = await api.request('PATCH', `/api/tasks/${randomUUID()}`, { body: { completed: true } });

    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
  });
});

describe('PUT /api/tasks/{id}', () => {
  test('returns 200 with the task renamed, title trimmed', async ({ alice }) => {
    const task = await createTask(alice);

    const response = await alice.request('PUT', `/api/tasks/${task.id}`, { body: { title: '  Buy oat milk ' } });

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ id: task.id, title: 'Buy oat milk', completed: false, user_id: alice.id });
    expect((await alice.request('GET', `/api/tasks/${task.id}`)).body.title).toBe('Buy oat milk');
  });

  test.for([
    ['blank', '  ', 'Title must not be empty'],
    ['over 500 characters', 'ß'.repeat(501), 'Title must be at most 500 characters'],
    ['holding a NUL character', 'a\u0000b', 'Title must not contain NUL characters or unpaired surrogates'],
    ['holding an unpaired surrogate', 'a\uD800b', 'Title must not contain NUL characters or unpaired surrogates'],
  ])('returns 400 for a title that is %s, and changes nothing', async ([, title, detail], { alice }) => {
    const task = await createTask(alice);

    const response = await alice.request('PUT', `/api/tasks/${task.id}`, { body: { title } });

    expect(response.status).toBe(400);
    expect(response.body).toEqual({ detail, code: 'BAD_USER_INPUT' });
    expect((await alice.request('GET', `/api/tasks/${task.id}`)).body).toEqual(task);
  });

  test('returns 400 for an id that is not a UUID', async ({ alice }) => {
    const response = await alice.request('PUT', '/api/tasks/abc', { body: { title: 'x' } });

    expect(response.status).toBe(400);
    expect(response.body).toEqual({ detail: 'Task id must be a UUID', code: 'BAD_USER_INPUT' });
  });

  test.for([
    ['missing', {}, '"title" is required'],
    ['not a string', { title: 42 }, '"title" must be a string'],
  ])('returns 422 when the title is %s', async ([, body, detail], { alice }) => {
    const task = await createTask(alice);

    const response = await alice.request('PUT', `/api/tasks/${task.id}`, { body });

    expect(response.status).toBe(422);
    expect(response.body).toEqual({ detail, code: 'UNPROCESSABLE_ENTITY' });
    expect((await alice.request('GET', `/api/tasks/${task.id}`)).body).toEqual(task);
  });

  test("returns 403 for another user's task, and leaves it alone", async ({ alice, bob }) => {
    const task = await createTask(alice);

    const response = await bob.request('PUT', `/api/tasks/${task.id}`, { body: { title: 'hijacked' } });

    expect(response.status).toBe(403);
    expect(response.body).toEqual({ detail: 'You do not have access to this task', code: 'FORBIDDEN' });
    expect((await alice.request('GET', `/api/tasks/${task.id}`)).body).toEqual(task);
  });

  test('returns 404 for a task that does not exist', async ({ alice }) => {
    const response = await alice.request('PUT', `/api/tasks/${randomUUID()}`, { body: { title: 'x' } });

    expect(response.status).toBe(404);
    expect(response.body).toEqual({ detail: 'Task not found', code: 'NOT_FOUND' });
  });

  test('returns 401 without a token', async ({ api }) => {
    const response = await api.request('PUT', `/api/tasks/${randomUUID()}`, { body: { title: 'x' } });

    expect(response.status).toBe(401);
  });
});

describe('DELETE /api/tasks/{id}', () => {
  test('returns 204 with an empty body, and the task is gone', async ({ alice }) => {
    const task = await createTask(alice);

    const response = await alice.request('DELETE', `/api/tasks/${task.id}`);

    expect(response.status).toBe(204);
    expect(response.text).toBe('');
    expect(response.headers.get('content-type')).toBeNull();
    expect((await alice.request('GET', `/api/tasks/${task.id}`)).status).toBe(404);
    expect(await titlesOf(alice)).toEqual([]);
  });

  test('returns 400 for an id that is not a UUID', async ({ alice }) => {
    const response = await alice.request('DELETE', '/api/tasks/abc');

    expect(response.status).toBe(400);
    expect(response.body).toEqual({ detail: 'Task id must be a UUID', code: 'BAD_USER_INPUT' });
  });

  test("returns 403 for another user's task, and keeps it", async ({ alice, bob }) => {
    const task = await createTask(alice);

    const response = await bob.request('DELETE', `/api/tasks/${task.id}`);

    expect(response.status).toBe(403);
    expect(response.body).toEqual({ detail: 'You do not have access to this task', code: 'FORBIDDEN' });
    expect((await alice.request('GET', `/api/tasks/${task.id}`)).body).toEqual(task);
  });

  test('returns 404 for a task that does not exist, or no longer does', async ({ alice }) => {
    const task = await createTask(alice);
    await alice.request('DELETE', `/api/tasks/${task.id}`);

    const response = await alice.request('DELETE', `/api/tasks/${task.id}`);

    expect(response.status).toBe(404);
    expect(response.body).toEqual({ detail: 'Task not found', code: 'NOT_FOUND' });
  });

  test('ignores a body', async ({ alice }) => {
    const task = await createTask(alice);

    const response = await alice.request('DELETE', `/api/tasks/${task.id}`, { rawBody: '{not json' });

    expect(response.status).toBe(204);
  });

  test('returns 401 without a token', async ({ api }) => {
    const response = await api.request('DELETE', `/api/tasks/${randomUUID()}`);

    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
  });
});

describe('routes outside the contract', () => {
  test.for<[string, string]>([
    ['GET', '/api/nope'],
    ['GET', '/api/tasks/'],
    ['GET', `/api/tasks/${randomUUID()}/extra`],
    ['GET', '/api/createTask'],
    ['POST', '/api/webhook'],
    ['GET', '/api/openapi.json'],
    ['GET', '/nope'],
    ['GET', '/'],
  ])('%s %s returns 404', async ([method, path], { alice }) => {
    const response = await alice.request(method, path);

    expect(response.status).toBe(404);
    expect(response.body).toEqual({ detail: 'Not Found', code: 'NOT_FOUND' });
  });

  test('a known path with the wrong method returns 405 with Allow, HEAD included', async ({ alice }) => {
    const response = await alice.request('POST', `/api/tasks/${randomUUID()}`, { body: { title: 'x' } });

    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD, PATCH, PUT, DELETE');
    expect(response.body).toEqual({ detail: 'Method Not Allowed', code: 'METHOD_NOT_ALLOWED' });
  });
});
