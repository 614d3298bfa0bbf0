/**
 * CORS for browser clients on other origins (@fastify/cors): only origins in the allowlist (CORS_ORIGINS)
 * get CORS headers, each answered with its own origin; nothing is sent to others (their preflight is a
 * 404), and credentials are never allowed (the API reads bearer tokens, not cookies).
 */
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';

export async function useCors(app: FastifyInstance, allowedOrigins: readonly string[]): Promise<void> {
  const allowed = new Set(allowedOrigins);
  await app.register(cors, {
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin) ? origin : false),
    credentials: false,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'if-match', 'if-none-match', 'x-request-id'],
    exposedHeaders: [
      'etag',
      'idempotent-replayed',
      'link',
      'location',
      'ratelimit',
      'ratelimit-policy',
      'retry-after',
      'www-authenticate',
      'x-request-id',
    ],
    maxAge: 600,
    // A non-CORS OPTIONS gets the plain 404 too, not a text/plain 400.
    strictPreflight: false,
  });
}
