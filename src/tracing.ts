/**
 * OpenTelemetry traces, on when an OTLP endpoint is configured (./env.ts; the type is TracingConfig below): one span per
 * HTTP request (@fastify/otel, named for its route template), one per GraphQL operation, REST's derived
 * ones included (`inOperationSpan`, `useOperationSpans`), and Prisma's spans for each query
 * (@prisma/instrumentation) beneath it. An incoming W3C `traceparent` is continued. Nothing patches a
 * module: Fastify's spans come from a plugin, Prisma reads a global helper at each query. Off, none of the
 * SDK is even loaded, no plugin is registered and the functions below call straight through.
 */
import { SpanKind, SpanStatusCode, context, propagation, trace, type Tracer } from '@opentelemetry/api';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { getOperationAST, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { QUIET_PATHS as QUIET } from './paths.js';
import { version } from './version.js';

export interface TracingConfig {
  /** The OTLP/HTTP endpoint set (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT`, which the exporter reads itself); unset: no tracing at all. */
  endpoint: string | undefined;
  serviceName: string;
  /** The share of new traces kept, 0–1 (`OTEL_TRACES_SAMPLER_ARG`); a caller's sampling decision is followed. */
  sampleRatio: number;
}

export interface Tracing {
  /** Opens each request's span: called before any other hook or route is added, so that span starts first. */
  use(app: FastifyInstance): Promise<void>;
  /** Exports the spans still buffered and turns tracing off. */
  shutdown(): Promise<void>;
}

/** Probes and scrapes make no spans, as they make no log lines. */
const QUIET_PATHS = new Set(QUIET);

/** Set while tracing is on. */
let tracer: Tracer | undefined;

/**
 * Starts tracing when `config.endpoint` is set (else returns undefined, having loaded nothing): spans go
 * to the OTLP/HTTP exporter in batches, or to `spanProcessor` when one is given (tests).
 */
export async function startTracing(config: TracingConfig, spanProcessor?: SpanProcessor): Promise<Tracing | undefined> {
  if (config.endpoint === undefined) return undefined;
  const [sdk, { AsyncLocalStorageContextManager }, core, resources, { FastifyOtelInstrumentation }, { PrismaInstrumentation }] =
    await Promise.all([
      import('@opentelemetry/sdk-trace'),
      import('@opentelemetry/context-async-hooks'),
      import('@opentelemetry/core'),
      import('@opentelemetry/resources'),
      import('@fastify/otel'),
      import('@prisma/instrumentation'),
    ]);
  let processor = spanProcessor;
  if (!processor) {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
    // The exporter reads OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout, compression) from the environment.
    processor = new sdk.BatchSpanProcessor({ exporter: new OTLPTraceExporter() });
  }
  const provider = new sdk.TracerProvider({
    resource: resources
      .defaultResource()
      .merge(resources.resourceFromAttributes({ 'service.name': config.serviceName, 'service.version': version })),
    spanProcessors: [processor],
    // A caller's decision (traceparent's sampled flag) is followed; new traces are kept at the configured ratio.
    sampler: new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(config.sampleRatio) }),
  });
  // Without an async context manager a span would not be the parent of what runs after an await.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new core.CompositePropagator({ propagators: [new core.W3CTraceContextPropagator(), new core.W3CBaggagePropagator()] }),
  );
  trace.setGlobalTracerProvider(provider);
  tracer = provider.getTracer('task-gateway', version);
  // Both take the global provider; Prisma's sets the helper its client asks for at every query.
  const prisma = new PrismaInstrumentation();
  const fastify = new FastifyOtelInstrumentation({
    // One span per request: none per hook or handler.
    instrumentHooks: false,
    instrumentHandler: false,
    ignorePaths: ({ url }) => QUIET_PATHS.has(url.split('?', 1)[0] ?? url),
    requestHook: (span, request) => {
      const route = routeTemplateOf(request);
      span.updateName(route === undefined ? request.method : `${request.method} ${route}`);
      span.setAttribute('http.request.id', request.id);
    },
  });
  return {
    async use(app) {
      await app.register(fastify.plugin());
      // A probe's own database read makes no trace either.
      app.addHook('onRequest', (request, _reply, done) => {
        if (!QUIET_PATHS.has(routeTemplateOf(request) ?? '')) return done();
        context.with(core.suppressTracing(context.active()), done);
      });
    },
    async shutdown() {
      tracer = undefined;
      fastify.disable();
      prisma.disable();
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

/**
 * Runs one GraphQL operation (`kind` query, mutation or subscription) in a span of its own, a child of its
 * request's span; the database spans of its resolvers become its children.
 */
export function inOperationSpan<T>(request: FastifyRequest, kind: string, name: string | undefined, run: () => T): T {
  if (!tracer) return run();
  const parent = request.opentelemetry().context ?? context.active();
  const attributes = { 'graphql.operation.type': kind, ...(name !== undefined && { 'graphql.operation.name': name }) };
  const span = tracer.startSpan(name === undefined ? kind : `${kind} ${name}`, { kind: SpanKind.INTERNAL, attributes }, parent);
  const fail = (error: unknown) => {
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    span.end();
    throw error;
  };
  try {
    const result = context.with(trace.setSpan(parent, span), run);
    if (!isPromise(result)) {
      span.end();
      return result;
    }
    return result.then((value) => {
      span.end();
      return value;
    }, fail) as T;
  } catch (error) {
    return fail(error);
  }
}

/** Yoga's half of `inOperationSpan` (its execution, after graphql-jit has taken it over); nothing when tracing is off. */
export function useOperationSpans(): Plugin<{ req: FastifyRequest }> | false {
  if (!tracer) return false;
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const request = args.contextValue.req;
      const operation = getOperationAST(args.document as DocumentNode, args.operationName as string | null | undefined);
      setExecuteFn((executionArgs) =>
        inOperationSpan(request, operation?.operation ?? 'query', operation?.name?.value, (): unknown => executeFn(executionArgs)),
      );
    },
  };
}

function routeTemplateOf(request: FastifyRequest): string | undefined {
  const template = request.routeOptions.url;
  return template === undefined || template === '*' ? undefined : template;
}

function isPromise<T>(value: T): value is T & Promise<Awaited<T>> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
