/**
 * Files served from disk with @fastify/static: a built directory (the web page) and a chosen few files of
 * a package (Swagger UI). Only files that exist at start-up get a route, so nothing else is reachable,
 * whatever the URL.
 */
import { existsSync } from 'node:fs';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** Vite puts content-hashed names under assets/: they never change. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

function pageHeaders(contentSecurityPolicy: string, cacheControl: (path: string) => string) {
  return (reply: FastifyReply, path: string) => {
    // RFC 9239: JavaScript is text/javascript (the package's table still says application/javascript).
    if (path.endsWith('.js')) reply.header('content-type', 'text/javascript; charset=utf-8');
    reply.header('content-security-policy', contentSecurityPolicy);
    reply.header('cache-control', cacheControl(path));
  };
}

/** Every file below `dir` at `prefix` (index.html also at the prefix itself); nothing if `dir` is missing. */
export async function serveDirectory(
  app: FastifyInstance,
  options: { dir: string; prefix: string; contentSecurityPolicy: string },
): Promise<void> {
  if (!existsSync(options.dir)) return;
  await app.register(async (scope) => {
    await scope.register(fastifyStatic, {
      root: options.dir,
      prefix: options.prefix,
      wildcard: false,
      cacheControl: false,
      setHeaders: pageHeaders(options.contentSecurityPolicy, (path) => (path.includes('/assets/') ? IMMUTABLE : 'no-cache')),
    });
  });
}

/** Just these files of `dir`, each at its URL path. */
export async function serveFiles(
  app: FastifyInstance,
  options: { dir: string; files: { urlPath: string; name: string }[]; cacheControl: string; contentSecurityPolicy: string },
): Promise<void> {
  await app.register(async (scope) => {
    await scope.register(fastifyStatic, {
      root: options.dir,
      serve: false,
      cacheControl: false,
      setHeaders: pageHeaders(options.contentSecurityPolicy, () => options.cacheControl),
    });
    for (const { urlPath, name } of options.files) scope.get(urlPath, (_request, reply) => reply.sendFile(name));
  });
}
