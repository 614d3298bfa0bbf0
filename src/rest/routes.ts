/**
 * The REST contract the existing frontend calls, as a route table over the GraphQL root fields.
 * SOFA derives the handlers from it; nothing outside this table is reachable under /api.
 */
export const REST_BASE_PATH = '/api';

export interface RestRoute {
  /** The GraphQL root field this route runs, as `Type.field`. */
  field: `${'Query' | 'Mutation'}.${string}`;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Below REST_BASE_PATH; `:name` segments become the field's arguments. */
  path: string;
  status: 200 | 201 | 204;
}

export const restRoutes: readonly RestRoute[] = [
  { field: 'Query.tasks', method: 'GET', path: '/tasks', status: 200 },
  { field: 'Mutation.createTask', method: 'POST', path: '/tasks', status: 201 },
  { field: 'Query.task', method: 'GET', path: '/tasks/:id', status: 200 },
  { field: 'Mutation.setTaskCompleted', method: 'PATCH', path: '/tasks/:id', status: 200 },
  { field: 'Mutation.renameTask', method: 'PUT', path: '/tasks/:id', status: 200 },
  { field: 'Mutation.deleteTask', method: 'DELETE', path: '/tasks/:id', status: 204 },
];

export type RouteMatch =
  | { kind: 'route'; route: RestRoute }
  | { kind: 'wrong-method'; allow: string[] }
  | { kind: 'none' };

const compiled = restRoutes.map((route) => ({
  route,
  regex: new RegExp(`^${REST_BASE_PATH}${route.path.replace(/:\w+/g, '[^/]+')}$`),
}));

export function matchRoute(method: string, pathname: string): RouteMatch {
  const allow: string[] = [];
  for (const { route, regex } of compiled) {
    if (!regex.test(pathname)) continue;
    if (route.method === method) return { kind: 'route', route };
    allow.push(route.method);
  }
  return allow.length > 0 ? { kind: 'wrong-method', allow } : { kind: 'none' };
}

/** SOFA's `routes` option, derived from the table. */
export function sofaRouteConfig() {
  return Object.fromEntries(
    restRoutes.map((r) => [r.field, { method: r.method, path: r.path, responseStatus: r.status }]),
  );
}
