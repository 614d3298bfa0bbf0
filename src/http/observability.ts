/**
 * Every request gets an id (the caller's `x-request-id` when it is a sane one, else a new UUID), echoed in
 * the response and written, with method, route, status and latency, as one log line and into the
 * metrics (a request its client abandoned, as one line of its own and a counter apart). Health checks and metrics scrapes are left out. Nothing from headers or bodies is logged, so
 * no token and no task title can reach the log.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Fastify's `genReqId`. */
export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

export function useObservability(app: FastifyInstance, options: { logger: Logger; metrics: Metrics; quietPaths: readonly string[] }): void {
  const { logger, metrics } = options;
  const quiet = new Set(options.quietPaths);
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  // A client that hangs up before its answer is logged and counted apart: it says nothing about the server.
  app.addHook('onRequestAbort', (request, done) => {
    const route = routeOf(request);
    metrics.countAborted(request.method, route);
    logger.info({ reqId: request.id, method: request.method, route }, 'request aborted by the client');
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = routeOf(request);
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- set by Node when it aborts a request whose client left (`destroyed` is true for every finished one)
    if (!quiet.has(route) && !request.raw.aborted) {
      const ms = reply.elapsedTime;
      metrics.observeRequest(request.method, route, reply.statusCode, ms / 1000);
      logger.info({ reqId: request.id, method: request.method, route, status: reply.statusCode, ms: Math.round(ms * 10) / 10 }, 'request');
    }
    done();
  });
}

/** A bounded label: the route's template (`/api/tasks/:id`, a file's path), or "unmatched" (never a raw URL full of ids). */
function routeOf(request: FastifyRequest): string {
  const template = request.routeOptions.url;
  if (template !== undefined && template !== '*') return template;
  return request.url.startsWith('/api/') ? '/api/unmatched' : 'unmatched';
}
