/**
 * CORS for browser clients on other origins: only origins in the allowlist (CORS_ORIGINS) get CORS headers,
 * each answered with its own origin; nothing is echoed for others, and credentials are never allowed
 * (the API reads bearer tokens, not cookies).
 */
import type { CORSOptions } from 'graphql-yoga';

export function corsPolicy(allowedOrigins: readonly string[]) {
  const allowed = new Set(allowedOrigins);
  return (request: Request): CORSOptions => {
    const origin = request.headers.get('origin');
    if (origin === null || !allowed.has(origin)) return false;
    return {
      origin: [origin],
      credentials: false,
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'x-request-id'],
      exposedHeaders: ['link', 'retry-after', 'www-authenticate', 'x-request-id'],
      maxAge: 600,
    };
  };
}
