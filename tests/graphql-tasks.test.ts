import { randomUUID } from 'node:crypto';
import { describe, expect, test, type ApiResponse, type TestUser } from './support/fixtures.js';

const TASK_FIELDS = 'id title completed userId createdAt updatedAt';

async function createTask(user: TestUser, title = 'Buy milk') {
  const response = await user.graphql(`mutation($title: String!) { createTask(title: $title) { ${TASK_FIELDS} } }`, {
    title,
  });
  expect(response.body.errors).toBeUndefined();
  return response.body.data.createTask as {
    id: string;
    title: string;
    completed: boolean;
    userId: string;
    createdAt: string;
    updatedAt: string;
  };
}

function expectError(response: ApiResponse, code: string, message: string) {
  expect(response.status).toBe(200);
  expect(response.body.errors).toHaveLength(1);
  expect(response.body.errors[0]).toMatchObject({ message, extensions: { code } });
}

describe('GraphQL tasks', () => {
  test("tasks lists only the caller's tasks, newest first", async ({ alice, bob }) => {
    await createTask(alice, 'first');
    await createTask(bob, 'not yours');
    await createTask(alice, 'second');

    const response = await alice.graphql(`{ tasks { title userId } }`);

    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      data: {
        tasks: [
          { title: 'second', userId: alice.id },
          { title: 'first', userId: alice.id },
        ],
      },
    });
  });

  test('createTask returns the new task, title trimmed, owned by the caller', async ({ alice }) => {
    const task = await createTask(alice, '  Buy milk ');

    expect(task).toMatchObject({ title: 'Buy milk', completed: false, userId: alice.id });
    expect(task.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  test('task returns one task by id', async ({ alice }) => {
    const created = await createTask(alice);

    const response = await alice.graphql(`query($id: ID!) { task(id: $id) { ${TASK_FIELDS} } }`, { id: created.id });

    expect(response.body).toEqual({ data: { task: created } });
  });

  test('setTaskCompleted and renameTask change the task', async ({ alice }) => {
    const created = await createTask(alice);

    const completed = await alice.graphql(`mutation($id: ID!) { setTaskCompleted(id: $id, completed: true) { completed title } }`, {
      id: created.id,
    });
    const renamed = await alice.graphql(`mutation($id: ID!) { renameTask(id: $id, title: " Oat milk ") { completed title } }`, {
      id: created.id,
    });

    expect(completed.body).toEqual({ data: { setTaskCompleted: { completed: true, title: 'Buy milk' } } });
    expect(renamed.body).toEqual({ data: { renameTask: { completed: true, title: 'Oat milk' } } });
  });

  test('deleteTask returns the deleted task and it is gone', async ({ alice }) => {
    const created = await createTask(alice);

    const deleted = await alice.graphql(`mutation($id: ID!) { deleteTask(id: $id) { id title } }`, { id: created.id });
    const after = await alice.graphql(`query($id: ID!) { task(id: $id) { id } }`, { id: created.id });

    expect(deleted.body).toEqual({ data: { deleteTask: { id: created.id, title: 'Buy milk' } } });
    expectError(after, 'NOT_FOUND', 'Task not found');
  });

  test.for<[string, string]>([
    ['task', `query($id: ID!) { task(id: $id) { id } }`],
    ['setTaskCompleted', `mutation($id: ID!) { setTaskCompleted(id: $id, completed: true) { id } }`],
    ['renameTask', `mutation($id: ID!) { renameTask(id: $id, title: "x") { id } }`],
    ['deleteTask', `mutation($id: ID!) { deleteTask(id: $id) { id } }`],
  ])("%s on another user's task is FORBIDDEN and changes nothing", async ([, query], { alice, bob }) => {
    const created = await createTask(alice);

    expectError(await bob.graphql(query, { id: created.id }), 'FORBIDDEN', 'You do not have access to this task');

    const after = await alice.graphql(`query($id: ID!) { task(id: $id) { ${TASK_FIELDS} } }`, { id: created.id });
    expect(after.body.data.task).toEqual(created);
  });

  test.for<[string, string]>([
    ['task', `query($id: ID!) { task(id: $id) { id } }`],
    ['setTaskCompleted', `mutation($id: ID!) { setTaskCompleted(id: $id, completed: true) { id } }`],
    ['renameTask', `mutation($id: ID!) { renameTask(id: $id, title: "x") { id } }`],
    ['deleteTask', `mutation($id: ID!) { deleteTask(id: $id) { id } }`],
  ])('%s on a missing task is NOT_FOUND, on a malformed id BAD_USER_INPUT', async ([, query], { alice }) => {
    expectError(await alice.graphql(query, { id: randomUUID() }), 'NOT_FOUND', 'Task not found');
    expectError(await alice.graphql(query, { id: 'abc' }), 'BAD_USER_INPUT', 'Task id must be a UUID');
  });

  test.for<[string, string, string]>([
    ['blank', '   ', 'Title must not be empty'],
    ['too long', 'x'.repeat(501), 'Title must be at most 500 characters'],
  ])('createTask with a %s title is BAD_USER_INPUT and creates nothing', async ([, title, message], { alice }) => {
    const response = await alice.graphql(`mutation($title: String!) { createTask(title: $title) { id } }`, { title });

    expectError(response, 'BAD_USER_INPUT', message);
    expect((await alice.graphql(`{ tasks { id } }`)).body).toEqual({ data: { tasks: [] } });
  });

  test('a variable of the wrong type is rejected before anything runs', async ({ alice }) => {
    const created = await createTask(alice);

    const response = await alice.graphql(`mutation($id: ID!, $c: Boolean!) { setTaskCompleted(id: $id, completed: $c) { id } }`, {
      id: created.id,
      c: 'yes',
    });

    expect(response.status).toBe(400);
    expect(response.body.errors[0].message).toMatch(/Boolean cannot represent a non boolean value/);
    expect((await alice.graphql(`{ tasks { completed } }`)).body.data.tasks).toEqual([{ completed: false }]);
  });

  test('without a token the answer is 401 UNAUTHENTICATED with a Bearer challenge', async ({ api }) => {
    const response = await api.request('POST', '/graphql', { body: { query: '{ tasks { id } }' } });

    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(response.body).toEqual({ errors: [{ message: 'Not authenticated', extensions: { code: 'UNAUTHENTICATED' } }] });
  });

  test('without a token even a malformed query is 401, not a syntax error', async ({ api }) => {
    const response = await api.request('POST', '/graphql', { body: { query: '{ tasks {' } });

    expect(response.status).toBe(401);
  });

  test('mutations are refused over GET', async ({ alice }) => {
    const query = encodeURIComponent('mutation { createTask(title: "via GET") { id } }');

    const response = await alice.request('GET', `/graphql?query=${query}`, { headers: { accept: 'application/json' } });

    expect(response.status).toBe(405);
    expect((await alice.graphql(`{ tasks { id } }`)).body).toEqual({ data: { tasks: [] } });
  });
});

describe('GraphQL execution (compiled with graphql-jit) returns what graphql-js would', () => {
  test('a field aliased __proto__ is returned, at the root and below it', async ({ alice }) => {
    await createTask(alice, 'proto');

    const response = await alice.graphql('{ __proto__: tasks { __proto__: title } }');

    expect(response.status).toBe(200);
    expect(response.text).toBe('{"data":{"__proto__":[{"__proto__":"proto"}]}}');
  });

  test('an omitted variable named like an Object.prototype member is null, not a function', async ({ alice }) => {
    await createTask(alice, 'constructor');

    const response = await alice.graphql(
      'query ($constructor: Boolean, $toString: Int) { tasks(completed: $constructor, limit: $toString) { title } }',
    );

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ data: { tasks: [{ title: 'constructor' }] } });
  });

  test('a variable of the wrong type is a 400 request error', async ({ alice }) => {
    const response = await alice.request('POST', '/graphql', {
      headers: { accept: 'application/graphql-response+json' },
      body: { query: 'query ($limit: Int) { tasks(limit: $limit) { id } }', variables: { limit: 'ten' } },
    });

    expect(response.status).toBe(400);
    expect(response.body.data).toBeUndefined();
    expect(response.body.errors[0].message).toMatch(/Int cannot represent non-integer value/);
  });

  test('a subscription to a field that does not exist is a validation error with a clear message, not a 500', async ({ alice }) => {
    const response = await alice.graphql('subscription { tasks { id } }');

    expect(response.status).toBe(200);
    expect(response.body.errors).toEqual([
      expect.objectContaining({
        message: 'Cannot query field "tasks" on type "Subscription".',
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
      }),
    ]);
  });
});
