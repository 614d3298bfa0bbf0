/**
 * The REST contract the existing frontend calls, as a route table over the GraphQL root fields. Each row
 * becomes one Fastify route running the operation SOFA derives for its field (./operations.ts, ./api.ts),
 * and one entry of the OpenAPI document (./openapi.ts); nothing outside it is reachable under /api. The
 * change stream is a row too: its runner (./event-stream.ts) differs, its path, prose and errors do not.
 */
import { httpLimits } from '../http/node-server.js';
import { MAX_TITLE_LENGTH } from '../resolvers/task.js';
import { MAX_PAGE_SIZE } from '../resolvers/task-list.js';

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 412 | 413 | 415 | 422 | 428 | 429;

export interface RestRoute {
  /** The GraphQL root field this route runs, as `Type.field`. */
  field: `${'Query' | 'Mutation' | 'Subscription'}.${string}`;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Below REST_BASE_PATH; `:name` segments become the field's arguments. */
  path: string;
  status: 200 | 201 | 204;
  operationId: string;
  summary: string;
  /** Every error status the route can answer besides 500/503 (and 429 over the request rate), and what each means here. */
  errors: Partial<Record<ErrorStatus, string>>;
  /** Pages with `limit` and `cursor`; the next one is announced in a Link header. */
  paged?: true;
  /** Where a created resource is (a 201's Location): a path below REST_BASE_PATH whose `:name` segments are the answer's fields. */
  location?: string;
  /** A Subscription field served as Server-Sent Events (./event-stream.ts) rather than one JSON answer. */
  stream?: true;
  /** Prose for the OpenAPI operation, when the field's own description is not the whole story. */
  description?: string;
}

const unauthenticated = 'Missing, invalid or expired bearer token';
const badId = 'The id is not a UUID';
const forbidden = 'The task belongs to another user';
const notFound = 'There is no task with this id';
const keyInProgress =
  'A request with the same Idempotency-Key is still running (`{"detail": "A request with this Idempotency-Key is in progress", "code": "IDEMPOTENCY_KEY_IN_PROGRESS"}`)';
const keyReused =
  'the Idempotency-Key was used for a different request (`{"detail": "Idempotency-Key was used for a different request", "code": "IDEMPOTENCY_KEY_REUSED"}`)';
const badKey = 'the Idempotency-Key header is not 1–255 visible ASCII characters';
const badIfMatch = 'If-Match is not * or a list of quoted entity tags';
/** The answers of a change made under If-Match. */
const conditional = {
  412: 'If-Match names another version of the task (someone changed it since): nothing was changed; GET it for its current ETag',
  428: 'REQUIRE_IF_MATCH is on and the request has no If-Match',
} as const;
/** What any change to one task can answer besides 400 and 422. */
const changeOfOwnTask = { 401: unauthenticated, 403: forbidden, 404: notFound, 409: keyInProgress, ...conditional } as const;
const badBody = {
  413: `The body is larger than ${httpLimits.maxBodyBytes / 1024} KiB`,
  415: 'The body is not declared as application/json, or is sent compressed (Content-Encoding)',
} as const;

export const restRoutes: readonly RestRoute[] = [
  {
    field: 'Query.tasks',
    method: 'GET',
    path: '/tasks',
    status: 200,
    operationId: 'listTasks',
    summary: "List the caller's tasks, newest first: all, or a page at a time",
    errors: {
      400: `limit is not an integer from 1 to ${MAX_PAGE_SIZE}, completed is not true or false, or cursor is not one we issued`,
      401: unauthenticated,
    },
    paged: true,
  },
  {
    field: 'Mutation.createTask',
    method: 'POST',
    path: '/tasks',
    status: 201,
    location: '/tasks/:id',
    operationId: 'createTask',
    summary: 'Create a task',
    errors: {
      400: `The title is empty, blank, over ${MAX_TITLE_LENGTH} characters, or holds NUL or unpaired surrogates; or ${badKey}`,
      401: unauthenticated,
      409: `The caller has MAX_TASKS_PER_USER tasks already (\`{"detail": "Task limit reached", "code": "QUOTA_EXCEEDED"}\`); or ${keyInProgress.charAt(0).toLowerCase()}${keyInProgress.slice(1)}`,
      ...badBody,
      422: `The body is not a JSON object, or title is missing or not a string; or ${keyReused}`,
    },
  },
  {
    field: 'Query.task',
    method: 'GET',
    path: '/tasks/:id',
    status: 200,
    operationId: 'getTask',
    summary: 'Get one task',
    errors: { 400: badId, 401: unauthenticated, 403: forbidden, 404: notFound },
  },
  {
    field: 'Mutation.setTaskCompleted',
    method: 'PATCH',
    path: '/tasks/:id',
    status: 200,
    operationId: 'setTaskCompleted',
    summary: 'Mark a task completed or not',
    errors: {
      400: `${badId}; or ${badIfMatch}; or ${badKey}`,
      ...changeOfOwnTask,
      ...badBody,
      422: `The body is not a JSON object, or completed is missing or not a boolean; or ${keyReused}`,
    },
  },
  {
    field: 'Mutation.renameTask',
    method: 'PUT',
    path: '/tasks/:id',
    status: 200,
    operationId: 'renameTask',
    summary: 'Rename a task',
    errors: {
      400: `The id is not a UUID, or the title is empty, blank, over ${MAX_TITLE_LENGTH} characters, or holds NUL or unpaired surrogates; or ${badIfMatch}; or ${badKey}`,
      ...changeOfOwnTask,
      ...badBody,
      422: `The body is not a JSON object, or title is missing or not a string; or ${keyReused}`,
    },
  },
  {
    field: 'Mutation.deleteTask',
    method: 'DELETE',
    path: '/tasks/:id',
    status: 204,
    operationId: 'deleteTask',
    summary: 'Delete a task',
    errors: {
      400: `${badId}; or ${badIfMatch}; or ${badKey}`,
      ...changeOfOwnTask,
      422: `${keyReused.charAt(0).toUpperCase()}${keyReused.slice(1)}`,
    },
  },
  {
    field: 'Subscription.taskEvents',
    method: 'GET',
    path: '/tasks/events',
    status: 200,
    operationId: 'streamTaskEvents',
    summary: "Stream the caller's task changes (Server-Sent Events)",
    description:
      "Every change to the caller's tasks, as committed on any instance, as Server-Sent Events: `id: <cursor>`, " +
      '`event: task.created | task.updated | task.deleted`, `data: <the task in the REST shape>` (for a delete, as it was). ' +
      'Resume with `Last-Event-ID` (or `?after=`): every event after it, in order, once, then live. Also: `event: reset` ' +
      '(the cursor is older than TASK_EVENTS_RETENTION, or the client read too slowly: reload the list, then continue ' +
      'from its id), `event: reauth` (the token expired: reconnect with a new one), a `retry:` hint when the server ' +
      "stops, and a comment every 15 s. Read it with fetch (browsers' EventSource cannot send a bearer token).",
    errors: {
      400: 'Last-Event-ID or after is not an event id',
      401: unauthenticated,
      429: 'The caller has MAX_STREAMS_PER_USER streams open, or the server MAX_STREAMS, or is over the request rate',
    },
    stream: true,
  },
];

/** The rows SOFA derives an operation for: every one but the streams. */
export const operationRoutes: readonly RestRoute[] = restRoutes.filter((route) => !route.stream);

/** SOFA's `routes` option, derived from the table. */
export function sofaRouteConfig() {
  return Object.fromEntries(operationRoutes.map((r) => [r.field, { method: r.method, path: r.path, responseStatus: r.status }]));
}

/** The names of a route's path parameters (`/tasks/:id` → `id`). */
export function pathParameters(route: RestRoute): string[] {
  return [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1] ?? '');
}
