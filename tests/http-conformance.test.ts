/**
 * HTTP as RFC 9110/9112 has it, on every route: HEAD wherever GET is, a request id on every answer, the
 * path taken from the request target (never rebuilt from Host), absolute-form targets, and bodies in an
 * encoding we do not decode refused rather than misread.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { restRoutes } from '../src/rest/routes.js';
import { createTestApp, type TestApp, type TestUser } from './support/fixtures.js';
import { rawExchange as exchange } from './support/raw-http.js';

let api: TestApp;
let alice: TestUser;
let origin: string;
let taskId: string;

beforeAll(async () => {
  api = await createTestApp();
  alice = await api.user('alice');
  taskId = (await alice.request('POST', '/api/tasks', { body: { title: 'conformance' } })).body.id;
  origin = await api.listen();
});

afterAll(async () => {
  await api.close();
});

describe('HEAD', () => {
  const paths = () =>
    [
      ['/api/tasks', {}],
      [`/api/tasks/${taskId}`, {}],
      ['/healthz', {}],
      ['/openapi.json', {}],
      ['/docs', {}],
      ['/docs/swagger-ui.css', {}],
      ['/graphql', { accept: 'text/html' }],
    ] as const;

  test("every GET route answers HEAD with GET's status and headers, and no body", async () => {
    for (const [path, headers] of paths()) {
      const head = await alice.request('HEAD', path, { headers });
      const get = await alice.request('GET', path, { headers });

      expect(head.status, path).toBe(get.status);
      expect(head.status, path).toBe(200);
      expect(head.text, path).toBe('');
      expect(head.headers.get('content-type'), path).toBe(get.headers.get('content-type'));
    }
  });

  test('a wrong method is a 405 whose Allow lists HEAD beside GET', async () => {
    for (const path of ['/api/tasks', '/healthz', '/openapi.json', '/docs/swagger-ui.css']) {
      const response = await alice.request('PUT', path, { body: {} });

      expect(response.status, path).toBe(405);
      expect(response.headers.get('allow'), path).toMatch(/^GET, HEAD\b/);
      expect(response.body, path).toEqual({ detail: 'Method Not Allowed', code: 'METHOD_NOT_ALLOWED' });
    }
  });
});

describe('request ids', () => {
  test.for([
    ['a health check', 'GET', '/healthz'],
    ['a 404', 'GET', '/nowhere'],
    ['a 405', 'DELETE', '/healthz'],
    ['a 401', 'GET', '/api/tasks'],
    ['malformed percent-encoding', 'GET', '/api/tasks/%E0%A4%A'],
  ] as const)('%s carries x-request-id', async ([, method, path]) => {
    const response = await api.request(method, path);

    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('an oversized request head (431) carries one too, and a {"detail"} body', async () => {
    const received = await exchange(origin, `GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);

    expect(received).toMatch(/^HTTP\/1\.1 431/);
    expect(received).toMatch(/\r\nx-request-id: [0-9a-f-]{36}\r\n/);
    expect(received).toContain('{"detail":"Request header fields too large","code":"HEADERS_TOO_LARGE"}');
  });
});

describe('the request target', () => {
  test("the path routed is the request-target's, whatever the Host header says", async () => {
    const received = await exchange(origin, `GET /x HTTP/1.1\r\nHost: h/metrics?\r\nConnection: close\r\n\r\n`);

    expect(received).toMatch(/^HTTP\/1\.1 400/);
    expect(received).not.toContain('http_requests_total');
  });

  test('an absolute-form target is served by its path (RFC 9112 §3.2.2)', async () => {
    const received = await exchange(
      origin,
      `GET http://localhost/api/tasks?limit=1 HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${alice.token}\r\nConnection: close\r\n\r\n`,
    );

    expect(received).toMatch(/^HTTP\/1\.1 200/);
    expect(received).toContain('"title":"conformance"');
  });
});

describe('Content-Encoding', () => {
  test.for([
    ['REST', '/api/tasks', { title: 'compressed?' }],
    ['GraphQL', '/graphql', { query: 'mutation { createTask(title: "compressed?") { id } }' }],
  ] as const)('a %s body in an encoding the server does not decode is 415, and nothing is created', async ([, path, body]) => {
    const response = await alice.request('POST', path, { body, headers: { 'content-encoding': 'gzip' } });

    expect(response.status).toBe(415);
    expect(JSON.stringify(response.body)).toContain('Content-Encoding gzip is not supported');
    const titles = (await alice.request('GET', '/api/tasks')).body.map((t: { title: string }) => t.title);
    expect(titles).not.toContain('compressed?');
  });

  test('a request without a body is not refused for the header', async () => {
    const response = await alice.request('GET', '/api/tasks', { headers: { 'content-encoding': 'gzip' } });

    expect(response.status).toBe(200);
  });
});

describe('authentication on every REST route', () => {
  test.for(restRoutes.map((route) => [route.method, route.path] as const))(
    '%s %s without a token is 401 with a Bearer challenge',
    async ([method, path]) => {
      const response = await api.request(
        method,
        `/api${path.replace(':id', taskId)}`,
        method === 'GET' || method === 'DELETE' ? {} : { body: {} },
      );

      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
      expect(response.body).toEqual({ detail: 'Not authenticated', code: 'UNAUTHENTICATED' });
    },
  );
});
