/**
 * The REST face of the schema: SOFA runs the GraphQL field behind each route of the table in ./routes.ts.
 * In front of SOFA a gate answers, in this order: unknown route 404, wrong method 405, no valid token 401,
 * body too large 413, wrong content type 415, malformed or mistyped body 422. Behind it the data is shaped to snake_case and a
 * 204 carries no body.
 */
import { useSofa } from '@graphql-yoga/plugin-sofa';
import type { GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { VerifyBearer } from '../auth/bearer.js';
import type { Logger } from '../logger.js';
import type { ServerContext } from '../server-context.js';
import { limits } from '../http/limits.js';
import { checkQuery, parseBody, readBodyText, routeArguments, type RouteArguments } from './body.js';
import { detailResponse, errorResponse } from './responses.js';
import { REST_BASE_PATH, matchRoute, restRoutes, sofaRouteConfig, type RestRoute } from './routes.js';
import { toSnakeCaseKeys } from './shape.js';

type SofaErrorHandler = NonNullable<Parameters<typeof useSofa>[0]['errorHandler']>;

const JSON_CONTENT_TYPE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;

/** The same list with the cursor moved on: path and query only, so it is right behind any proxy. */
function nextPageUrl(requestUrl: string, cursor: string): string {
  const url = new URL(requestUrl);
  url.searchParams.set('cursor', cursor);
  return `${url.pathname}${url.search}`;
}

function decodesCleanly(pathname: string): boolean {
  try {
    decodeURIComponent(pathname);
    return true;
  } catch {
    return false;
  }
}

export function useRestApi(options: { verify: VerifyBearer; logger: Logger }): Plugin<object, ServerContext>[] {
  const { verify, logger } = options;
  let argumentsByRoute = new Map<RestRoute, RouteArguments>();

  const gate: Plugin<object, ServerContext> = {
    onSchemaChange({ schema }) {
      argumentsByRoute = new Map(restRoutes.map((route) => [route, routeArguments(schema as GraphQLSchema, route)]));
    },

    async onRequest({ request, url, serverContext, endResponse, setRequest, fetchAPI }) {
      if (url.pathname !== REST_BASE_PATH && !url.pathname.startsWith(`${REST_BASE_PATH}/`)) return;
      const match = matchRoute(request.method, url.pathname);
      if (match.kind === 'none') return endResponse(detailResponse(404, 'Not Found'));
      if (match.kind === 'wrong-method') {
        return endResponse(detailResponse(405, 'Method Not Allowed', { allow: match.allow.join(', ') }));
      }
      const { route } = match;
      if (!decodesCleanly(url.pathname)) {
        return endResponse(detailResponse(400, 'Malformed percent-encoding in the URL path'));
      }
      try {
        serverContext.userId = await verify(request.headers.get('authorization'));
        const hasBody = route.method === 'POST' || route.method === 'PUT' || route.method === 'PATCH';
        if (hasBody) {
          const text = await readBodyText(request, limits.maxBodyBytes);
          const contentType = request.headers.get('content-type');
          // A declared type must be JSON even with no body; an undeclared one is fine only with no body.
          if (contentType === null ? text !== '' : !JSON_CONTENT_TYPE.test(contentType)) {
            return endResponse(detailResponse(415, 'Content-Type must be application/json'));
          }
          const body = parseBody(text, argumentsByRoute.get(route) ?? { rest: [] });
          // SOFA reads the query string before the body: arguments of body routes come from the body only.
          const target = new URL(url.pathname, url.origin).toString();
          setRequest(new fetchAPI.Request(target, { method: route.method, headers: request.headers, body: JSON.stringify(body) }));
        } else {
          const query = checkQuery(url.searchParams, argumentsByRoute.get(route) ?? { rest: [] }).toString();
          // SOFA sees only the checked arguments, and no body: a body on GET or DELETE means nothing.
          const target = new URL(`${url.pathname}${query === '' ? '' : `?${query}`}`, url.origin).toString();
          if (target !== url.toString() || request.body !== null) {
            setRequest(new fetchAPI.Request(target, { method: route.method, headers: request.headers }));
          }
        }
        serverContext.restRoute = route;
        serverContext.page = { nextCursor: null };
      } catch (error) {
        endResponse(errorResponse([error], logger));
      }
    },

    onExecute({ args }) {
      const route = (args.contextValue as ServerContext).restRoute;
      if (!route) return;
      const fieldName = route.field.slice(route.field.indexOf('.') + 1);
      return {
        onExecuteDone({ result, setResult }) {
          if (!('data' in result) || !result.data) return;
          setResult({ ...result, data: { [fieldName]: toSnakeCaseKeys(result.data[fieldName]) } });
        },
      };
    },

    onResponse({ request, serverContext, response, setResponse, fetchAPI }) {
      const nextCursor = serverContext.page?.nextCursor;
      if (nextCursor && response.status === 200) {
        response.headers.set('link', `<${nextPageUrl(request.url, nextCursor)}>; rel="next"`);
      }
      if (serverContext.restRoute?.status === 204 && response.status === 204) {
        const headers = new fetchAPI.Headers(response.headers);
        headers.delete('content-type');
        headers.delete('content-length');
        setResponse(new fetchAPI.Response(null, { status: 204, headers }));
      }
    },
  };

  return [
    gate,
    useSofa({
      basePath: REST_BASE_PATH,
      routes: sofaRouteConfig(),
      // fets types its own Response class; ours is the same WHATWG Response.
      errorHandler: ((errors: readonly unknown[]) => errorResponse(errors, logger)) as unknown as SofaErrorHandler,
    }),
  ];
}
