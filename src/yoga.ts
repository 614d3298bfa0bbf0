/**
 * The application: one GraphQL schema served as GraphQL at /graphql and as the REST contract at /api.
 * Built from its dependencies so tests can call `app.fetch()` in-process; ./server.ts only listens.
 */
import { fileURLToPath } from 'node:url';
import { GraphQLError, NoSchemaIntrospectionCustomRule } from 'graphql';
import { useGraphQlJit } from '@envelop/graphql-jit';
import { createYoga, type Plugin } from 'graphql-yoga';
import pLimit from 'p-limit';
import { createBearerVerifier, type AuthConfig } from './auth/bearer.js';
import { useGraphQLAuthentication } from './auth/plugin.js';
import type { PrismaClient } from './db/client.js';
import { useDatabaseUnavailable } from './db/unavailable.js';
import { INTERNAL_ERROR_MESSAGE } from './errors.js';
import { READY_PATH, useReadiness } from './http/health.js';
import { corsPolicy } from './http/cors.js';
import { limits } from './http/limits.js';
import { useObservability } from './http/observability.js';
import { filesIn, useStaticFiles } from './http/static-files.js';
import { useSecurityHeaders } from './http/security-headers.js';
import type { Logger } from './logger.js';
import { METRICS_PATH, createMetrics, useMetricsEndpoint, type Metrics } from './metrics.js';
import { useOperationLimits } from './operation-limits.js';
import { DOCS_PATH, DOCS_PATHS, OPENAPI_PATH, useApiDocs } from './rest/docs.js';
import { useRestApi } from './rest/plugin.js';
import { detailResponse } from './rest/responses.js';
import type { Context } from './schema/builder.js';
import { schema } from './schema/index.js';
import { Readiness } from './readiness.js';
import type { ServerContext } from './server-context.js';
import { version } from './version.js';

export interface AppOptions {
  prisma: PrismaClient;
  auth: AuthConfig;
  logger: Logger;
  /** Browser origins allowed to call the API cross-origin. */
  corsOrigins?: readonly string[];
  /** Production hides GraphQL field suggestions. */
  production?: boolean;
  /** Schema introspection, and GraphiQL at /graphql in a browser (default on). */
  introspection?: boolean;
  /** The built web page, served at / when present. */
  webDir?: string;
  /** What /readyz reports; by default one that checks the database and migrations. */
  readiness?: Readiness;
  metrics?: Metrics;
  /** When set, /metrics needs `Authorization: Bearer <token>`. */
  metricsToken?: string | undefined;
  /** Unpaged task lists (REST without `limit`, GraphQL `tasks` without `limit`) run at most this many at once. */
  unpagedListConcurrency?: number;
}

export const GRAPHQL_ENDPOINT = '/graphql';
export const HEALTH_ENDPOINT = '/healthz';
export const WEB_DIR = fileURLToPath(new URL('../web/dist', import.meta.url));

const webPageCsp =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export function createApp(options: AppOptions) {
  const { prisma, auth, logger, corsOrigins = [], production = false, introspection = true, webDir = WEB_DIR } = options;
  const readiness = options.readiness ?? new Readiness(prisma);
  const metrics = options.metrics ?? createMetrics();
  const verify = createBearerVerifier(auth);
  const unpagedLists = pLimit(options.unpagedListConcurrency ?? 2);
  const webFiles = filesIn(webDir, '/');
  const served = new Set([GRAPHQL_ENDPOINT, HEALTH_ENDPOINT, READY_PATH, METRICS_PATH, OPENAPI_PATH, DOCS_PATH]);
  return createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: GRAPHQL_ENDPOINT,
    healthCheckEndpoint: HEALTH_ENDPOINT,
    landingPage: false,
    graphiql: introspection && {
      title: 'Task API · GraphiQL',
      // The Headers tab starts with this; paste a token after "Bearer ".
      headers: JSON.stringify({ Authorization: 'Bearer ' }, null, 2),
      defaultQuery: '{\n  tasks {\n    id\n    title\n    completed\n    createdAt\n  }\n}\n',
    },
    // GraphiQL from an npm package (no CDN), loaded only when a browser first asks for it.
    renderGraphiQL: async (graphiqlOptions) => (await import('@graphql-yoga/render-graphiql')).renderGraphiQL(graphiqlOptions),
    batching: false,
    cors: corsPolicy(corsOrigins),
    maxRequestBodySize: limits.maxBodyBytes,
    logging: {
      debug: (...args: unknown[]) => logger.debug(args),
      info: (...args: unknown[]) => logger.info(args),
      warn: (...args: unknown[]) => logger.warn(args),
      error: (error: unknown) => logger.error({ err: error }, 'request failed'),
    },
    maskedErrors: { errorMessage: INTERNAL_ERROR_MESSAGE, isDev: false },
    context: ({ userId }) => ({ prisma, userId: userId ?? null, unpagedLists }),
    plugins: [
      useObservability({
        logger,
        metrics,
        quietPaths: [HEALTH_ENDPOINT, READY_PATH, METRICS_PATH],
        // Route labels: these paths as they are (the build's files are few); anything else is "unmatched".
        knownPaths: new Set([...served, ...DOCS_PATHS, ...webFiles.map((f) => f.urlPath)]),
      }),
      useReadiness(readiness),
      useMetricsEndpoint(metrics, options.metricsToken),
      // A database that is down, unreachable or overloaded is a 503 the client can retry, not a 500.
      useDatabaseUnavailable(logger),
      // Compiled execution (graphql-jit): measured in bench/RESULTS.md.
      useGraphQlJit(),
      useRequestErrorStatus(),
      useSecurityHeaders(),
      !introspection && disableIntrospection(),
      useApiDocs(schema, version),
      useStaticFiles(webFiles, webPageCsp),
      ...useOperationLimits({ production }),
      ...useRestApi({ verify, logger }),
      useGraphQLAuthentication({ verify, graphqlEndpoint: GRAPHQL_ENDPOINT, logger }),
      {
        // Whatever no route above claimed.
        onRequest({ url, endResponse }) {
          if (!served.has(url.pathname)) endResponse(detailResponse(404, 'Not Found'));
        },
      },
    ],
  });
}

export type App = ReturnType<typeof createApp>;

/**
 * graphql-jit reports a request it cannot execute at all (variables of the wrong type) with its own error
 * class, which Yoga would mask as an internal error, and without the HTTP 400 Yoga's default executor
 * attaches. This makes them the request errors they are.
 */
function useRequestErrorStatus(): Plugin {
  return {
    onExecute() {
      return {
        onExecuteDone({ result, setResult }) {
          if (!('errors' in result) || !result.errors || 'data' in result) return;
          setResult({
            errors: (result.errors as readonly GraphQLError[]).map(
              (error) => new GraphQLError(error.message, { extensions: { ...error.extensions, http: { status: 400 } } }),
            ),
          });
        },
      };
    },
  };
}

function disableIntrospection(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}
