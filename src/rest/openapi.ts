/**
 * The OpenAPI document for the REST routes: SOFA's, derived from the GraphQL schema, with its known defects
 * fixed here and only here. SOFA repeats body fields as query parameters and path parameters inside the
 * body, documents no errors, gives mutations no operationId, describes types in GraphQL's camelCase rather
 * than the snake_case the routes answer with, loses nullability, and lists routes we do not serve.
 */
import { isNonNullType, isObjectType, type GraphQLSchema } from 'graphql';
import { useSofa } from 'sofa-api';
import { ERROR_CODES } from '../errors.js';
import { MAX_PAGE_SIZE } from '../resolvers/task-list.js';
import { REST_ONLY_IN_HEADERS, snakeCase } from './shape.js';
import { REST_BASE_PATH } from '../paths.js';
import { pathParameters, restRoutes, sofaRouteConfig, type RestRoute } from './routes.js';

type Json = Record<string, unknown>;
interface SchemaObject extends Json {
  type?: string;
  properties?: Record<string, SchemaObject>;
  required?: string[];
  items?: SchemaObject;
  $ref?: string;
}
interface Operation extends Json {
  parameters?: (Json & { in: string; name: string; schema?: SchemaObject })[];
  requestBody?: Json & { content: Record<string, { schema: SchemaObject }> };
  responses: Record<string, Json & { content?: Record<string, { schema: SchemaObject }> }>;
}

const errorDescriptions: Record<number, string> = {
  429: "Over the caller's request rate (RATE_LIMIT_PER_SECOND, RATE_LIMIT_BURST); retry after Retry-After seconds",
  500: 'Unexpected failure; the cause is in the server log only',
  503: 'A dependency (database, token keys) is unavailable; retry after Retry-After seconds',
};

const retryAfter = { 'Retry-After': { schema: { type: 'integer' }, description: 'Seconds to wait' } };
/** The IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers), sent when rate limiting is on. */
const rateLimitHeaders = {
  'RateLimit-Policy': { schema: { type: 'string' }, description: 'The policy: `"default";q=<requests>;w=<window in seconds>`' },
  RateLimit: {
    schema: { type: 'string' },
    description: 'What is left of it: `"default";r=<requests remaining>;t=<seconds until the window resets>`',
  },
};

const etagHeader = (what: string) => ({ ETag: { schema: { type: 'string' }, description: what } });
const taskEtag = etagHeader(
  "The task's version, a strong entity tag: send it in If-Match to change the task only if no one else has since",
);
const listEtag = etagHeader(
  "Changes whenever any of the caller's tasks is created, changed or deleted, and only then: send it in If-None-Match",
);
const headerParameter = (name: string, description: string) => ({
  in: 'header',
  name,
  required: false,
  schema: { type: 'string' },
  description,
});
const ifNoneMatch = headerParameter('If-None-Match', 'An ETag from an earlier answer: 304 with no body if it is still current');
const ifMatch = headerParameter(
  'If-Match',
  'The ETag of the version you read (or *): the change is made only if the task is still at it, else 412 and nothing changes',
);
const idempotencyKey = headerParameter(
  'Idempotency-Key',
  'A unique key (1–255 visible ASCII characters) that makes the request safe to retry for IDEMPOTENCY_KEY_TTL (24 h by default): a retry of the same request gets the first answer back, with Idempotent-Replayed: true, and changes nothing',
);
const replayed = {
  'Idempotent-Replayed': {
    schema: { type: 'string', enum: ['true'] },
    description: 'This is the stored answer to an earlier request with the same Idempotency-Key',
  },
};

/** `/tasks/:id` → `/tasks/{id}`, as SOFA's document keys it (below its base path). */
function sofaPath(route: RestRoute): string {
  return route.path.replace(/:(\w+)/g, '{$1}');
}

/** The full path (`/api/tasks/{id}`): the document's server is the origin it is served from. */
export function openApiPath(route: RestRoute): string {
  return `${REST_BASE_PATH}${sofaPath(route)}`;
}

export function createOpenApiDocument(schema: GraphQLSchema, version: string): Json {
  const sofa = useSofa({ schema, basePath: REST_BASE_PATH, routes: sofaRouteConfig() }) as unknown as {
    openAPIDocument: { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, SchemaObject> } };
  };
  const generated = sofa.openAPIDocument;

  const paths: Record<string, Record<string, Operation>> = {};
  for (const route of restRoutes) {
    const path = openApiPath(route);
    const method = route.method.toLowerCase();
    if (route.stream) {
      paths[path] ??= {};
      paths[path][method] = streamOperation(schema, route);
      continue;
    }
    const operation = generated.paths[sofaPath(route)]?.[method];
    if (!operation) throw new Error(`SOFA generated no ${route.method} ${sofaPath(route)}`);
    paths[path] ??= {};
    paths[path][method] = fixOperation(schema, route, operation);
  }

  const schemas: Record<string, SchemaObject> = {
    Error: {
      type: 'object',
      required: ['detail', 'code'],
      properties: {
        detail: { type: 'string', description: 'What went wrong, for people' },
        code: {
          type: 'string',
          enum: [...ERROR_CODES],
          description: 'What went wrong, for programs: stable, the same code GraphQL puts in `extensions.code` for the same failure',
        },
      },
    },
  };
  for (const name of referencedSchemas(paths)) {
    const component = generated.components.schemas[name];
    if (component) schemas[name] = restShape(schema, name, component);
  }

  return {
    openapi: '3.0.3',
    info: {
      title: 'Task API',
      version,
      description:
        'Each user\'s tasks. Every route needs `Authorization: Bearer <JWT>`; every error body is `{"detail": "<message>", "code": "<CODE>"}`.',
    },
    // Relative to the document's own URL: Swagger UI's "Try it out" calls the origin it was loaded from.
    servers: [{ url: '/', description: 'The server this document is served from' }],
    security: [{ bearerAuth: [] }],
    tags: [{ name: 'tasks' }],
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: "An access token from Better Auth's /api/auth/token (or HS256 with the shared secret)",
        },
      },
    },
  };
}

function fixOperation(schema: GraphQLSchema, route: RestRoute, operation: Operation): Operation {
  const inPath = new Set(pathParameters(route));
  const hasBody = route.method === 'POST' || route.method === 'PUT' || route.method === 'PATCH';
  const writes = route.field.startsWith('Mutation.');
  const parameters = (operation.parameters ?? [])
    // Body arguments are read from the body only; SOFA lists them as query parameters too. expectedVersion is If-Match.
    .filter((p) => !(hasBody && p.in === 'query') && p.name !== REST_ONLY_IN_HEADERS.expectedVersion)
    .map((p) => {
      if (p.in === 'path' && p.name === 'id') return { ...p, schema: { type: 'string', format: 'uuid' } };
      if (route.paged && p.name === 'limit') return { ...p, schema: { ...p.schema, minimum: 1, maximum: MAX_PAGE_SIZE } };
      return p;
    });
  if (!writes) parameters.push(ifNoneMatch);
  if (writes && route.method !== 'POST') parameters.push(ifMatch);
  if (writes) parameters.push(idempotencyKey);

  const fixed: Operation = {
    operationId: route.operationId,
    summary: route.summary,
    description: fieldDescription(schema, route),
    tags: ['tasks'],
    ...(parameters.length > 0 && { parameters }),
    responses: {},
  };

  const bodySchema = operation.requestBody?.content['application/json']?.schema;
  if (hasBody && bodySchema) {
    const properties = Object.fromEntries(
      Object.entries(bodySchema.properties ?? {}).filter(([name]) => !inPath.has(name) && name !== REST_ONLY_IN_HEADERS.expectedVersion),
    );
    fixed.requestBody = {
      required: true,
      content: {
        'application/json': {
          schema: { type: 'object', properties, required: (bodySchema.required ?? []).filter((n) => !inPath.has(n)) },
        },
      },
    };
  }

  const success = operation.responses[String(route.status)];
  const link = {
    Link: { schema: { type: 'string' }, description: 'With `limit`, when there is a next page: `<this URL with its cursor>; rel="next"`' },
  };
  const location = { Location: { schema: { type: 'string' }, description: 'The new task: /api/tasks/{id}' } };
  const successHeaders = {
    ...(route.paged && { ...link, ...listEtag }),
    ...(!route.paged && route.status !== 204 && taskEtag),
    ...(route.status === 201 && location),
    ...(writes && replayed),
    ...rateLimitHeaders,
  };
  fixed.responses[String(route.status)] =
    route.status === 204
      ? { description: 'Done; the response has no body', headers: successHeaders }
      : { description: 'OK', headers: successHeaders, content: success?.content ?? {} };
  if (!writes) {
    fixed.responses['304'] = {
      description: 'Not Modified: If-None-Match names the current ETag; no body',
      headers: route.paged ? listEtag : taskEtag,
    };
  }
  Object.assign(fixed.responses, errorResponses(route));
  return fixed;
}

/** A route's error answers: its own (from its row), and 429, 500 and 503, which any route can give. */
function errorResponses(route: RestRoute): Operation['responses'] {
  const responses: Operation['responses'] = {};
  const errors: [number, string][] = [
    [429, errorDescriptions[429] ?? ''],
    ...Object.entries(route.errors).map(([status, description]) => [Number(status), description] as [number, string]),
    [500, errorDescriptions[500] ?? ''],
    [503, errorDescriptions[503] ?? ''],
  ];
  for (const [status, description] of errors) {
    responses[String(status)] = {
      description,
      ...(status === 401 && { headers: { 'WWW-Authenticate': { schema: { type: 'string' }, description: 'Bearer challenge' } } }),
      ...(status === 429 && { headers: { ...retryAfter, ...rateLimitHeaders } }),
      ...(status === 503 && { headers: retryAfter }),
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
  }
  return responses;
}

/**
 * A stream row (./event-stream.ts runs it): Server-Sent Events, whose `data` is the task in the REST shape
 * (the `Task` schema); its query parameters are the subscription field's arguments, and Last-Event-ID
 * does what `after` does.
 */
function streamOperation(schema: GraphQLSchema, route: RestRoute): Operation {
  const [, fieldName] = route.field.split('.') as [string, string];
  const field = schema.getSubscriptionType()?.getFields()[fieldName];
  if (!field) throw new Error(`REST route ${route.method} ${route.path} names a missing field ${route.field}`);
  const cursor = { type: 'string', pattern: '^[0-9]+$' };
  return {
    operationId: route.operationId,
    summary: route.summary,
    description: route.description ?? field.description ?? undefined,
    tags: ['tasks'],
    parameters: [
      { in: 'header', name: 'Last-Event-ID', required: false, schema: cursor, description: 'Resume after this event id' },
      ...field.args.map((arg) => ({
        in: 'query',
        name: arg.name,
        required: false,
        schema: cursor,
        description: `${arg.description ?? ''} As Last-Event-ID, for clients that cannot set headers.`.trim(),
      })),
    ],
    responses: {
      [String(route.status)]: {
        description: "The stream; each event's `data` is a `Task` (#/components/schemas/Task) as the other routes answer it",
        headers: rateLimitHeaders,
        content: { 'text/event-stream': { schema: { type: 'string' } } },
      },
      ...errorResponses(route),
    },
  };
}

function fieldDescription(schema: GraphQLSchema, route: RestRoute): string | undefined {
  const [typeName, fieldName] = route.field.split('.') as [string, string];
  const root = typeName === 'Query' ? schema.getQueryType() : schema.getMutationType();
  return root?.getFields()[fieldName]?.description ?? undefined;
}

/** Component names the paths refer to (`#/components/schemas/Task`), Error aside. */
function referencedSchemas(paths: Json): Set<string> {
  const names = new Set<string>();
  JSON.stringify(paths, (key, value: unknown) => {
    if (key === '$ref' && typeof value === 'string') names.add(value.replace('#/components/schemas/', ''));
    return value;
  });
  names.delete('Error');
  return names;
}

/** A GraphQL object type's schema as the REST routes return it: snake_case keys, every key present, nullability kept. */
function restShape(schema: GraphQLSchema, name: string, component: SchemaObject): SchemaObject {
  const type = schema.getType(name);
  if (!isObjectType(type)) return component;
  const fields = type.getFields();
  const properties: Record<string, SchemaObject> = {};
  for (const [key, property] of Object.entries(component.properties ?? {})) {
    // The version travels in the ETag header.
    if (key === REST_ONLY_IN_HEADERS.version) continue;
    const field = fields[key];
    const nullable = field !== undefined && !isNonNullType(field.type);
    properties[snakeCase(key)] = nullable ? { ...property, nullable: true } : property;
  }
  // The routes always send every field; a nullable one is sent as null.
  return { ...component, properties, required: Object.keys(properties) };
}
