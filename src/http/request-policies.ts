/**
 * What every request must satisfy before a route sees it, whatever the route: one at a time per
 * connection, a Host that is a host, and a body that is not compressed. ../app.ts decides their order.
 */
import { AsyncResource } from 'node:async_hooks';
import type { FastifyInstance } from 'fastify';
import { BadUserInputError, UnsupportedMediaTypeError } from '../errors.js';

/**
 * Pipelined requests are served one at a time: Node hands each to us at once, and would otherwise run
 * them all and hold their answers until the client reads the first (which it may never do). Its turn
 * comes when Node gives its answer the socket; if the client leaves first, it never starts.
 */
export function servePipelinedInTurn(app: FastifyInstance): void {
  app.addHook('onRequest', (_request, reply, done) => {
    if (reply.raw.socket !== null) return done();
    // Bound, so the request's async context (its trace) goes on with it rather than the socket's event's.
    reply.raw.once(
      'socket',
      AsyncResource.bind(() => done()),
    );
  });
}

/** RFC 9112 §3.2: a Host that is not `host[:port]` is a 400 (it would otherwise end up in URLs built from it). */
const HOST = /^(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

export function refuseBadHost(app: FastifyInstance): void {
  app.addHook('onRequest', (request, _reply, done) => {
    done(HOST.test(request.headers.host ?? '') ? undefined : new BadUserInputError('Bad Request'));
  });
}

/** A compressed request body is a 415 (we would have to inflate what a client sends); a request without a body has nothing to decode. */
export function refuseEncodedBodies(app: FastifyInstance): void {
  // preParsing: after authentication (onRequest), before the body is read.
  app.addHook('preParsing', (request, _reply, payload, done) => {
    const encoding = request.headers['content-encoding'];
    const hasBody = request.headers['transfer-encoding'] !== undefined || (request.headers['content-length'] ?? '0') !== '0';
    if (!hasBody || encoding === undefined || encoding.toLowerCase() === 'identity') return done(null, payload);
    done(new UnsupportedMediaTypeError(`Content-Encoding ${encoding} is not supported: send the body uncompressed`), payload);
  });
}
