/**
 * OpenTelemetry: with an OTLP endpoint configured, each request is a span named for its route (with its
 * status and request id) in the trace of the caller's `traceparent`, each GraphQL operation (a REST
 * route's derived one too) a span beneath it, and Prisma's spans beneath that. Spans are collected here
 * with the SDK's in-memory exporter, on a real database. Without an endpoint nothing is started.
 */
import { SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Database } from '../src/db/client.js';
import { loadEnv } from '../src/env.js';
import { startTracing, type Tracing } from '../src/tracing.js';
import { openTestDatabase } from './support/database.js';
import { TEST_SECRET, createTestApp, type ApiResponse, type TestApp, type TestUser } from './support/fixtures.js';
import { startKeyServer } from './support/key-server.js';

const CALLER_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN_ID = '00f067aa0ba902b7';
const traceparent = `00-${CALLER_TRACE_ID}-${CALLER_SPAN_ID}-01`;

function tracingConfig(env: Record<string, string> = {}) {
  return loadEnv({ NODE_ENV: 'test', BETTER_AUTH_SECRET: TEST_SECRET, ...env }).observability.tracing;
}

let database: Database;

beforeAll(async () => {
  database = await openTestDatabase();
});

afterAll(async () => {
  await database.close();
});

/** Whether a span started through the API records anything: only when an SDK is registered. */
function apiRecords(): boolean {
  const span = trace.getTracer('probe').startSpan('probe');
  span.end();
  return span.isRecording();
}

describe('the settings', () => {
  test('tracing is on with either OTLP endpoint, the traces one first, and off with OTEL_SDK_DISABLED', () => {
    expect(tracingConfig()).toEqual({ endpoint: undefined, serviceName: 'task-gateway', sampleRatio: 1 });
    expect(
      tracingConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_SERVICE_NAME: 'tasks-eu',
        OTEL_TRACES_SAMPLER_ARG: '0.1',
      }),
    ).toEqual({
      endpoint: 'http://collector:4318',
      serviceName: 'tasks-eu',
      sampleRatio: 0.1,
    });
    expect(() => tracingConfig({ OTEL_TRACES_SAMPLER_ARG: '2' })).toThrow(/OTEL_TRACES_SAMPLER_ARG: must be a number from 0 to 1/);
    expect(
      tracingConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:4318/v1/traces',
      }).endpoint,
    ).toBe('http://traces:4318/v1/traces');
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }).endpoint).toBeUndefined();
    expect(() => tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
  });
});

// First in the file: the SDK, once started below, is process-wide.
describe('without an OTLP endpoint', () => {
  test('nothing is started: no tracer provider, no Prisma helper, no Fastify plugin, and requests are served as ever', async () => {
    expect(await startTracing(tracingConfig())).toBeUndefined();
    const api = await createTestApp({ database });
    try {
      const alice = await api.user('alice');
      const created = await alice.request('POST', '/api/tasks', { headers: { traceparent }, body: { title: 'untraced' } });

      expect(created.status).toBe(201);
      expect(api.app.hasPlugin('@fastify/otel')).toBe(false);
      expect(apiRecords()).toBe(false);
      expect(trace.getActiveSpan()).toBeUndefined();
      expect((globalThis as Record<string, unknown>).PRISMA_INSTRUMENTATION).toBeUndefined();
    } finally {
      await api.close();
    }
  });
});

describe('with an OTLP endpoint', () => {
  const exporter = new InMemorySpanExporter();
  const processor = new SimpleSpanProcessor({ exporter });
  let tracing: Tracing;
  let api: TestApp;
  let alice: TestUser;

  beforeAll(async () => {
    tracing = (await startTracing(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }), processor)) as Tracing;
    api = await createTestApp({ database, tracing });
    alice = await api.user('alice');
  });

  afterAll(async () => {
    await api.close();
  });

  /** The spans that `send` makes, and nothing before it. */
  async function spansOf(send: () => Promise<unknown>): Promise<ReadableSpan[]> {
    await processor.forceFlush();
    exporter.reset();
    await send();
    await processor.forceFlush();
    return exporter.getFinishedSpans();
  }

  function named(spans: ReadableSpan[], name: string): ReadableSpan {
    const found = spans.filter((span) => span.name === name);
    expect(found, `one span named ${name} among ${spans.map((span) => span.name).join(', ')}`).toHaveLength(1);
    return found[0] as ReadableSpan;
  }

  function childrenOf(spans: ReadableSpan[], parent: ReadableSpan): ReadableSpan[] {
    return spans.filter((span) => span.parentSpanContext?.spanId === parent.spanContext().spanId);
  }

  /** Every span below `root`, following parent links. */
  function descendantsOf(spans: ReadableSpan[], root: ReadableSpan): ReadableSpan[] {
    const children = childrenOf(spans, root);
    return [...children, ...children.flatMap((child) => descendantsOf(spans, child))];
  }

  test("a REST request continues the caller's trace: route span → derived operation span → Prisma's spans", async () => {
    const created = await alice.request('POST', '/api/tasks', { body: { title: 'traced' } });
    let response: ApiResponse | undefined;
    const spans = await spansOf(async () => {
      response = await alice.request('GET', `/api/tasks/${created.body.id as string}`, {
        headers: { traceparent, 'x-request-id': 'traced-get' },
      });
    });

    expect(response?.status).toBe(200);
    const request = named(spans, 'GET /api/tasks/:id');
    expect(request.kind).toBe(SpanKind.SERVER);
    expect(request.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/api/tasks/:id',
      'http.response.status_code': 200,
      'http.request.id': 'traced-get',
    });
    expect(request.spanContext().traceId).toBe(CALLER_TRACE_ID);
    expect(request.parentSpanContext).toMatchObject({ traceId: CALLER_TRACE_ID, spanId: CALLER_SPAN_ID, isRemote: true });

    const operation = named(spans, 'query task_query');
    expect(childrenOf(spans, request)).toEqual([operation]);
    expect(operation.attributes).toMatchObject({ 'graphql.operation.type': 'query', 'graphql.operation.name': 'task_query' });

    const database = descendantsOf(spans, operation);
    expect(database.map((span) => span.name)).toContain('prisma:client:db_query');
    expect(database.find((span) => span.name === 'prisma:client:db_query')?.attributes['db.query.text']).toMatch(/FROM "public"\."tasks"/);
    // Nothing of the request outside its trace, nor loose from its tree.
    expect(spans.every((span) => span.spanContext().traceId === CALLER_TRACE_ID)).toBe(true);
    expect(descendantsOf(spans, request)).toHaveLength(spans.length - 1);
  });

  test("a GraphQL request continues the caller's trace: /graphql span → operation span → Prisma's spans", async () => {
    await alice.request('POST', '/api/tasks', { body: { title: 'traced too' } });
    let response: ApiResponse | undefined;
    const spans = await spansOf(async () => {
      response = await alice.request('POST', '/graphql', {
        headers: { traceparent },
        body: { query: 'query Tasks { tasks { id title } }' },
      });
    });

    expect(response?.status).toBe(200);
    const request = named(spans, 'POST /graphql');
    expect(request.attributes).toMatchObject({
      'http.route': '/graphql',
      'http.response.status_code': 200,
      // The id the server made up, as the response tells it.
      'http.request.id': response?.headers.get('x-request-id'),
    });
    expect(request.parentSpanContext).toMatchObject({ traceId: CALLER_TRACE_ID, spanId: CALLER_SPAN_ID, isRemote: true });

    const operation = named(spans, 'query Tasks');
    expect(childrenOf(spans, request)).toEqual([operation]);
    expect(descendantsOf(spans, operation).map((span) => span.name)).toContain('prisma:client:db_query');
    expect(spans.every((span) => span.spanContext().traceId === CALLER_TRACE_ID)).toBe(true);
    expect(descendantsOf(spans, request)).toHaveLength(spans.length - 1);
  });

  test("a request without traceparent starts a trace of its own; a refusal's status is on its span", async () => {
    const spans = await spansOf(() => alice.request('POST', '/api/tasks', { body: { title: '' } }));
    const rejected = named(spans, 'POST /api/tasks');
    expect(rejected.parentSpanContext).toBeUndefined();
    expect(rejected.spanContext().traceId).not.toBe(CALLER_TRACE_ID);
    expect(rejected.attributes['http.response.status_code']).toBe(400);

    const created = await spansOf(() => alice.request('POST', '/api/tasks', { body: { title: 'a new trace' } }));
    const mutation = named(created, 'mutation createTask_mutation');
    expect(mutation.parentSpanContext?.spanId).toBe(named(created, 'POST /api/tasks').spanContext().spanId);
  });

  test('probes and scrapes make no spans, not even for their database reads', async () => {
    const spans = await spansOf(async () => {
      expect((await api.request('GET', '/healthz')).status).toBe(200);
      expect((await api.request('GET', '/readyz')).status).toBe(200);
      await api.request('GET', '/metrics');
    });
    expect(spans).toEqual([]);
  });

  test("the JWKS fetch a request needs carries that request's trace on to the issuer", async () => {
    const pair = await generateKeyPair('EdDSA', { extractable: true });
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'EdDSA' };
    let received: string | undefined;
    // No key at first, so that the one the token needs is fetched for the request, not in advance.
    let keys: unknown[] = [];
    const issuer = await startKeyServer((request, response) => {
      received = request.headers.traceparent as string | undefined;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    });
    const withJwks = await createTestApp({
      database,
      tracing,
      auth: {
        jwks: {
          url: new URL(`${issuer.origin}/jwks`),
          algorithms: ['EdDSA'],
          issuer: 'issuer',
          audience: 'api',
          timeoutMs: 2_000,
          cooldownMs: 500,
          maxAgeMs: 60_000,
        },
      },
    });
    try {
      keys = [jwk];
      const token = await new SignJWT({ sub: 'erin', iss: 'issuer', aud: 'api' })
        .setProtectedHeader({ alg: 'EdDSA', kid: 'k1' })
        .setExpirationTime('5m')
        .sign(pair.privateKey);
      const spans = await spansOf(async () => {
        expect((await withJwks.request('GET', '/api/tasks', { headers: { authorization: `Bearer ${token}`, traceparent } })).status).toBe(
          200,
        );
      });
      const request = named(spans, 'GET /api/tasks');
      expect(received).toBe(`00-${CALLER_TRACE_ID}-${request.spanContext().spanId}-01`);
    } finally {
      await withJwks.close();
      await issuer.close();
    }
  });

  // Last: shutting down is for good.
  test('shutting down turns it all off again', async () => {
    await tracing.shutdown();

    expect(apiRecords()).toBe(false);
    expect((globalThis as Record<string, unknown>).PRISMA_INSTRUMENTATION).toBeUndefined();
    const spans = await spansOf(() => alice.request('GET', '/api/tasks'));
    expect(spans).toEqual([]);
  });
});

describe('with OTEL_TRACES_SAMPLER_ARG=0', () => {
  test("no new trace is kept, but a caller's sampled trace still is", async () => {
    const exporter = new InMemorySpanExporter();
    const processor = new SimpleSpanProcessor({ exporter });
    const tracing = (await startTracing(
      tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_SAMPLER_ARG: '0' }),
      processor,
    )) as Tracing;
    const api = await createTestApp({ database, tracing });
    try {
      const alice = await api.user('alice');
      expect((await alice.request('GET', '/api/tasks')).status).toBe(200);
      await processor.forceFlush();
      expect(exporter.getFinishedSpans()).toEqual([]);

      expect((await alice.request('GET', '/api/tasks', { headers: { traceparent } })).status).toBe(200);
      await processor.forceFlush();
      const names = exporter.getFinishedSpans().map((span) => span.name);
      expect(names).toContain('GET /api/tasks');
      expect(names).toContain('query tasks_query');
    } finally {
      await api.close();
      await tracing.shutdown();
    }
  });
});
