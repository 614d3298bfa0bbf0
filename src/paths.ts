/** Every path the server answers at, in one place (the REST routes below REST_BASE_PATH are ./rest/routes.ts's rows). */
export const GRAPHQL_PATH = '/graphql';
export const REST_BASE_PATH = '/api';
export const HEALTH_PATH = '/healthz';
export const READY_PATH = '/readyz';
export const METRICS_PATH = '/metrics';
export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PATH = '/docs';
/** Paths polled by probes and scrapers: not logged per request, not traced. */
export const QUIET_PATHS: readonly string[] = [HEALTH_PATH, READY_PATH, METRICS_PATH];
