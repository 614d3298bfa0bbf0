/**
 * Bad input never costs data: hostile and malformed requests across REST and GraphQL, each with the answer
 * it must get. None may be a 5xx, and after each rejected request the database, read back, is exactly as
 * it was. The few rows that are accepted (ignored fields, titles at the limit) check what changed.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, test, type ApiResponse, type TestApp, type TestUser } from './support/fixtures.js';

interface Seeded {
  api: TestApp;
  alice: TestUser;
  bob: TestUser;
  /** Alice's one task, and Bob's. */
  aliceTask: { id: string };
  bobTask: { id: string };
}

interface Row {
  name: string;
  send: (s: Seeded) => Promise<ApiResponse>;
  status: number;
  /** REST: the whole `{"detail"}` message (string, its `code` the status's below) or a pattern; GraphQL: the error message pattern. */
  detail?: string | RegExp;
  /** GraphQL: the `extensions.code` expected on the first error. */
  code?: string;
  /** For accepted rows: what must have changed. Rejected rows must change nothing. */
  accepted?: (s: Seeded, response: ApiResponse) => Promise<void> | void;
}

/** The `code` beside each REST row's `detail`, by status. */
const restCodes: Record<number, string> = {
  400: 'BAD_USER_INPUT',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE_ENTITY',
};

const uuid = () => randomUUID();
const json = (body: unknown) => ({ body });
const raw = (rawBody: string | Uint8Array, contentType = 'application/json') => ({
  rawBody,
  headers: { 'content-type': contentType },
});
/** A cursor in our format at the given timestamp text. */
const cursor = (iso: string) => Buffer.from(`${iso}|${randomUUID()}`).toString('base64url');
const gql = (query: string, variables?: Record<string, unknown>) => (s: Seeded) => s.alice.graphql(query, variables);

/** Everything Alice and Bob own, as stored. */
async function snapshot({ api, alice, bob }: Seeded) {
  return api.database.prisma.task.findMany({
    where: { userId: { in: [alice.id, bob.id] } },
    orderBy: { id: 'asc' },
  });
}

const rows: Row[] = [
  // Malformed ids
  { name: 'GET an id "abc"', send: (s) => s.alice.request('GET', '/api/tasks/abc'), status: 400, detail: 'Task id must be a UUID' },
  {
    name: 'GET an id "1 OR 1=1"',
    send: (s) => s.alice.request('GET', '/api/tasks/1%20OR%201%3D1'),
    status: 400,
    detail: 'Task id must be a UUID',
  },
  {
    name: 'GET an SQL-injection id',
    send: (s) => s.alice.request('GET', "/api/tasks/'%3B%20DROP%20TABLE%20tasks%3B--"),
    status: 400,
    detail: 'Task id must be a UUID',
  },
  {
    name: 'GET a 10 KB id',
    send: (s) => s.alice.request('GET', `/api/tasks/${'a'.repeat(10_240)}`),
    status: 400,
    detail: 'Task id must be a UUID',
  },
  {
    name: 'GET an id with a NUL byte',
    send: (s) => s.alice.request('GET', '/api/tasks/%00'),
    status: 400,
    detail: 'Task id must be a UUID',
  },
  {
    name: 'GET an id with broken percent-encoding',
    send: (s) => s.alice.request('GET', '/api/tasks/%E0%A4%A'),
    status: 400,
    detail: 'Malformed percent-encoding in the URL path',
  },
  {
    name: 'PATCH a UUID followed by a newline',
    send: (s) => s.alice.request('PATCH', `/api/tasks/${s.aliceTask.id}%0A`, json({ completed: true })),
    status: 400,
    detail: 'Task id must be a UUID',
  },
  {
    name: 'PUT an id "../../etc/passwd"',
    send: (s) => s.alice.request('PUT', '/api/tasks/..%2F..%2Fetc%2Fpasswd', json({ title: 'x' })),
    status: 400,
    detail: 'Task id must be a UUID',
  },
  {
    name: 'DELETE an id that is a number',
    send: (s) => s.alice.request('DELETE', '/api/tasks/12345'),
    status: 400,
    detail: 'Task id must be a UUID',
  },
  {
    name: "DELETE Bob's task as Alice",
    send: (s) => s.alice.request('DELETE', `/api/tasks/${s.bobTask.id}`),
    status: 403,
    detail: 'You do not have access to this task',
  },
  {
    name: 'DELETE a task that does not exist',
    send: (s) => s.alice.request('DELETE', `/api/tasks/${uuid()}`),
    status: 404,
    detail: 'Task not found',
  },

  // Titles: NUL, lone surrogates, limits in multi-byte characters
  {
    name: 'POST a title with a NUL character',
    send: (s) => s.alice.request('POST', '/api/tasks', json({ title: 'milk\u0000' })),
    status: 400,
    detail: 'Title must not contain NUL characters or unpaired surrogates',
  },
  {
    name: 'POST a title with a lone high surrogate',
    send: (s) => s.alice.request('POST', '/api/tasks', raw('{"title":"milk\\ud800"}')),
    status: 400,
    detail: 'Title must not contain NUL characters or unpaired surrogates',
  },
  {
    name: 'PUT a title with a lone low surrogate',
    send: (s) => s.alice.request('PUT', `/api/tasks/${s.aliceTask.id}`, raw('{"title":"\\udc00milk"}')),
    status: 400,
    detail: 'Title must not contain NUL characters or unpaired surrogates',
  },
  {
    name: 'POST 501 emoji (1002 UTF-16 units)',
    send: (s) => s.alice.request('POST', '/api/tasks', json({ title: '😀'.repeat(501) })),
    status: 400,
    detail: 'Title must be at most 500 characters',
  },
  {
    name: 'PUT 501 CJK characters',
    send: (s) => s.alice.request('PUT', `/api/tasks/${s.aliceTask.id}`, json({ title: '中'.repeat(501) })),
    status: 400,
    detail: 'Title must be at most 500 characters',
  },
  {
    name: 'POST a title of only whitespace and newlines',
    send: (s) => s.alice.request('POST', '/api/tasks', json({ title: ' \n\t\r ' })),
    status: 400,
    detail: 'Title must not be empty',
  },
  {
    name: 'POST exactly 500 emoji (accepted, stored as 500 characters)',
    send: (s) => s.alice.request('POST', '/api/tasks', json({ title: '😀'.repeat(500) })),
    status: 201,
    accepted: async (s, response) => {
      const stored = await s.api.database.prisma.task.findUniqueOrThrow({ where: { id: response.body.id } });
      expect(Array.from(stored.title)).toHaveLength(500);
      expect(stored.userId).toBe(s.alice.id);
    },
  },
  {
    name: 'PUT 500 accented characters padded with spaces (accepted, trimmed)',
    send: (s) => s.alice.request('PUT', `/api/tasks/${s.aliceTask.id}`, json({ title: `  ${'é'.repeat(500)}  ` })),
    status: 200,
    accepted: async (s) => {
      const stored = await s.api.database.prisma.task.findUniqueOrThrow({ where: { id: s.aliceTask.id } });
      expect(stored.title).toBe('é'.repeat(500));
    },
  },

  // Wrong JSON types
  {
    name: 'POST a numeric title',
    send: (s) => s.alice.request('POST', '/api/tasks', json({ title: 123 })),
    status: 422,
    detail: '"title" must be a string',
  },
  {
    name: 'POST a null title',
    send: (s) => s.alice.request('POST', '/api/tasks', json({ title: null })),
    status: 422,
    detail: '"title" must be a string',
  },
  {
    name: 'POST an array title',
    send: (s) => s.alice.request('POST', '/api/tasks', json({ title: ['a', 'b'] })),
    status: 422,
    detail: '"title" must be a string',
  },
  {
    name: 'POST an operator-object title',
    send: (s) => s.alice.request('POST', '/api/tasks', json({ title: { $gt: '' } })),
    status: 422,
    detail: '"title" must be a string',
  },
  {
    name: 'PATCH completed as "true"',
    send: (s) => s.alice.request('PATCH', `/api/tasks/${s.aliceTask.id}`, json({ completed: 'true' })),
    status: 422,
    detail: '"completed" must be a boolean',
  },
  {
    name: 'PATCH completed as 0',
    send: (s) => s.alice.request('PATCH', `/api/tasks/${s.aliceTask.id}`, json({ completed: 0 })),
    status: 422,
    detail: '"completed" must be a boolean',
  },
  {
    name: 'PATCH completed as null',
    send: (s) => s.alice.request('PATCH', `/api/tasks/${s.aliceTask.id}`, json({ completed: null })),
    status: 422,
    detail: '"completed" must be a boolean',
  },
  {
    name: 'PUT a boolean title',
    send: (s) => s.alice.request('PUT', `/api/tasks/${s.aliceTask.id}`, json({ title: true })),
    status: 422,
    detail: '"title" must be a string',
  },

  // Empty and invalid JSON
  { name: 'POST an empty body', send: (s) => s.alice.request('POST', '/api/tasks', raw('')), status: 422, detail: '"title" is required' },
  { name: 'POST "{"', send: (s) => s.alice.request('POST', '/api/tasks', raw('{')), status: 422, detail: 'Request body is not valid JSON' },
  {
    name: 'POST single-quoted JSON',
    send: (s) => s.alice.request('POST', '/api/tasks', raw("{'title': 'x'}")),
    status: 422,
    detail: 'Request body is not valid JSON',
  },
  {
    name: 'POST JSON followed by garbage',
    send: (s) => s.alice.request('POST', '/api/tasks', raw('{"title":"x"} trailing')),
    status: 422,
    detail: 'Request body is not valid JSON',
  },
  {
    name: 'POST a JSON array',
    send: (s) => s.alice.request('POST', '/api/tasks', raw('[{"title":"x"}]')),
    status: 422,
    detail: 'Request body must be a JSON object',
  },
  {
    name: 'PATCH JSON null',
    send: (s) => s.alice.request('PATCH', `/api/tasks/${s.aliceTask.id}`, raw('null')),
    status: 422,
    detail: 'Request body must be a JSON object',
  },
  {
    name: 'POST bytes that are not UTF-8',
    send: (s) =>
      s.alice.request(
        'POST',
        '/api/tasks',
        raw(new Uint8Array([0x7b, 0x22, 0x74, 0x69, 0x74, 0x6c, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])),
      ),
    status: 422,
    detail: 'Request body is not valid UTF-8',
  },

  // Prototype pollution
  {
    name: 'POST a title hidden under __proto__',
    send: (s) => s.alice.request('POST', '/api/tasks', raw('{"__proto__": {"title": "polluted"}}')),
    status: 422,
    detail: '"title" is required',
  },
  {
    name: 'PATCH completed hidden under constructor.prototype',
    send: (s) => s.alice.request('PATCH', `/api/tasks/${s.aliceTask.id}`, raw('{"constructor": {"prototype": {"completed": true}}}')),
    status: 422,
    detail: '"completed" is required',
  },
  {
    name: 'POST a title with a __proto__ payload beside it (accepted, nothing polluted)',
    send: (s) => s.alice.request('POST', '/api/tasks', raw('{"title": "ok", "__proto__": {"isAdmin": true, "userId": "root"}}')),
    status: 201,
    accepted: (_s, response) => {
      expect(response.body.user_id).not.toBe('root');
      expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    },
  },

  // Mass assignment: fields the client may not set are ignored
  {
    name: "POST with user_id set to Bob's (accepted as Alice's)",
    send: (s) => s.alice.request('POST', '/api/tasks', json({ title: 'mine', user_id: s.bob.id, userId: s.bob.id })),
    status: 201,
    accepted: async (s, response) => {
      expect(response.body.user_id).toBe(s.alice.id);
      expect(await s.api.database.prisma.task.count({ where: { userId: s.bob.id } })).toBe(1);
    },
  },
  {
    name: "POST with the id of Bob's task (accepted under a new id)",
    send: (s) => s.alice.request('POST', '/api/tasks', json({ title: 'mine', id: s.bobTask.id })),
    status: 201,
    accepted: async (s, response) => {
      expect(response.body.id).not.toBe(s.bobTask.id);
      expect((await s.api.database.prisma.task.findUniqueOrThrow({ where: { id: s.bobTask.id } })).userId).toBe(s.bob.id);
    },
  },
  {
    name: 'PUT with user_id and created_at (accepted, both unchanged)',
    send: (s) =>
      s.alice.request(
        'PUT',
        `/api/tasks/${s.aliceTask.id}`,
        json({ title: 'renamed', user_id: s.bob.id, created_at: '2000-01-01T00:00:00Z' }),
      ),
    status: 200,
    accepted: (s, response) => {
      expect(response.body.user_id).toBe(s.alice.id);
      expect(response.body.created_at).not.toMatch(/^2000/);
    },
  },
  {
    name: 'PATCH with a title beside completed (accepted, title unchanged)',
    send: (s) => s.alice.request('PATCH', `/api/tasks/${s.aliceTask.id}`, json({ completed: true, title: 'hijacked' })),
    status: 200,
    accepted: async (s) => {
      const stored = await s.api.database.prisma.task.findUniqueOrThrow({ where: { id: s.aliceTask.id } });
      expect(stored).toMatchObject({ completed: true, title: 'seed' });
    },
  },

  // Huge bodies
  {
    name: 'POST a 1 MB body',
    send: (s) => s.alice.request('POST', '/api/tasks', json({ title: 'x'.repeat(1_000_000) })),
    status: 413,
    detail: 'Request body is larger than 65536 bytes',
  },
  {
    name: 'PUT a 70 KB title',
    send: (s) => s.alice.request('PUT', `/api/tasks/${s.aliceTask.id}`, json({ title: 'é'.repeat(35_000) })),
    status: 413,
    detail: 'Request body is larger than 65536 bytes',
  },

  // Wrong content types
  {
    name: 'POST JSON declared as text/plain',
    send: (s) => s.alice.request('POST', '/api/tasks', raw('{"title":"x"}', 'text/plain')),
    status: 415,
    detail: 'Content-Type must be application/json',
  },
  {
    name: 'POST a form',
    send: (s) => s.alice.request('POST', '/api/tasks', raw('title=x', 'application/x-www-form-urlencoded')),
    status: 415,
    detail: 'Content-Type must be application/json',
  },
  {
    name: 'POST multipart',
    send: (s) =>
      s.alice.request(
        'POST',
        '/api/tasks',
        raw('--b\r\nContent-Disposition: form-data; name="title"\r\n\r\nx\r\n--b--', 'multipart/form-data; boundary=b'),
      ),
    status: 415,
    detail: 'Content-Type must be application/json',
  },
  {
    name: 'PUT XML',
    send: (s) => s.alice.request('PUT', `/api/tasks/${s.aliceTask.id}`, raw('<title>x</title>', 'application/xml')),
    status: 415,
    detail: 'Content-Type must be application/json',
  },
  {
    name: 'PATCH a body with no Content-Type',
    send: (s) => s.alice.request('PATCH', `/api/tasks/${s.aliceTask.id}`, { rawBody: '{"completed":true}' }),
    status: 415,
    detail: 'Content-Type must be application/json',
  },

  // Methods
  {
    name: 'a mutation over GET /graphql',
    send: (s) => s.alice.request('GET', `/graphql?query=${encodeURIComponent('mutation { createTask(title: "x") { id } }')}`),
    status: 405,
    detail: /only perform a mutation operation from a POST request/,
  },
  {
    name: 'POST to a task URL',
    send: (s) => s.alice.request('POST', `/api/tasks/${s.aliceTask.id}`, json({ title: 'x' })),
    status: 405,
    detail: 'Method Not Allowed',
  },
  {
    name: 'GET /api/tasks with a title in the query string (nothing created)',
    send: (s) => s.alice.request('GET', '/api/tasks?title=x'),
    status: 200,
    accepted: (_s, response) => expect(response.body).toHaveLength(1),
  },
  {
    name: 'GET /api/tasks?completed=yes',
    send: (s) => s.alice.request('GET', '/api/tasks?completed=yes'),
    status: 400,
    detail: '"completed" must be true or false',
  },
  {
    name: 'GET /api/tasks with a forged cursor',
    send: (s) => s.alice.request('GET', `/api/tasks?limit=5&cursor=${Buffer.from("' OR 1=1 --|x").toString('base64url')}`),
    status: 400,
    detail: 'Invalid cursor',
  },

  {
    name: 'GET /api/tasks?limit[]=5 (not a limit: ignored)',
    send: (s) => s.alice.request('GET', '/api/tasks?limit[]=5'),
    status: 200,
    accepted: (_s, response) => expect(response.body).toHaveLength(1),
  },
  {
    name: 'GET /api/tasks?limit[a]=1 (ignored)',
    send: (s) => s.alice.request('GET', '/api/tasks?limit[a]=1'),
    status: 200,
    accepted: (_s, response) => expect(response.body).toHaveLength(1),
  },
  {
    name: 'GET /api/tasks?cursor[a]=x (ignored)',
    send: (s) => s.alice.request('GET', '/api/tasks?cursor[a]=x'),
    status: 200,
    accepted: (_s, response) => expect(response.body).toHaveLength(1),
  },
  {
    name: 'GET /api/tasks?completed[x]=true (ignored, not read as completed=false)',
    send: async (s) => {
      await s.alice.request('PATCH', `/api/tasks/${s.aliceTask.id}`, json({ completed: true }));
      return s.alice.request('GET', '/api/tasks?completed[x]=true');
    },
    status: 200,
    accepted: (s, response) => expect(response.body).toMatchObject([{ id: s.aliceTask.id, completed: true }]),
  },
  {
    name: 'GET /api/tasks with a cursor in year -271821',
    send: (s) => s.alice.request('GET', `/api/tasks?limit=5&cursor=${cursor('-271821-04-20T00:00:00.000Z')}`),
    status: 400,
    detail: 'Invalid cursor',
  },
  {
    name: 'GET /api/tasks with a cursor in year -1',
    send: (s) => s.alice.request('GET', `/api/tasks?limit=5&cursor=${cursor('-000001-01-01T00:00:00.000Z')}`),
    status: 400,
    detail: 'Invalid cursor',
  },
  {
    name: 'GET /api/tasks with a cursor in year 0',
    send: (s) => s.alice.request('GET', `/api/tasks?limit=5&cursor=${cursor('0000-01-01T00:00:00.000Z')}`),
    status: 400,
    detail: 'Invalid cursor',
  },
  {
    name: 'GET /api/tasks with a cursor in year +10000',
    send: (s) => s.alice.request('GET', `/api/tasks?limit=5&cursor=${cursor('+010000-01-01T00:00:00.000Z')}`),
    status: 400,
    detail: 'Invalid cursor',
  },
  {
    name: 'POST with an unknown field nested 5000 deep (ignored)',
    send: (s) => s.alice.request('POST', '/api/tasks', raw(`{"title":"deep","a":${'['.repeat(5000)}${']'.repeat(5000)}}`)),
    status: 201,
    accepted: async (s, response) => {
      expect(response.body).toMatchObject({ title: 'deep', user_id: s.alice.id });
      expect(await s.api.database.prisma.task.count({ where: { userId: s.alice.id } })).toBe(2);
    },
  },
  {
    name: 'POST an empty body declared as text/plain',
    send: (s) => s.alice.request('POST', '/api/tasks', raw('', 'text/plain')),
    status: 415,
    detail: 'Content-Type must be application/json',
  },

  // GraphQL
  {
    name: 'GraphQL taskConnection after a cursor in year -1',
    send: gql(`{ taskConnection(first: 5, after: "${cursor('-000001-01-01T00:00:00.000Z')}") { edges { node { id } } } }`),
    status: 200,
    code: 'BAD_USER_INPUT',
    detail: /Invalid cursor/,
  },
  {
    name: 'GraphQL variable whose text reads like a driver error (a 400, not a 503)',
    send: gql('query($l: Int) { tasks(limit: $l) { id } }', { l: 'Connection terminated' }),
    status: 400,
    detail: /Int cannot represent non-integer value/,
  },
  {
    name: 'GraphQL createTask with an empty title',
    send: gql('mutation { createTask(title: "") { id } }'),
    status: 200,
    code: 'BAD_USER_INPUT',
    detail: /Title must not be empty/,
  },
  {
    name: 'GraphQL createTask with a numeric title variable',
    send: gql('mutation($t: String!) { createTask(title: $t) { id } }', { t: 123 }),
    status: 400,
    detail: /String cannot represent a non string value/,
  },
  {
    name: 'GraphQL setTaskCompleted on "abc"',
    send: gql('mutation { setTaskCompleted(id: "abc", completed: true) { id } }'),
    status: 200,
    code: 'BAD_USER_INPUT',
    detail: /Task id must be a UUID/,
  },
  {
    name: 'GraphQL deleteTask with an injection id',
    send: gql(`mutation { deleteTask(id: "' OR 1=1 --") { id } }`),
    status: 200,
    code: 'BAD_USER_INPUT',
    detail: /Task id must be a UUID/,
  },
  {
    name: "GraphQL renameTask on Bob's task",
    send: (s) => s.alice.graphql('mutation($id: ID!) { renameTask(id: $id, title: "mine") { id } }', { id: s.bobTask.id }),
    status: 200,
    code: 'FORBIDDEN',
    detail: /You do not have access/,
  },
  {
    name: 'GraphQL with a title containing NUL',
    send: gql('mutation($t: String!) { createTask(title: $t) { id } }', { t: 'a\u0000' }),
    status: 200,
    code: 'BAD_USER_INPUT',
    detail: /NUL/,
  },
  // Under application/json GraphQL over HTTP answers request errors 200; the message carries the verdict.
  { name: 'GraphQL with a syntax error', send: gql('mutation { createTask(title: "x") { id '), status: 200, detail: /Syntax Error/ },
  {
    name: 'GraphQL with an unknown argument (userId)',
    send: gql('mutation { createTask(title: "x", userId: "bob") { id } }'),
    status: 200,
    code: 'GRAPHQL_VALIDATION_FAILED',
    detail: /Unknown argument "userId"/,
  },
  {
    name: 'GraphQL with a non-string query',
    send: (s) => s.alice.request('POST', '/graphql', raw('{"query": 123}')),
    status: 400,
    detail: /"query" param to be a string/,
  },
  {
    name: 'GraphQL with string variables',
    send: (s) => s.alice.request('POST', '/graphql', raw('{"query": "{ tasks { id } }", "variables": "x"}')),
    status: 400,
    detail: /"variables" param/,
  },
  {
    name: 'GraphQL with a body that is not JSON',
    send: (s) => s.alice.request('POST', '/graphql', raw('mutation { createTask(title: "x") { id } }')),
    status: 400,
    detail: /invalid JSON/,
  },
  {
    name: 'GraphQL batch of mutations',
    send: (s) =>
      s.alice.request(
        'POST',
        '/graphql',
        json([{ query: 'mutation { createTask(title: "a") { id } }' }, { query: 'mutation { createTask(title: "b") { id } }' }]),
      ),
    status: 400,
  },
  {
    name: 'GraphQL with a 70 KB body',
    send: (s) => s.alice.request('POST', '/graphql', json({ query: `mutation { createTask(title: "${'x'.repeat(70_000)}") { id } }` })),
    status: 413,
  },
];

describe('bad input never costs data', () => {
  test('the table has at least 40 rows', () => {
    expect(rows.length).toBeGreaterThanOrEqual(40);
  });

  test.for(rows)('$name → $status', async (row, { api, alice, bob }) => {
    const seed = (user: TestUser) => user.request('POST', '/api/tasks', { body: { title: 'seed' } }).then((r) => r.body as { id: string });
    const s: Seeded = { api, alice, bob, aliceTask: await seed(alice), bobTask: await seed(bob) };
    const before = await snapshot(s);

    const response = await row.send(s);

    expect(response.status).toBe(row.status);
    expect(response.status).toBeLessThan(500);
    if (row.code !== undefined) expect(response.body.errors[0].extensions.code).toBe(row.code);
    if (row.detail !== undefined) {
      const message: unknown = response.body?.detail ?? response.body?.errors?.[0]?.message;
      if (typeof row.detail === 'string') expect(response.body).toEqual({ detail: row.detail, code: restCodes[row.status] });
      else expect(message).toMatch(row.detail);
    }
    if (row.accepted) await row.accepted(s, response);
    else expect(await snapshot(s)).toEqual(before);
  });
});
