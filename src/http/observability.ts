/**
 * Every request gets an id (the caller's `x-request-id` when it is a sane one, else a new UUID), echoed in
 * the response and written, with method, route, status and latency, as one JSON log line and into the
 * metrics. Health checks and metrics scrapes are left out. Nothing from headers or bodies is logged, so
 * no token and no task title can reach the log.
 */
import { randomUUID } from 'node:crypto';
import { Kind, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { REST_BASE_PATH } from '../rest/routes.js';
import type { ServerContext } from '../server-context.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function useObservability(options: { logger: Logger; metrics: Metrics; quietPaths: readonly string[]; knownPaths: ReadonlySet<string> }): Plugin<object, ServerContext> {
  const { logger, metrics, quietPaths, knownPaths } = options;
  const quiet = new Set(quietPaths);
  return {
    onRequest({ request, url, serverContext }) {
      const given = request.headers.get('x-request-id');
      serverContext.requestId = given !== null && REQUEST_ID.test(given) ? given : randomUUID();
      if (!quiet.has(url.pathname)) serverContext.startedAt = performance.now();
    },

    onExecute({ args }) {
      const context = args.contextValue as ServerContext;
      const operation = (args.document as DocumentNode).definitions.find(
        (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION && (!args.operationName || d.name?.value === args.operationName),
      );
      metrics.countOperation(context.restRoute ? 'rest' : 'graphql', operation?.operation ?? 'unknown', operation?.name?.value);
    },

    onResponse({ request, response, serverContext }) {
      if (serverContext.requestId) response.headers.set('x-request-id', serverContext.requestId);
      if (serverContext.startedAt === undefined) return;
      const seconds = (performance.now() - serverContext.startedAt) / 1000;
      const route = routeOf(request, serverContext, knownPaths);
      metrics.observeRequest(request.method, route, response.status, seconds);
      logger.info(
        { reqId: serverContext.requestId, method: request.method, route, status: response.status, ms: Math.round(seconds * 10_000) / 10 },
        'request',
      );
    },
  };
}

/** A bounded label: the REST route's template, a known path, or "unmatched" (never a raw URL full of ids). */
function routeOf(request: Request, context: ServerContext, knownPaths: ReadonlySet<string>): string {
  if (context.restRoute) return `${REST_BASE_PATH}${context.restRoute.path}`;
  const { pathname } = new URL(request.url);
  if (knownPaths.has(pathname)) return pathname;
  return pathname.startsWith(`${REST_BASE_PATH}/`) ? `${REST_BASE_PATH}/unmatched` : 'unmatched';
}
