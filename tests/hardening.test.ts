/**
 * GraphQL and HTTP limits: operation shape (GraphQL Armor), batching, field suggestions, body size,
 * slow clients, CORS and security headers.
 */
import { Readable } from 'node:stream';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { operationLimitErrors } from '../src/graphql/operation-limits.js';
import { schema } from '../src/schema/index.js';
import { createTestApp, signToken, type TestApp, type TestUser } from './support/fixtures.js';
import { rawExchange } from './support/raw-http.js';

let api: TestApp;
let production: TestApp;
let alice: TestUser;

beforeAll(async () => {
  api = await createTestApp({ env: { CORS_ORIGINS: 'http://localhost:3000,https://app.example.com' } });
  production = await createTestApp({ env: { NODE_ENV: 'production' } });
  alice = await api.user('alice');
});

afterAll(async () => {
  await Promise.all([api.close(), production.close()]);
});

const TASK_FIELDS = 'id title completed userId createdAt updatedAt __typename';

describe('GraphQL operation limits', () => {
  test.for([
    [
      'deeper than 6',
      '{ __type(name: "Task") { fields { type { ofType { ofType { ofType { ofType { name } } } } } } } }',
      /depth limit of 6/,
    ],
    ['more than 10 aliases', `{ ${Array.from({ length: 11 }, (_, i) => `a${i}: tasks { id }`).join(' ')} }`, /Aliases limit of 10/],
    ['more than 10 directives', `{ tasks ${'@include(if: true) '.repeat(11)} { id } }`, /Directives limit of 10/],
    ['more than 1000 tokens', `{ tasks { ${'id '.repeat(1001)} } }`, /Token limit of 1000/],
    ['costing more than 5000', `fragment F on Task { ${TASK_FIELDS} } { tasks { ${'...F '.repeat(300)} } }`, /Cost limit of 5000/],
  ] as const)('refuses an operation %s, before running it', async ([, query, message]) => {
    // GraphQL over HTTP: a request error is 200 under application/json, 400 under graphql-response+json.
    const legacy = await alice.graphql(query);
    const modern = await alice.request('POST', '/graphql', {
      headers: { accept: 'application/graphql-response+json' },
      body: { query },
    });

    for (const response of [legacy, modern]) {
      expect(response.body.data).toBeUndefined();
      expect(response.body.errors[0].message).toMatch(message);
    }
    expect(modern.status).toBe(400);
  });

  test('an ordinary query within every limit runs', async () => {
    const response = await alice.graphql(`{ mine: tasks { ${TASK_FIELDS} } }`);

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ data: { mine: [] } });
  });

  test('the same rules hold for documents the REST routes execute', () => {
    const deep = parse('{ __type(name: "Task") { fields { type { ofType { ofType { ofType { ofType { name } } } } } } } }');
    const restList = parse(`query tasksQuery { tasks { id title completed userId createdAt updatedAt } }`);

    expect(operationLimitErrors(schema, deep).map((e) => e.message)).toEqual([expect.stringMatching(/depth limit of 6/)]);
    expect(operationLimitErrors(schema, restList)).toEqual([]);
  });

  test('batched requests are refused', async () => {
    const response = await alice.request('POST', '/graphql', { body: [{ query: '{ tasks { id } }' }, { query: '{ tasks { id } }' }] });

    expect(response.status).toBe(400);
  });

  test('field suggestions are given in development and hidden in production', async () => {
    const token = await signToken({ sub: 'frank' });
    const query = { query: '{ taks { id } }' };
    const development = await api.request('POST', '/graphql', { headers: { authorization: `Bearer ${token}` }, body: query });
    const hidden = await production.request('POST', '/graphql', { headers: { authorization: `Bearer ${token}` }, body: query });

    expect(development.text).toContain('Did you mean');
    expect(hidden.body.errors[0].message).toBe('Cannot query field "taks" on type "Query". [Suggestion hidden]');
    expect(hidden.text).not.toContain('Did you mean');
    expect(hidden.text).not.toContain('"tasks"');
  });
});

describe('request body size', () => {
  const big = 'x'.repeat(70 * 1024);

  test('a REST body over 64 KiB is 413, and nothing is created', async () => {
    const response = await alice.request('POST', '/api/tasks', { body: { title: 'ok', padding: big } });

    expect(response.status).toBe(413);
    expect(response.body).toEqual({ detail: 'Request body is larger than 65536 bytes', code: 'PAYLOAD_TOO_LARGE' });
    expect((await alice.request('GET', '/api/tasks')).body).toEqual([]);
  });

  test('a REST body over 64 KiB sent without Content-Length (chunked) is 413 too', async () => {
    const chunks = Readable.from(Array.from({ length: 10 }, () => Buffer.from(big.slice(0, 10 * 1024))));
    const response = await alice.request('POST', '/api/tasks', { rawBody: chunks, headers: { 'content-type': 'application/json' } });

    expect(response.status).toBe(413);
    expect(response.body).toEqual({ detail: 'Request body is larger than 65536 bytes', code: 'PAYLOAD_TOO_LARGE' });
  });

  test('a GraphQL body over 64 KiB is 413', async () => {
    const response = await alice.graphql(`{ tasks { id } } # ${big}`);

    expect(response.status).toBe(413);
  });
});

describe('slow clients', () => {
  async function cutOffAfter(send: string) {
    const impatient = await createTestApp({ database: api.database, limits: { headersTimeoutMs: 300, requestTimeoutMs: 600 } });
    try {
      const origin = await impatient.listen();
      const started = performance.now();
      const received = await rawExchange(origin, send);
      return { ms: performance.now() - started, received };
    } finally {
      await impatient.close();
    }
  }

  test('a client that never finishes its headers is cut off after the headers timeout', async () => {
    const { ms, received } = await cutOffAfter('GET /api/tasks HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');

    expect(ms).toBeLessThan(3_000);
    expect(received).toMatch(/^HTTP\/1\.1 408/);
  });

  test('a client that never finishes its body is cut off after the request timeout', async () => {
    const { ms, received } = await cutOffAfter(
      `POST /api/tasks HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${alice.token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"title":`,
    );

    expect(ms).toBeLessThan(3_000);
    expect(received).toMatch(/^HTTP\/1\.1 408/);
    expect((await alice.request('GET', '/api/tasks')).body).toEqual([]);
  });
});

describe('malformed requests', () => {
  test('a Host header the URL parser refuses is a 400, not a 500', async () => {
    const received = await rawExchange(
      await api.listen(),
      `GET /api/tasks HTTP/1.1\r\nHost: undefined:undefined\r\nAuthorization: Bearer ${alice.token}\r\nConnection: close\r\n\r\n`,
    );

    expect(received).toMatch(/^HTTP\/1\.1 400/);
    expect(received).toContain('{"detail":"Bad Request","code":"BAD_USER_INPUT"}');
  });
});

describe('CORS', () => {
  test('an allowed origin is answered with itself, without credentials', async () => {
    const response = await alice.request('GET', '/api/tasks', { headers: { origin: 'http://localhost:3000' } });

    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    expect(response.headers.get('vary')).toMatch(/Origin/);
  });

  test('another origin gets no CORS headers at all', async () => {
    const response = await alice.request('GET', '/api/tasks', { headers: { origin: 'https://evil.example' } });

    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
  });

  test('a preflight from an allowed origin lists the methods and headers', async () => {
    const response = await api.request('OPTIONS', '/api/tasks/123', {
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'PATCH',
        'access-control-request-headers': 'authorization, content-type',
      },
    });

    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(response.headers.get('access-control-allow-methods')).toContain('PATCH');
    expect(response.headers.get('access-control-allow-headers')).toContain('authorization');
  });

  test("a browser on an allowed origin may send the retry headers and read the answers' ETag, Location and Idempotent-Replayed", async () => {
    const preflight = await api.request('OPTIONS', '/api/tasks/123', {
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'authorization, content-type, if-match, if-none-match, idempotency-key',
      },
    });
    const allowed =
      preflight.headers
        .get('access-control-allow-headers')
        ?.split(',')
        .map((h) => h.trim()) ?? [];
    expect(allowed).toEqual(expect.arrayContaining(['if-match', 'if-none-match', 'idempotency-key']));

    const alice = await api.user('alice');
    const created = await alice.request('POST', '/api/tasks', { body: { title: 'x' }, headers: { origin: 'https://app.example.com' } });
    const exposed =
      created.headers
        .get('access-control-expose-headers')
        ?.split(',')
        .map((h) => h.trim()) ?? [];
    expect(exposed).toEqual(expect.arrayContaining(['etag', 'location', 'idempotent-replayed']));
  });

  test('a preflight from another origin is not allowed', async () => {
    const response = await api.request('OPTIONS', '/api/tasks', {
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'DELETE' },
    });

    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('security headers', () => {
  test.for([
    ['a REST answer', 'GET', '/api/tasks'],
    ['a REST error', 'GET', '/api/tasks/nope'],
    ['a GraphQL answer', 'POST', '/graphql'],
    ['an unknown route', 'GET', '/wp-admin'],
  ] as const)('%s carries them, and no x-powered-by', async ([, method, path]) => {
    const response = await alice.request(method, path, method === 'POST' ? { body: { query: '{ tasks { id } }' } } : {});

    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('x-powered-by')).toBeNull();
  });
});
