/**
 * The Node HTTP server around the app, with the request-head size and the header, request and keep-alive
 * timeouts of ./limits.ts, so a slow or oversized client cannot hold a connection.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import { limits as defaults, type Limits } from './limits.js';

export function createHttpServer(app: RequestListener, overrides: Partial<Limits> = {}): Server {
  const limits = { ...defaults, ...overrides };
  // A Host the URL parser refuses (`Host: a b`) would otherwise fail deep in the adapter as a 500.
  const listener: RequestListener = (request, response) => {
    if (!URL.canParse(`http://${request.headers.host ?? 'localhost'}${request.url ?? '/'}`)) {
      response.writeHead(400, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
      response.end('{"detail":"Bad Request"}');
      return;
    }
    app(request, response);
  };
  const server = createServer(
    {
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // How often Node checks the two timeouts above (default 30 s, which would let them overrun).
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
    },
    listener,
  );
  return server;
}
