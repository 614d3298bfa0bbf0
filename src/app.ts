/**
 * The application: one GraphQL schema served as GraphQL at /graphql (Yoga) and as the REST contract at
 * /api (operations SOFA derives, one Fastify route each), with docs, the web page, probes and metrics.
 * Built from its dependencies and returned unstarted, so tests call `app.inject()`; ./server.ts listens.
 *
 * socket → Fastify (limits, request id, CORS, security headers) → route → derived operation or Yoga →
 * resolver (./resolvers) → Prisma → shaped JSON; every error leaves through ./errors.ts.
 *
 * Only composition lives here; what each step does is in its own file. The order a request meets them is
 * the order they are registered in `createApp`:
 *  1. tracing: the request's span opens first (./tracing.ts);
 *  2. compression: each route gets its compressing hook as it is added (./http/compression.ts);
 *  3. observability: request id, the one log line and the metrics (./http/observability.ts);
 *  4. drain: `Connection: close` once shutting down (./http/drain.ts);
 *  5. pipelined requests wait for their turn; security headers; CORS; a bad Host is a 400 (./http/);
 *  6. a compressed body is a 415 (preParsing, after the route scope's authentication at onRequest);
 *  7. the routes: probes, REST (token, rate limit, body, operation), GraphQL, docs, the web page; then
 *     405 for a known path with another method.
 */
import { fileURLToPath } from 'node:url';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { createBearerVerifier } from './auth/bearer.js';
import { createAuthenticate } from './http/request-gate.js';
import type { ContextDependencies } from './resolvers/context.js';
import type { ListenSource, PrismaClient } from './db/client.js';
import type { ReadRouter } from './db/replicas.js';
import type { AuthConfig } from './auth/bearer.js';
import { NotFoundError, classifyError, sendDetail } from './errors.js';
import { useGraphQL } from './graphql/route.js';
import type { GraphQLConfig } from './graphql/yoga.js';
import { useCompression } from './http/compression.js';
import { useCors } from './http/cors.js';
import { useDrain } from './http/drain.js';
import { answerClientError, createHttpServer, trustProxyOption, type HttpLimits } from './http/node-server.js';
import { refuseBadHost, refuseEncodedBodies, servePipelinedInTurn } from './http/request-policies.js';
import { useHealthRoutes } from './http/health.js';
import { QUIET_PATHS } from './paths.js';
import { answerWrongMethods, collectRoutes } from './http/method-not-allowed.js';
import { createRateLimits, type RateLimitConfig } from './http/rate-limit.js';
import { requestIdOf, useObservability } from './http/observability.js';
import { pageCsp, securityHeaders, useSecurityHeaders } from './http/security-headers.js';
import { createOpenApiDocument } from './rest/openapi.js';
import { serveDirectory } from './http/static-files.js';
import type { Logger } from './logger.js';
import { schedulePruning } from './db/pruning.js';
import { createChangeFeed } from './events/feed.js';
import { pruneTaskEvents } from './events/log.js';
import { createStreamRegistry } from './events/registry.js';
import { pruneIdempotencyKeys } from './idempotency.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createPerUserLimit } from './per-user-limit.js';
import { Readiness } from './readiness.js';
import { useRestApi } from './rest/api.js';
import { useApiDocs } from './http/docs.js';
import { schema } from './schema/index.js';
import type { Tracing, TracingConfig } from './tracing.js';
import { version } from './version.js';

export interface HttpConfig {
  host: string;
  port: number;
  /** Browser origins allowed to call the API cross-origin. */
  corsOrigins: readonly string[];
  /** Proxies whose X-Forwarded-For is believed: a number of hops, or their addresses/CIDRs; false: none. */
  trustProxy: number | string[] | false;
  limits: HttpLimits;
  /** Milliseconds requests in flight get to finish once the server stops accepting. */
  shutdownGraceMs: number;
  /** Milliseconds the server keeps accepting after SIGTERM/SIGINT, while load balancers notice /readyz failing. */
  shutdownDelayMs: number;
  /** Compress answers over 1 KB (false: a proxy in front does it). */
  compression: boolean;
}

export interface TasksConfig {
  /** Whole task lists longer than one chunk (250 tasks) one user may have in progress at once per process; the rest wait their turn. */
  unpagedListConcurrency: number;
  /** Most tasks one user may have; a create beyond it is refused (409). */
  maxTasksPerUser: number;
  /** Changes without If-Match (REST) or expectedVersion (GraphQL) are refused (428). */
  requireIfMatch: boolean;
  /** How long a response stored for an Idempotency-Key is replayed to retries. */
  idempotencyKeyTtlMs: number;
}

export interface EventsConfig {
  /** How long the change log keeps events: a stream can resume from a cursor this old. */
  retentionMs: number;
  /** Read the watched users' change counters this often (0: LISTEN/NOTIFY; unset: ../events/feed.ts's default). */
  pollMs: number | undefined;
  /** Streams one user may hold open, across all instances. */
  maxStreamsPerUser: number;
  /** Streams one instance holds open in all. */
  maxStreams: number;
}

export interface ObservabilityConfig {
  logLevel: string;
  /** When set, /metrics needs `Authorization: Bearer <token>`. */
  metricsToken: string | undefined;
  tracing: TracingConfig;
}

/** The sections of the environment (./env.ts parses them) the application needs, each typed by the part that uses it. */
export interface AppConfig {
  http: HttpConfig;
  /** How bearer tokens are verified. */
  auth: AuthConfig;
  graphql: GraphQLConfig;
  tasks: TasksConfig;
  rateLimit: RateLimitConfig;
  events: EventsConfig;
  observability: ObservabilityConfig;
}

export interface AppDependencies {
  config: AppConfig;
  prisma: PrismaClient;
  logger: Logger;
  /** What /readyz reports; by default one that checks the database and migrations. */
  readiness?: Readiness;
  metrics?: Metrics;
  /** Where the change streams LISTEN (the database's own, from ./db/client.ts). */
  listen?: ListenSource;
  /** Read replicas (./db/replicas.ts), when the database has some. */
  reads?: ReadRouter | undefined;
  /** The built web page, served at / when present. */
  webDir?: string;
  /** OpenTelemetry, when on (./tracing.ts). */
  tracing?: Tracing;
}

export type App = FastifyInstance;

const WEB_DIR = fileURLToPath(new URL('../web/dist', import.meta.url));

export async function createApp(dependencies: AppDependencies): Promise<App> {
  const { config, prisma, logger, reads, webDir = WEB_DIR } = dependencies;
  const { limits } = config.http;
  const readiness = dependencies.readiness ?? new Readiness(prisma);
  const metrics = dependencies.metrics ?? createMetrics();
  const rateLimits = createRateLimits(config.rateLimit, logger);
  await Promise.all([rateLimits.ready(), reads?.ready()]);
  const authenticate = createAuthenticate(createBearerVerifier(config.auth), rateLimits);
  const loggerInstance: FastifyBaseLogger = logger;
  const errorContext = { logger, maxBodyBytes: limits.maxBodyBytes };
  // Without a way to LISTEN (a test's own client), the feed polls the change counters every second.
  const feed = createChangeFeed(dependencies.listen ?? { kind: 'poll' }, {
    pollMs: config.events.pollMs,
    prisma,
    logger,
    positions: reads !== undefined,
  });
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
    events: { prisma, feed, streams, metrics, reads },
    prisma,
    reads,
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
  app.decorateRequest('wrote', false);
  // With read replicas, a write is made known to every instance's reads once committed, before it is answered.
  if (reads)
    app.addHook('onSend', async (request, _reply, payload) => {
      if (request.wrote && request.userId !== null) await reads.noteWrite(request.userId);
      return payload;
    });
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

  useObservability(app, { logger, metrics, quietPaths: QUIET_PATHS });
  useDrain(app);
  // Event streams never end by themselves: a drain (or a close) ends them first, each with its retry hint.
  app.beforeDrain(() => streams.stopAll());
  app.addHook('preClose', (done) => {
    streams.stopAll();
    done();
  });
  servePipelinedInTurn(app);
  useSecurityHeaders(app);
  await useCors(app, config.http.corsOrigins);
  refuseBadHost(app);
  refuseEncodedBodies(app);

  useHealthRoutes(app, { readiness, metrics, metricsToken: config.observability.metricsToken });
  await useRestApi(app, { schema, authenticate, contextDependencies, metrics, events: { prisma, feed, streams, reads } });
  await useGraphQL(app, {
    schema,
    config: config.graphql,
    authenticate,
    contextDependencies,
    logger,
    metrics,
    maxBodyBytes: limits.maxBodyBytes,
  });
  await useApiDocs(app, createOpenApiDocument(schema, version));
  await serveDirectory(app, { dir: webDir, prefix: '/', contentSecurityPolicy: pageCsp.web });
  answerWrongMethods(app, methodsByUrl);
  return app;
}
