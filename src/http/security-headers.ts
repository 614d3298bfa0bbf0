/**
 * Response headers every answer starts with: nothing may be sniffed, framed, cached or referred, and the
 * API's JSON may run no content. Pages that need more (the web page, Swagger UI, GraphiQL) set their own
 * Content-Security-Policy and Cache-Control over these.
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

export function useSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(securityHeaders);
    done();
  });
}
