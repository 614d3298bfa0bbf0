/**
 * Response headers every answer starts with: nothing may be sniffed, framed, cached or referred, and the
 * API's JSON may run no content. Pages that need more (the web page, Swagger UI, GraphiQL) set their own
 * Content-Security-Policy (from `pageCsp` below) and Cache-Control over these.
 *
 * Written out rather than through @fastify/helmet: that plugin rebuilds helmet's middleware (option
 * parsing, the CSP string) on every request, and the same dozen constant headers cost one call here.
 */
import type { FastifyInstance } from 'fastify';

export const securityHeaders = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'cross-origin-resource-policy': 'same-site',
  'cross-origin-opener-policy': 'same-origin',
  'strict-transport-security': 'max-age=63072000; includeSubDomains',
};

/**
 * The Content-Security-Policy of each page we serve. Every script, style and worker is a file of ours;
 * Swagger UI and GraphiQL (Monaco) inject inline styles, and their icons are data: URLs.
 */
export const pageCsp = {
  /** The web page (../../web): its own files, and fetches to this origin. */
  web:
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  /** Swagger UI at /docs. */
  docs:
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
    "connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  /** GraphiQL at /graphql. */
  graphiql:
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; " +
    "connect-src 'self'; worker-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
} as const;

export function useSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(securityHeaders);
    done();
  });
}
