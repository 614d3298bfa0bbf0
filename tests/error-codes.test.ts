/**
 * Every error answered outside /graphql is `{"detail", "code"}`: the code one of ERROR_CODES (upper snake
 * case, from the one table in src/errors.ts), the answer's status the one that table gives it, and, for
 * the same failure, the very code GraphQL puts in `extensions.code`.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ERROR_CODES, httpStatusByCode, type ErrorCode } from '../src/errors.js';
import { createTestApp, signToken, type ApiResponse, type TestApp, type TestUser } from './support/fixtures.js';
import { rawExchange } from './support/raw-http.js';

const METRICS_TOKEN = 'metrics-token-for-error-codes';

let api: TestApp;
/** MAX_TASKS_PER_USER=1, REQUIRE_IF_MATCH=true and a metrics token, over the same database. */
let strict: TestApp;
let alice: TestUser;
let bob: TestUser;
let bobTask: { id: string };

beforeAll(async () => {
  api = await createTestApp();
  strict = await createTestApp({ database: api.database, env: { MAX_TASKS_PER_USER: '1', REQUIRE_IF_MATCH: 'true', METRICS_TOKEN } });
  [alice, bob] = await Promise.all([api.user('alice'), api.user('bob')]);
  bobTask = (await bob.request('POST', '/api/tasks', { body: { title: "Bob's" } })).body;
});

afterAll(async () => {
  await strict.close();
  await api.close();
});

/** The answer is exactly `{"detail": <a message>, "code": code}`, with the status the table gives the code. */
function expectCode(response: ApiResponse, status: number, code: ErrorCode) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
  expect(response.body).toEqual({ detail: expect.any(String), code });
  expect(httpStatusByCode[code]).toBe(status);
}

/** A raw answer's status line and its `{"detail","code"}` body. */
function parseRaw(received: string) {
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(received)?.[1]);
  const body = JSON.parse(received.slice(received.indexOf('\r\n\r\n') + 4)) as { detail: string; code: ErrorCode };
  return { status, body };
}

describe('the codes', () => {
  test('are upper snake case, unique, each with a 4xx or 5xx status', () => {
    expect(ERROR_CODES.length).toBeGreaterThan(0);
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    for (const code of ERROR_CODES) {
      expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
      expect(httpStatusByCode[code]).toBeGreaterThanOrEqual(400);
      expect(httpStatusByCode[code]).toBeLessThan(600);
    }
    expect(Object.keys(httpStatusByCode)).toEqual(ERROR_CODES);
  });
});

describe('REST and every other non-GraphQL answer carries its code', () => {
  test('404 for an unknown path, and for a static file that is not there', async () => {
    expectCode(await alice.request('GET', '/api/nope'), 404, 'NOT_FOUND');
    expectCode(await api.request('GET', '/graphql/assets/graphiql.AAAAAAAAAAAA.js'), 404, 'NOT_FOUND');
  });

  test('405 for a known path with another method', async () => {
    const response = await alice.request('POST', `/api/tasks/${randomUUID()}`, { body: { title: 'x' } });
    expectCode(response, 405, 'METHOD_NOT_ALLOWED');
    expect(response.headers.get('allow')).toBe('GET, HEAD, PATCH, PUT, DELETE');
  });

  test('413 for a body over the limit', async () => {
    expectCode(await alice.request('POST', '/api/tasks', { body: { title: 'x'.repeat(70_000) } }), 413, 'PAYLOAD_TOO_LARGE');
  });

  test('415 for a body that is not JSON', async () => {
    const response = await alice.request('POST', '/api/tasks', {
      rawBody: 'title=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expectCode(response, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  test('422 for malformed JSON, and for an argument of the wrong type', async () => {
    expectCode(
      await alice.request('POST', '/api/tasks', { rawBody: '{"title": ', headers: { 'content-type': 'application/json' } }),
      422,
      'UNPROCESSABLE_ENTITY',
    );
    expectCode(await alice.request('POST', '/api/tasks', { body: { title: 42 } }), 422, 'UNPROCESSABLE_ENTITY');
  });

  test('422 for an Idempotency-Key reused with another body', async () => {
    const headers = { 'idempotency-key': randomUUID() };
    expect((await alice.request('POST', '/api/tasks', { body: { title: 'first' }, headers })).status).toBe(201);
    expectCode(await alice.request('POST', '/api/tasks', { body: { title: 'second' }, headers }), 422, 'IDEMPOTENCY_KEY_REUSED');
  });

  test('400 for a bad id, a bad query argument, a bad title, and broken percent-encoding', async () => {
    expectCode(await alice.request('GET', '/api/tasks/abc'), 400, 'BAD_USER_INPUT');
    expectCode(await alice.request('GET', '/api/tasks?limit=0'), 400, 'BAD_USER_INPUT');
    expectCode(await alice.request('POST', '/api/tasks', { body: { title: ' ' } }), 400, 'BAD_USER_INPUT');
    expectCode(await alice.request('GET', '/api/tasks/%E0%A4%A'), 400, 'BAD_USER_INPUT');
  });

  test('401 without a token or with a bad one, with the challenge', async () => {
    const missing = await api.request('GET', '/api/tasks');
    expectCode(missing, 401, 'UNAUTHENTICATED');
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    const forged = await signToken({ sub: 'mallory' }, { secret: 'another-secret-that-is-at-least-32-bytes' });
    expectCode(await api.request('GET', '/api/tasks', { headers: { authorization: `Bearer ${forged}` } }), 401, 'UNAUTHENTICATED');
  });

  test("403 for another user's task, 404 for a task that does not exist", async () => {
    expectCode(await alice.request('GET', `/api/tasks/${bobTask.id}`), 403, 'FORBIDDEN');
    expectCode(await alice.request('DELETE', `/api/tasks/${randomUUID()}`), 404, 'NOT_FOUND');
  });

  test('409 past the task quota', async () => {
    const carol = await strict.user('carol');
    expect((await carol.request('POST', '/api/tasks', { body: { title: 'one' } })).status).toBe(201);
    expectCode(await carol.request('POST', '/api/tasks', { body: { title: 'two' } }), 409, 'QUOTA_EXCEEDED');
  });

  test('409 for an Idempotency-Key whose first request is still running', async () => {
    const dave = await api.user('dave');
    const headers = { 'idempotency-key': randomUUID() };
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => dave.request('POST', '/api/tasks', { body: { title: 'raced' }, headers })),
    );
    // Which of them overlap is up to the scheduler; each one that did is this 409.
    for (const answer of answers.filter((a) => a.status !== 201)) expectCode(answer, 409, 'IDEMPOTENCY_KEY_IN_PROGRESS');
  });

  test('412 for an If-Match naming another version, 428 for none where it is required', async () => {
    const task = (await alice.request('POST', '/api/tasks', { body: { title: 'versioned' } })).body;
    expectCode(
      await alice.request('PATCH', `/api/tasks/${task.id}`, { body: { completed: true }, headers: { 'if-match': '"v99"' } }),
      412,
      'PRECONDITION_FAILED',
    );
    const erin = await strict.user('erin');
    const own = (await erin.request('POST', '/api/tasks', { body: { title: 'strict' } })).body;
    expectCode(await erin.request('PATCH', `/api/tasks/${own.id}`, { body: { completed: true } }), 428, 'PRECONDITION_REQUIRED');
  });

  test('429 past the rate limit', async () => {
    const limited = await createTestApp({ database: api.database, env: { RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '1' } });
    try {
      const frank = await limited.user('frank');
      expect((await frank.request('GET', '/api/tasks')).status).toBe(200);
      const refused = await frank.request('GET', '/api/tasks');
      expectCode(refused, 429, 'RATE_LIMITED');
      expect(refused.headers.get('retry-after')).not.toBeNull();
    } finally {
      await limited.close();
    }
  });

  test('the event stream: 400 for a cursor it never sent, 401 without a token', async () => {
    expectCode(await alice.request('GET', '/api/tasks/events', { headers: { 'last-event-id': 'abc' } }), 400, 'BAD_USER_INPUT');
    expectCode(await api.request('GET', '/api/tasks/events'), 401, 'UNAUTHENTICATED');
  });

  test('/metrics: 401 without its token', async () => {
    expectCode(await strict.request('GET', '/metrics'), 401, 'UNAUTHENTICATED');
  });

  test("Node's own refusals on the socket: 400 for a malformed request line, 431 for an oversized head, 408 for a slow one", async () => {
    const impatient = await createTestApp({ database: api.database, limits: { headersTimeoutMs: 300, requestTimeoutMs: 600 } });
    try {
      const origin = await impatient.listen();
      expect(parseRaw(await rawExchange(origin, 'NOT A REQUEST LINE\r\n\r\n'))).toEqual({
        status: 400,
        body: { detail: 'Bad Request', code: 'BAD_USER_INPUT' },
      });
      expect(
        parseRaw(await rawExchange(origin, `GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)),
      ).toEqual({
        status: 431,
        body: { detail: 'Request header fields too large', code: 'HEADERS_TOO_LARGE' },
      });
      expect(parseRaw(await rawExchange(origin, 'GET /api/tasks HTTP/1.1\r\nHost: localhost\r\nX-Slow: '))).toEqual({
        status: 408,
        body: { detail: 'Request Timeout', code: 'REQUEST_TIMEOUT' },
      });
    } finally {
      await impatient.close();
    }
  });
});

describe('for the same failure, REST and GraphQL give the same code', () => {
  test.for([
    ["renaming another user's task", 'FORBIDDEN'],
    ['renaming a task that does not exist', 'NOT_FOUND'],
    ['renaming a task whose id is not a UUID', 'BAD_USER_INPUT'],
    ['renaming a task to a blank title', 'BAD_USER_INPUT'],
  ] as const)('%s: %s', async ([what, code]) => {
    const own = (await alice.request('POST', '/api/tasks', { body: { title: 'mine' } })).body as { id: string };
    const [id, title] = {
      "renaming another user's task": [bobTask.id, 'x'],
      'renaming a task that does not exist': [randomUUID(), 'x'],
      'renaming a task whose id is not a UUID': ['abc', 'x'],
      'renaming a task to a blank title': [own.id, ' '],
    }[what];

    const rest = await alice.request('PUT', `/api/tasks/${id}`, { body: { title } });
    const graphql = await alice.graphql('mutation($id: ID!, $title: String!) { renameTask(id: $id, title: $title) { id } }', { id, title });

    expect(graphql.body.errors[0].extensions.code).toBe(code);
    expect(rest.body.code).toBe(graphql.body.errors[0].extensions.code);
    expect(rest.body.detail).toBe(graphql.body.errors[0].message);
  });

  test('past the task quota: QUOTA_EXCEEDED on both', async () => {
    const grace = await strict.user('grace');
    expect((await grace.request('POST', '/api/tasks', { body: { title: 'one' } })).status).toBe(201);
    const rest = await grace.request('POST', '/api/tasks', { body: { title: 'two' } });
    const graphql = await grace.graphql('mutation { createTask(title: "two") { id } }');

    expect(rest.body).toEqual({ detail: 'Task limit reached', code: 'QUOTA_EXCEEDED' });
    expect(graphql.body.errors[0]).toMatchObject({ message: rest.body.detail, extensions: { code: rest.body.code } });
  });

  test('without a token: UNAUTHENTICATED on both', async () => {
    const rest = await api.request('GET', '/api/tasks');
    const graphql = await api.request('POST', '/graphql', { body: { query: '{ tasks { id } }' } });

    expect(graphql.status).toBe(rest.status);
    expect(graphql.body).toEqual({ errors: [{ message: rest.body.detail, extensions: { code: rest.body.code } }] });
  });
});
