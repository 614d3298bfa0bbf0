/**
 * The application: one GraphQL schema served as GraphQL at /graphql and as the REST contract at /api.
 * Built from its dependencies so tests can call `app.fetch()` in-process; ./server.ts only listens.
 */
import { createYoga } from 'graphql-yoga';
import { createBearerVerifier, type AuthConfig } from './auth/bearer.js';
import { useGraphQLAuthentication } from './auth/plugin.js';
import type { PrismaClient } from './db/client.js';
import { INTERNAL_ERROR_MESSAGE } from './errors.js';
import { corsPolicy } from './http/cors.js';
import { limits } from './http/limits.js';
import { useSecurityHeaders } from './http/security-headers.js';
import type { Logger } from './logger.js';
import { useOperationLimits } from './operation-limits.js';
import { useRestApi } from './rest/plugin.js';
import { detailResponse } from './rest/responses.js';
import type { Context } from './schema/builder.js';
import { schema } from './schema/index.js';
import type { ServerContext } from './server-context.js';

export interface AppOptions {
  prisma: PrismaClient;
  auth: AuthConfig;
  logger: Logger;
  /** Browser origins allowed to call the API cross-origin. */
  corsOrigins?: readonly string[];
  /** Production hides GraphQL field suggestions. */
  production?: boolean;
}

export const GRAPHQL_ENDPOINT = '/graphql';
export const HEALTH_ENDPOINT = '/healthz';

export function createApp({ prisma, auth, logger, corsOrigins = [], production = false }: AppOptions) {
  const verify = createBearerVerifier(auth);
  return createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: GRAPHQL_ENDPOINT,
    healthCheckEndpoint: HEALTH_ENDPOINT,
    landingPage: false,
    graphiql: false,
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
    context: ({ userId }) => ({ prisma, userId: userId ?? null }),
    plugins: [
      useSecurityHeaders(),
      ...useOperationLimits({ production }),
      ...useRestApi({ verify, logger }),
      useGraphQLAuthentication({ verify, graphqlEndpoint: GRAPHQL_ENDPOINT, logger }),
      {
        // Whatever no route above claimed.
        onRequest({ url, endResponse }) {
          if (url.pathname !== GRAPHQL_ENDPOINT && url.pathname !== HEALTH_ENDPOINT) {
            endResponse(detailResponse(404, 'Not Found'));
          }
        },
      },
    ],
  });
}

export type App = ReturnType<typeof createApp>;
