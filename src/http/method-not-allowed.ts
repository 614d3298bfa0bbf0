/**
 * 405 for a path that exists with another method, with `Allow` listing the methods it has (HEAD with
 * every GET): collected from every route registered before `answerWrongMethods` runs, so the table never
 * drifts from the routes. Fastify itself answers 404 there.
 */
import type { FastifyInstance, HTTPMethods } from 'fastify';
import { MethodNotAllowedError } from '../errors.js';

/** In the order `Allow` lists them. */
const METHODS: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PATCH', 'PUT', 'DELETE'];

/** Call before any route is registered. */
export function collectRoutes(app: FastifyInstance): Map<string, Set<string>> {
  const methodsByUrl = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    if (route.url === '*' || route.url.endsWith('*')) return;
    const methods = methodsByUrl.get(route.url) ?? new Set<string>();
    for (const method of [route.method].flat()) methods.add(method);
    if (methods.has('GET') && route.exposeHeadRoute !== false) methods.add('HEAD');
    methodsByUrl.set(route.url, methods);
  });
  return methodsByUrl;
}

/** Call after every route is registered. */
export function answerWrongMethods(app: FastifyInstance, methodsByUrl: Map<string, Set<string>>): void {
  for (const [url, methods] of [...methodsByUrl]) {
    const allow = METHODS.filter((method) => methods.has(method));
    const missing = METHODS.filter((method) => !methods.has(method));
    if (missing.length === 0) continue;
    app.route({
      method: missing,
      url,
      exposeHeadRoute: false,
      handler: () => {
        throw new MethodNotAllowedError(allow);
      },
    });
  }
}
