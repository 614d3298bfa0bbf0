/**
 * What operators see: a request id on every answer, one JSON log line per request (never a token or a
 * title), and Prometheus metrics per route and status, per GraphQL operation, and for the database pool.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { App } from '../src/app.js';
import type { Database } from '../src/db/client.js';
import { createMetrics } from '../src/metrics.js';
import { openTestDatabase, testDatabaseKind } from './support/database.js';
import { createTestApp, send, signToken } from './support/fixtures.js';
import { until } from './support/wait.js';

const METRICS_TOKEN = 'metrics-token-for-tests';
let database: Database;
let app: App;
let lines: string[];
let authorization: string;

beforeAll(async () => {
  database = await openTestDatabase();
  lines = [];
  ({ app } = await createTestApp({
    database,
    logLines: lines,
    metrics: createMetrics({ poolStats: database.poolStats }),
    env: { METRICS_TOKEN },
  }));
  authorization = `Bearer ${await signToken({ sub: `observed-${Date.now()}` })}`;
});

afterAll(async () => {
  await database.close();
});

function requestLog(): { reqId: string; method: string; route: string; status: number; ms: number }[] {
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.msg === 'request') as never;
}

describe('request ids', () => {
  test('a sane x-request-id is kept and echoed; anything else is replaced by a new UUID', async () => {
    const kept = await send(app, 'GET', '/api/tasks', { headers: { authorization, 'x-request-id': 'lb-4711.a:b' } });
    const replaced = await send(app, 'GET', '/api/tasks', { headers: { authorization, 'x-request-id': 'has spaces and; "quotes"' } });
    const generated = await send(app, 'GET', '/api/tasks', { headers: { authorization } });

    expect(kept.headers.get('x-request-id')).toBe('lb-4711.a:b');
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(generated.headers.get('x-request-id')).not.toBe(replaced.headers.get('x-request-id'));
  });

  test('errors carry one too', async () => {
    const response = await send(app, 'GET', '/api/tasks');

    expect(response.status).toBe(401);
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('the request log', () => {
  test('has one JSON line per request with id, method, route template, status and latency', async () => {
    const created = await send(app, 'POST', '/api/tasks', {
      headers: { authorization, 'x-request-id': 'log-create' },
      body: { title: 'a secret plan' },
    });
    await send(app, 'GET', `/api/tasks/${created.body.id as string}`, { headers: { authorization, 'x-request-id': 'log-get' } });
    await send(app, 'POST', '/graphql', {
      headers: { authorization, 'x-request-id': 'log-graphql' },
      body: { query: '{ tasks { title } }' },
    });

    const entries = requestLog();
    expect(entries.find((e) => e.reqId === 'log-create')).toMatchObject({ method: 'POST', route: '/api/tasks', status: 201 });
    expect(entries.find((e) => e.reqId === 'log-get')).toMatchObject({ method: 'GET', route: '/api/tasks/:id', status: 200 });
    expect(entries.find((e) => e.reqId === 'log-graphql')).toMatchObject({ method: 'POST', route: '/graphql', status: 200 });
    expect(entries.every((e) => typeof e.ms === 'number')).toBe(true);
  });

  test('never holds the Authorization header, a token or a task title', async () => {
    await send(app, 'POST', '/api/tasks', { headers: { authorization }, body: { title: 'top secret title' } });
    await send(app, 'GET', '/api/tasks', { headers: { authorization: 'Bearer not.a.valid-token' } });

    const all = lines.join('\n');
    expect(all).not.toContain(authorization.slice(7));
    expect(all).not.toContain('not.a.valid-token');
    expect(all).not.toMatch(/secret (plan|title)/);
    expect(all.toLowerCase()).not.toContain('authorization');
  });

  test('leaves out health checks and metrics scrapes, and uses templates, not raw URLs full of ids', async () => {
    const before = requestLog().length;
    await send(app, 'GET', '/healthz');
    await send(app, 'GET', '/readyz');
    await send(app, 'GET', '/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    await send(app, 'GET', '/api/tasks/00000000-0000-4000-8000-000000000000/nope', { headers: { 'x-request-id': 'log-unmatched' } });

    const added = requestLog().slice(before);
    expect(added.map((e) => e.reqId)).toEqual(['log-unmatched']);
    expect(added[0]?.route).toBe('/api/unmatched');
  });
});

describe('/metrics', () => {
  test('needs the metrics token when one is set', async () => {
    expect((await send(app, 'GET', '/metrics')).status).toBe(401);
    expect((await send(app, 'GET', '/metrics', { headers: { authorization: 'Bearer wrong-token-of-same-size!' } })).status).toBe(401);
  });

  test('counts requests and latency per route and status, GraphQL operations, and the pool', async () => {
    await send(app, 'GET', '/api/tasks', { headers: { authorization } });
    await send(app, 'GET', '/api/tasks/abc', { headers: { authorization } });
    await send(app, 'POST', '/graphql', { headers: { authorization }, body: { query: 'query MyTasks { tasks { id } }' } });
    await send(app, 'GET', '/docs/swagger-ui.css');
    await send(app, 'GET', '/no/such/page');

    const response = await send(app, 'GET', '/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(response.text).toMatch(/http_requests_total\{method="GET",route="\/api\/tasks",status="200"\} \d+/);
    expect(response.text).toMatch(/http_requests_total\{method="GET",route="\/api\/tasks\/:id",status="400"\} \d+/);
    expect(response.text).toMatch(/http_request_duration_seconds_bucket\{le="0\.1",method="GET",route="\/api\/tasks",status="200"\} \d+/);
    expect(response.text).toMatch(/http_requests_total\{method="GET",route="\/docs\/swagger-ui\.css",status="200"\} \d+/);
    expect(response.text).toMatch(/http_requests_total\{method="GET",route="unmatched",status="404"\} \d+/);
    expect(response.text).not.toContain('/no/such/page');
    expect(response.text).toMatch(/graphql_operations_total\{source="graphql",type="query",name="MyTasks"\} 1/);
    expect(response.text).toMatch(/graphql_operations_total\{source="rest",type="query",name="tasks_query"\} \d+/);
    if (testDatabaseKind === 'postgres') expect(response.text).toMatch(/db_pool_connections\{state="total"\} [1-9]/);
  });
});

describe('a client that hangs up mid-body', () => {
  test('is logged as an aborted request and counted apart, not as an error or a 5xx', async () => {
    const logLines: string[] = [];
    const metrics = createMetrics();
    const api = await createTestApp({ database, logLines, metrics, env: { METRICS_TOKEN } });
    try {
      const origin = await api.listen();
      for (const path of ['/api/tasks', '/graphql']) {
        const socket = connect(Number(new URL(origin).port), '127.0.0.1');
        await new Promise((resolve) => socket.once('connect', resolve));
        socket.write(
          `POST ${path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${authorization}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"title":`,
        );
        await new Promise((resolve) => setTimeout(resolve, 50));
        socket.destroy();
      }
      await until(() => logLines.filter((line) => line.includes('request aborted')).length === 2, { timeoutMs: 5_000 });

      const entries = logLines.map((line) => JSON.parse(line) as { level: number; msg: string; route?: string });
      expect(entries.filter((entry) => entry.level >= 50)).toEqual([]);
      expect(entries.filter((entry) => entry.msg === 'request aborted by the client').map((entry) => [entry.level, entry.route])).toEqual([
        [30, '/api/tasks'],
        [30, '/graphql'],
      ]);
      const scrape = await send(api.app, 'GET', '/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      expect(scrape.text).not.toMatch(/status="5\d\d"/);
      expect(scrape.text).toMatch(/http_requests_aborted_total\{method="POST",route="\/api\/tasks"\} 1/);
      expect(scrape.text).toMatch(/http_requests_aborted_total\{method="POST",route="\/graphql"\} 1/);
    } finally {
      await api.app.close();
    }
  });
});
