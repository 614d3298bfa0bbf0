/**
 * Authentication for /graphql: a request without a valid bearer token is answered 401 before Yoga parses
 * or validates anything. (The REST routes call the same verifier from their own gate.)
 */
import type { Plugin } from 'graphql-yoga';
import { AppError, INTERNAL_ERROR_MESSAGE, httpHeadersOf, httpStatusOf } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ServerContext } from '../server-context.js';
import type { VerifyBearer } from './bearer.js';

export function useGraphQLAuthentication(options: {
  verify: VerifyBearer;
  graphqlEndpoint: string;
  logger: Logger;
}): Plugin<object, ServerContext> {
  const { verify, graphqlEndpoint, logger } = options;
  return {
    async onRequest({ request, url, serverContext, endResponse, fetchAPI }) {
      if (url.pathname !== graphqlEndpoint || request.method === 'OPTIONS') return;
      try {
        serverContext.userId = await verify(request.headers.get('authorization'));
      } catch (error) {
        const known = error instanceof AppError;
        if (!known) logger.error({ err: error }, 'authentication failed unexpectedly');
        const body = {
          errors: [
            known
              ? { message: error.message, extensions: { code: error.code } }
              : { message: INTERNAL_ERROR_MESSAGE, extensions: { code: 'INTERNAL_SERVER_ERROR' } },
          ],
        };
        endResponse(fetchAPI.Response.json(body, { status: httpStatusOf(error), headers: httpHeadersOf(error) }));
      }
    },
  };
}
