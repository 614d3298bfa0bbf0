/**
 * The application: one GraphQL schema served as GraphQL at /graphql and as the REST contract at /api.
 * Built from its dependencies so tests can call `app.fetch()` in-process; ./server.ts only listens.
 */
import { createYoga } from 'graphql-yoga';
import { createBearerVerifier } from './auth/bearer.js';
import { useGraphQLAuthentication } from './auth/plugin.js';
import type { PrismaClient } from './db/client.js';
import { INTERNAL_ERROR_MESSAGE } from './errors.js';
import type { Logger } from './logger.js';
import { useRestApi } from './rest/plugin.js';
import { detailResponse } from './rest/responses.js';
import type { Context } from './schema/builder.js';
import { schema } from './schema/index.js';
import type { ServerContext } from './server-context.js';

export interface AppOptions {
  prisma: PrismaClient;
  /** HS256 shared secret for bearer tokens. */
  authSecret: string;
  logger: Logger;
}

export const GRAPHQL_ENDPOINT = '/graphql';

export function createApp({ prisma, authSecret, logger }: AppOptions) {
  const verify = createBearerVerifier({ secret: authSecret });
  return createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: GRAPHQL_ENDPOINT,
    healthCheckEndpoint: '/healthz',
    landingPage: false,
    graphiql: false,
    cors: false,
    logging: {
      debug: (...args: unknown[]) => logger.debug(args),
      info: (...args: unknown[]) => logger.info(args),
      warn: (...args: unknown[]) => logger.warn(args),
      error: (error: unknown) => logger.error({ err: error }, 'request failed'),
    },
    maskedErrors: { errorMessage: INTERNAL_ERROR_MESSAGE, isDev: false },
    context: ({ userId }) => ({ prisma, userId: userId ?? null }),
    plugins: [
      ...useRestApi({ verify, logger }),
      useGraphQLAuthentication({ verify, graphqlEndpoint: GRAPHQL_ENDPOINT, logger }),
      {
        // Whatever no route above claimed.
        onRequest({ url, endResponse }) {
          if (url.pathname !== GRAPHQL_ENDPOINT && url.pathname !== '/healthz') {
            endResponse(detailResponse(404, 'Not Found'));
          }
        },
      },
    ],
  });
}

export type App = ReturnType<typeof createApp>;
