/**
 * GET /openapi.json tells the truth: it is valid OpenAPI (checked by a real validator), it lists exactly
 * the route table's operations with their statuses, and what the routes really answer matches it.
 */
import { randomUUID } from 'node:crypto';
import { compileErrors, validate } from '@readme/openapi-parser';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { describe, expect, test } from 'vitest';
import { ERROR_CODES } from '../src/errors.js';
import { openApiPath } from '../src/rest/openapi.js';
import { pathParameters, restRoutes } from '../src/rest/routes.js';
import { createTestApp, type ApiResponse } from './support/fixtures.js';

type Json = Record<string, any>;

async function fetchDocument(): Promise<Json> {
  const api = await createTestApp();
  try {
    const response = await api.request('GET', '/openapi.json');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    return response.body as Json;
  } finally {
    await api.database.close();
  }
}

const documentPromise = fetchDocument();

describe('the OpenAPI document', () => {
  test('is valid OpenAPI 3', async () => {
    const document = await documentPromise;
    const result = await validate(structuredClone(document) as Parameters<typeof validate>[0]);

    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
    expect(document.openapi).toMatch(/^3\.0\./);
  });

  test('lists exactly the routes of the route table and the event stream, with unique operationIds', async () => {
    const document = await documentPromise;
    const documented = Object.entries(document.paths as Json).flatMap(([path, operations]) =>
      Object.keys(operations as Json).map((method) => `${method.toUpperCase()} ${path}`),
    );

    expect(documented.sort()).toEqual(restRoutes.map((r) => `${r.method} ${openApiPath(r)}`).sort());
    expect(document.paths['/api/tasks/events'].get.responses['200'].content).toHaveProperty(['text/event-stream']);
    const ids = restRoutes.map((r) => document.paths[openApiPath(r)][r.method.toLowerCase()].operationId as string);
    expect(ids).toEqual(restRoutes.map((r) => r.operationId));
    expect(new Set(ids).size).toBe(ids.length);
  });

  test.for(restRoutes.map((r) => [`${r.method} ${r.path}`, r] as const))(
    '%s documents its success, every error status, and the {"detail","code"} body',
    async ([, route]) => {
      const operation = (await documentPromise).paths[openApiPath(route)][route.method.toLowerCase()];
      const statuses = Object.keys(operation.responses as Json)
        .map(Number)
        .sort();

      const notModified = route.method === 'GET' && !route.stream ? [304] : [];
      expect(statuses).toEqual(
        [...new Set([route.status, ...notModified, ...Object.keys(route.errors).map(Number), 429, 500, 503])].sort(),
      );
      expect(Object.keys(operation.responses[429].headers as Json)).toEqual(['Retry-After', 'RateLimit-Policy', 'RateLimit']);
      expect(Object.keys(operation.responses[route.status].headers as Json)).toEqual(
        expect.arrayContaining(['RateLimit-Policy', 'RateLimit']),
      );
      for (const status of statuses.filter((s) => s >= 400)) {
        expect(operation.responses[status].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
      }
      if (route.status === 204) expect(operation.responses[204].content).toBeUndefined();
    },
  );

  test.for(restRoutes.map((r) => [`${r.method} ${r.path}`, r] as const))(
    '%s takes its arguments from the path and the body only, never both',
    async ([, route]) => {
      const operation = (await documentPromise).paths[openApiPath(route)][route.method.toLowerCase()];
      const parameters = (operation.parameters ?? []) as Json[];
      const bodyProperties = Object.keys(operation.requestBody?.content['application/json'].schema.properties ?? {});

      expect(parameters.filter((p) => p.in === 'path').map((p) => p.name)).toEqual(pathParameters(route));
      if (operation.requestBody) expect(parameters.filter((p) => p.in === 'query')).toEqual([]);
      for (const name of pathParameters(route)) expect(bodyProperties).not.toContain(name);
    },
  );

  test('writes full paths, under a server that is the origin the document came from', async () => {
    const document = await documentPromise;

    expect(Object.keys(document.paths as Json).sort()).toEqual(['/api/tasks', '/api/tasks/events', '/api/tasks/{id}']);
    expect(document.servers).toEqual([{ url: '/', description: expect.any(String) }]);
  });

  test('declares bearer-JWT security for every route', async () => {
    const document = await documentPromise;

    expect(document.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    expect(document.security).toEqual([{ bearerAuth: [] }]);
  });

  test('describes a task as the routes send it: snake_case, every field required, none nullable', async () => {
    const { components } = await documentPromise;

    expect(components.schemas.Task.required.sort()).toEqual(['completed', 'created_at', 'id', 'title', 'updated_at', 'user_id']);
    expect(Object.keys(components.schemas.Task.properties).sort()).toEqual(components.schemas.Task.required.sort());
    expect(JSON.stringify(components.schemas.Task)).not.toContain('nullable');
    expect(components.schemas.Error).toEqual({
      type: 'object',
      required: ['detail', 'code'],
      properties: {
        detail: { type: 'string', description: expect.any(String) },
        code: { type: 'string', enum: ERROR_CODES, description: expect.any(String) },
      },
    });
    expect(components.schemas.Query).toBeUndefined();
  });

  test('what every route really answers matches the documented schema for its status', async () => {
    const document = await documentPromise;
    const ajv = new Ajv({ strict: false });
    addFormats.default(ajv);
    ajv.addSchema({ components: document.components }, 'openapi.json');
    const api = await createTestApp();
    try {
      const alice = await api.user('alice');
      const bob = await api.user('bob');
      const check = (route: (typeof restRoutes)[number], response: ApiResponse) => {
        const documented = document.paths[openApiPath(route)][route.method.toLowerCase()].responses[response.status];
        expect(documented, `${route.method} ${route.path} answered an undocumented ${response.status}`).toBeDefined();
        const schema = documented.content?.['application/json']?.schema;
        if (!schema) return expect(response.text).toBe('');
        const valid = ajv.validate(rewriteRefs(schema), response.body);
        expect(valid, `${route.method} ${route.path} ${response.status}: ${ajv.errorsText()}`).toBe(true);
      };
      const byOperation = Object.fromEntries(restRoutes.map((r) => [r.operationId, r]));
      const route = (id: string) => {
        const found = byOperation[id];
        if (!found) throw new Error(`no route ${id}`);
        return found;
      };

      const created = await alice.request('POST', '/api/tasks', { body: { title: 'documented' } });
      check(route('createTask'), created);
      const id = created.body.id as string;
      check(route('createTask'), await alice.request('POST', '/api/tasks', { body: { title: '' } }));
      check(route('createTask'), await alice.request('POST', '/api/tasks', { body: {} }));
      check(route('createTask'), await api.request('POST', '/api/tasks', { body: { title: 'x' } }));
      check(route('listTasks'), await alice.request('GET', '/api/tasks'));
      check(route('getTask'), await alice.request('GET', `/api/tasks/${id}`));
      check(route('getTask'), await bob.request('GET', `/api/tasks/${id}`));
      check(route('getTask'), await alice.request('GET', `/api/tasks/${randomUUID()}`));
      check(route('getTask'), await alice.request('GET', '/api/tasks/abc'));
      check(route('setTaskCompleted'), await alice.request('PATCH', `/api/tasks/${id}`, { body: { completed: true } }));
      check(
        route('setTaskCompleted'),
        await alice.request('PATCH', `/api/tasks/${id}`, { rawBody: 'x', headers: { 'content-type': 'text/plain' } }),
      );
      check(route('renameTask'), await alice.request('PUT', `/api/tasks/${id}`, { body: { title: 'renamed' } }));
      check(route('renameTask'), await alice.request('PUT', `/api/tasks/${id}`, { body: { title: 'x'.repeat(70_000) } }));
      // Conditional requests and Idempotency-Key: 304, 412, 409 (in progress is tests/idempotency.test.ts's), 422, 400.
      const etag = (await alice.request('GET', `/api/tasks/${id}`)).headers.get('etag') ?? '';
      check(route('getTask'), await alice.request('GET', `/api/tasks/${id}`, { headers: { 'if-none-match': etag } }));
      const listed = await alice.request('GET', '/api/tasks');
      check(
        route('listTasks'),
        await alice.request('GET', '/api/tasks', { headers: { 'if-none-match': listed.headers.get('etag') ?? '' } }),
      );
      check(
        route('setTaskCompleted'),
        await alice.request('PATCH', `/api/tasks/${id}`, { body: { completed: false }, headers: { 'if-match': '"v1"' } }),
      );
      check(
        route('setTaskCompleted'),
        await alice.request('PATCH', `/api/tasks/${id}`, { body: { completed: false }, headers: { 'if-match': 'v1' } }),
      );
      const keyed = { 'idempotency-key': `key-${randomUUID()}` };
      check(route('createTask'), await alice.request('POST', '/api/tasks', { body: { title: 'keyed' }, headers: keyed }));
      check(route('createTask'), await alice.request('POST', '/api/tasks', { body: { title: 'keyed' }, headers: keyed }));
      check(route('createTask'), await alice.request('POST', '/api/tasks', { body: { title: 'other' }, headers: keyed }));
      check(route('createTask'), await alice.request('POST', '/api/tasks', { body: { title: 'x' }, headers: { 'idempotency-key': '' } }));
      check(
        route('renameTask'),
        await alice.request('PUT', `/api/tasks/${id}`, { body: { title: 'stale' }, headers: { 'if-match': etag } }),
      );
      check(route('deleteTask'), await alice.request('DELETE', `/api/tasks/${id}`, { headers: { 'if-match': etag } }));
      check(route('deleteTask'), await alice.request('DELETE', `/api/tasks/${id}`));
      check(route('deleteTask'), await alice.request('DELETE', `/api/tasks/${id}`));
      const strict = await createTestApp({ database: api.database, env: { REQUIRE_IF_MATCH: 'true' } });
      try {
        const dave = await strict.user('dave');
        const task = await dave.request('POST', '/api/tasks', { body: { title: 'strict' } });
        check(route('deleteTask'), await dave.request('DELETE', `/api/tasks/${task.body.id}`));
      } finally {
        await strict.close();
      }

      // The task limit and the rate limit, with both set low.
      const limited = await createTestApp({
        database: api.database,
        env: { MAX_TASKS_PER_USER: '1', RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '3' },
      });
      try {
        const carol = await limited.user('carol');
        check(route('createTask'), await carol.request('POST', '/api/tasks', { body: { title: 'the one' } }));
        const full = await carol.request('POST', '/api/tasks', { body: { title: 'one more' } });
        expect(full.status).toBe(409);
        check(route('createTask'), full);
        await carol.request('GET', '/api/tasks');
        const tooFast = await carol.request('GET', '/api/tasks');
        expect(tooFast.status).toBe(429);
        check(route('listTasks'), tooFast);
      } finally {
        await limited.app.close();
      }
    } finally {
      await api.database.close();
    }
  });
});

/** `#/components/...` refs, resolved against the document registered as openapi.json. */
function rewriteRefs(schema: unknown): Json {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi.json#/components/')) as Json;
}
