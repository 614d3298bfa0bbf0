/**
 * The Node HTTP server around the app, with the request-head size and the header, request and keep-alive
 * timeouts of ./limits.ts, so a slow or oversized client cannot hold a connection.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import { limits as defaults, type Limits } from './limits.js';

export function createHttpServer(listener: RequestListener, overrides: Partial<Limits> = {}): Server {
  const limits = { ...defaults, ...overrides };
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
