/**
 * The Node HTTP server under Fastify: the contract's limits on what a client may send and how long it may
 * take, and the answer to a request Node could not even read.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type RequestListener } from 'node:http';
import type { Socket } from 'node:net';
import { AppError, BadUserInputError, JSON_TYPE, detailBody } from '../errors.js';
import { securityHeaders } from './security-headers.js';

/** What a client may send and how long it may take. Not settings: the contract's limits, here with the other defaults. */
export const httpLimits = {
  /** Largest request body, in bytes (a task is at most 500 characters; GraphiQL's introspection query is ~3 KB). */
  maxBodyBytes: 64 * 1024,
  /** Largest request head (request line + headers), in bytes; beyond it the answer is 431. */
  maxHeaderBytes: 16 * 1024,
  /** Milliseconds a client has to send the complete request head. */
  headersTimeoutMs: 10_000,
  /** Milliseconds a client has to send the complete request. */
  requestTimeoutMs: 30_000,
  /** Milliseconds an idle keep-alive connection is kept open (below common load-balancer idle timeouts). */
  keepAliveTimeoutMs: 5_000,
  /** Milliseconds a connection may make no progress (a response its client does not read) before it is cut: SEND_TIMEOUT_MS, default 30 s. */
  sendTimeoutMs: 30_000,
};

export type HttpLimits = typeof httpLimits;

/**
 * The Node HTTP server, with the request-head size and the header, request and keep-alive timeouts of
 * the limits, so a slow or oversized client cannot hold a connection. An absolute-form request target
 * (`GET http://host/api/tasks`, RFC 9112 §3.2.2) is routed by its path and query, as any other.
 */
export function createHttpServer(handler: RequestListener, limits: HttpLimits) {
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
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
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
    const head = Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    socket.write(`HTTP/1.1 ${appError.status} ${appError.message}\r\n${head}\r\n${body}`);
  }
  socket.destroy(error);
}

/** A number of hops as the function Fastify takes (its types accept only addresses or a boolean). */
export function trustProxyOption(trust: number | string[] | false) {
  return typeof trust === 'number' ? (_address: string, hop: number) => hop < trust : trust;
}
