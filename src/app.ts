/**
 * The application: one GraphQL schema served as GraphQL at /graphql (Yoga) and as the REST contract at
 * /api (operations SOFA derives, one Fastify route each), with docs, the web page, probes and metrics.
 * Built from its dependencies and returned unstarted, so tests call `app.inject()`; ./server.ts listens.
 *
 * socket → Fastify (limits, request id, CORS, security headers) → route → derived operation or Yoga →
 * resolver (../resolvers) → Prisma → shaped JSON; every error leaves through ./errors.ts.
 */
import { AsyncResource } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { createServer, type RequestListener } from 'node:http';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { createBearerVerifier } from './auth/bearer.js';
import { createAuthenticate } from './auth/request-gate.js';
import type { ContextDependencies } from './context.js';
import type { PrismaClient } from './db/client.js';
import type { AppConfig, HttpLimits } from './env.js';
import { AppError, BadUserInputError, JSON_TYPE, NotFoundError, UnsupportedMediaTypeError, classifyError, detailBody, sendDetail } from './errors.js';
import { useGraphQL } from './graphql/route.js';
import { useCompression } from './http/compression.js';
import { useCors } from './http/cors.js';
import { useDrain } from './http/drain.js';
import { HEALTH_PATH, METRICS_PATH, READY_PATH, useHealthRoutes } from './http/health.js';
import { answerWrongMethods, collectRoutes } from './http/method-not-allowed.js';
import { createRateLimits } from './http/rate-limit.js';
import { requestIdOf, useObservability } from './http/observability.js';
import { securityHeaders, useSecurityHeaders } from './http/security-headers.js';
import { serveDirectory } from './http/static-files.js';
import type { Logger } from './logger.js';
import { schedulePruning } from './db/pruning.js';
import { createChangeFeed, type ListenSource } from './events/feed.js';
import { pruneTaskEvents } from './events/log.js';
import { createStreamRegistry } from './events/registry.js';
import { useEventStreams } from './events/sse.js';
import { pruneIdempotencyKeys } from './idempotency.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createPerUserLimit } from './per-user-limit.js';
import { Readiness } from './readiness.js';
import { useRestApi } from './rest/api.js';
import { useApiDocs } from './http/docs.js';
import { schema } from './schema/index.js';
import type { Tracing } from './tracing.js';
import { version } from './version.js';

export interface AppDependencies {
  config: AppConfig;
  prisma: PrismaClient;
  logger: Logger;
  /** What /readyz reports; by default one that checks the database and migrations. */
  readiness?: Readiness;
  metrics?: Metrics;
  /** Where the change streams LISTEN (the database's own, from ./db/client.ts). */
  listen?: ListenSource;
  /** The built web page, served at / when present. */
  webDir?: string;
  /** OpenTelemetry, when on (./tracing.ts). */
  tracing?: Tracing;
}

export type App = FastifyInstance;

export const WEB_DIR = fileURLToPath(new URL('../web/dist', import.meta.url));


const webPageCsp =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** RFC 9112 §3.2: a Host that is not `host[:port]` is a 400 (it would otherwise end up in URLs built from it). */
const HOST = /^(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

export async function createApp(dependencies: AppDependencies): Promise<App> {
  const { config, prisma, logger, webDir = WEB_DIR } = dependencies;
  const { limits } = config.http;
  const readiness = dependencies.readiness ?? new Readiness(prisma);
  const metrics = dependencies.metrics ?? createMetrics();
  const rateLimits = createRateLimits(config.rateLimit, logger);
  await rateLimits.ready();
  const authenticate = createAuthenticate(createBearerVerifier(config.auth), rateLimits);
  const loggerInstance: FastifyBaseLogger = logger;
  const errorContext = { logger, maxBodyBytes: limits.maxBodyBytes };
  // Without a way to LISTEN (a test's own client), the feed polls the change counters every second.
  const feed = createChangeFeed(dependencies.listen ?? { kind: 'poll' }, { pollMs: config.events.pollMs, prisma, logger });
  const streams = createStreamRegistry({
    prisma,
    logger,
    maxPerUser: config.events.maxStreamsPerUser,
    maxStreams: config.events.maxStreams,
    watch: feed.listens,
    onLapse: () => feed.wakeAll(),
  });
  metrics.countStreamsWith(() => streams.size);
  const contextDependencies: ContextDependencies = {
    events: { prisma, feed, streams, metrics },
    prisma,
    unpagedLists: createPerUserLimit(config.tasks.unpagedListConcurrency),
    maxTasksPerUser: config.tasks.maxTasksPerUser,
    requireIfMatch: config.tasks.requireIfMatch,
    idempotencyKeyTtlMs: config.tasks.idempotencyKeyTtlMs,
  };

  const app = Fastify({
    loggerInstance,
    // One line per request, written by ./http/observability.ts, instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestIdOf,
    requestIdHeader: false,
    // Behind a load balancer, the client's address (for the limit on unauthenticated requests) is in X-Forwarded-For.
    trustProxy: trustProxyOption(config.http.trustProxy),
    bodyLimit: limits.maxBodyBytes,
    // A path parameter may be as long as the request head allows: a 10 KB id is a 400 "not a UUID", not a 404.
    routerOptions: { maxParamLength: limits.maxHeaderBytes },
    serverFactory: (handler) => createHttpServer(handler, limits),
    // Requests arriving while the server closes are served (with Connection: close), not refused with a 503.
    return503OnClosing: false,
    frameworkErrors: (error, request, reply) => {
      reply.headers(securityHeaders).header('x-request-id', request.id);
      sendDetail(reply, classifyError(error, errorContext));
    },
    clientErrorHandler: answerClientError,
  });
  // First of all: the request's span opens before any other hook runs, and sees every route added.
  if (dependencies.tracing) await dependencies.tracing.use(app);
  app.decorateRequest('userId', null);
  app.decorateRequest('rawBody', null);
  // Before any route: the plugin gives each route its compressing hook as the route is added.
  if (config.http.compression) await useCompression(app);
  app.addHook('onClose', () => rateLimits.close());
  const { idempotencyKeyTtlMs } = config.tasks;
  const { retentionMs } = config.events;
  const stopPruning = [
    schedulePruning('expired idempotency keys', () => pruneIdempotencyKeys(prisma, idempotencyKeyTtlMs), idempotencyKeyTtlMs, logger),
    schedulePruning('old task events', () => pruneTaskEvents(prisma, retentionMs), retentionMs, logger),
  ];
  app.addHook('onClose', async () => {
    for (const stop of stopPruning) stop();
    await Promise.all([streams.close(), feed.close()]);
  });
  app.setErrorHandler((error, _request, reply) => sendDetail(reply, classifyError(error, errorContext)));
  app.setNotFoundHandler(() => {
    throw new NotFoundError('Not Found');
  });
  const methodsByUrl = collectRoutes(app);

  useObservability(app, { logger, metrics, quietPaths: [HEALTH_PATH, READY_PATH, METRICS_PATH] });
  useDrain(app);
  // Event streams never end by themselves: a drain (or a close) ends them first, each with its retry hint.
  app.beforeDrain(() => streams.stopAll());
  app.addHook('preClose', (done) => {
    streams.stopAll();
    done();
  });
  // Pipelined requests are served one at a time: Node hands each to us at once, and would otherwise run
  // them all and hold their answers until the client reads the first (which it may never do). Its turn
  // comes when Node gives its answer the socket; if the client leaves first, it never starts.
  app.addHook('onRequest', (_request, reply, done) => {
    if (reply.raw.socket !== null) return done();
    // Bound, so the request's async context (its trace) goes on with it rather than the socket's event's.
    reply.raw.once('socket', AsyncResource.bind(() => done()));
  });
  useSecurityHeaders(app);
  await useCors(app, config.http.corsOrigins);
  app.addHook('onRequest', (request, _reply, done) => {
    done(HOST.test(request.headers.host ?? '') ? undefined : new BadUserInputError('Bad Request'));
  });
  // After authentication (onRequest), before the body is read; a request without a body has nothing to decode.
  app.addHook('preParsing', (request, _reply, payload, done) => {
    const encoding = request.headers['content-encoding'];
    const hasBody = request.headers['transfer-encoding'] !== undefined || (request.headers['content-length'] ?? '0') !== '0';
    if (!hasBody || encoding === undefined || encoding.toLowerCase() === 'identity') return done(null, payload);
    done(new UnsupportedMediaTypeError(`Content-Encoding ${encoding} is not supported: send the body uncompressed`), payload);
  });

  useHealthRoutes(app, { readiness, metrics, metricsToken: config.observability.metricsToken });
  useEventStreams(app, { prisma, feed, streams, authenticate, metrics });
  await useRestApi(app, { schema, authenticate, contextDependencies, metrics });
  await useGraphQL(app, { schema, config: config.graphql, authenticate, contextDependencies, logger, metrics, maxBodyBytes: limits.maxBodyBytes });
  await useApiDocs(app, schema, version);
  await serveDirectory(app, { dir: webDir, prefix: '/', contentSecurityPolicy: webPageCsp });
  answerWrongMethods(app, methodsByUrl);
  return app;
}

/** A number of hops as the function Fastify takes (its types accept only addresses or a boolean). */
function trustProxyOption(trust: number | string[] | false) {
  return typeof trust === 'number' ? (_address: string, hop: number) => hop < trust : trust;
}

/**
 * The Node HTTP server, with the request-head size and the header, request and keep-alive timeouts of
 * the limits, so a slow or oversized client cannot hold a connection. An absolute-form request target
 * (`GET http://host/api/tasks`, RFC 9112 §3.2.2) is routed by its path and query, as any other.
 */
function createHttpServer(handler: RequestListener, limits: HttpLimits) {
  const server = createServer(
    {
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // How often Node checks the two timeouts above (default 30 s, which would let them overrun).
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
    },
    (request, response) => {
      const url = request.url ?? '/';
      if (!url.startsWith('/')) request.url = url.replace(/^https?:\/\/[^/?#]*/i, '') || '/';
      handler(request, response);
    },
  );
  // An answer the client stops reading: once nothing has moved on the socket this long, it is cut (and a
  // streamed list stops being read).
  server.timeout = limits.sendTimeoutMs;
  return server;
}

/** What Node reports about a request it could not even read (timeouts, an oversized head, bad syntax). */
function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const appError =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new AppError('Request Timeout', 'REQUEST_TIMEOUT')
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? new AppError('Request header fields too large', 'HEADERS_TOO_LARGE')
        : new BadUserInputError('Bad Request');
  const body = detailBody(appError);
  const headers = {
    ...securityHeaders,
    'content-type': JSON_TYPE,
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
    'x-request-id': randomUUID(),
  };
  if (socket.writable) {
    const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
    socket.write(`HTTP/1.1 ${appError.status} ${appError.message}\r\n${head}\r\n${body}`);
  }
  socket.destroy(error);
}
