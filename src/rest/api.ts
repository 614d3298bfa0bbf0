/**
 * The REST face: one Fastify route per row of ./routes.ts, each running its derived operation
 * (./operations.ts), or for a stream row the event stream (./event-stream.ts). In order, a request is refused by: Fastify's router (unknown path 404, wrong method
 * 405 from ../http/method-not-allowed.ts, malformed percent-encoding 400), the token check (401) and the rate limit (429), the body
 * reader (413 over the limit), ./arguments.ts (415 not JSON, 422 malformed or mistyped), and then the
 * resolver (400, 403, 404). Every error leaves through ../errors.ts.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OperationTypeNode, type GraphQLSchema } from 'graphql';
import type { Authenticate } from '../http/request-gate.js';
import { createContext, type ContextDependencies } from '../resolvers/context.js';
import { clientGoneOf } from '../http/client-gone.js';
import type { Db } from '../db/client.js';
import { ClientClosedRequestError, NotFoundError } from '../errors.js';
import { ifMatchPrecondition, listEtag, noneMatch, taskEtag } from '../http/conditional.js';
import { fingerprintOf, idempotencyKeyOf, runIdempotent, type StoredResponse } from '../idempotency.js';
import type { Metrics } from '../metrics.js';
import { inOperationSpan } from '../tracing.js';
import { bodyArguments, parseJsonBody, queryArguments } from './arguments.js';
import { deriveRestOperations, type RestOperation } from './operations.js';
import type { Context, Precondition } from '../resolvers/context.js';
import { LIST_CHUNK_SIZE, type ListPaging } from '../resolvers/task-list.js';
import { REST_BASE_PATH } from '../paths.js';
import { createEventStreamRunner, type EventStreamOptions } from './event-stream.js';
import { restRoutes } from './routes.js';
import { REST_ONLY_IN_HEADERS, restShaper } from './shape.js';

const JSON_TYPE = 'application/json; charset=utf-8';

export interface RestApiOptions {
  schema: GraphQLSchema;
  authenticate: Authenticate;
  contextDependencies: ContextDependencies;
  metrics: Metrics;
  /** What the change stream's rows need. */
  events: Omit<EventStreamOptions, 'shape' | 'metrics'>;
}

export async function useRestApi(app: FastifyInstance, options: RestApiOptions): Promise<void> {
  const { authenticate, contextDependencies, metrics } = options;
  const { prisma, idempotencyKeyTtlMs } = contextDependencies;
  const operations = deriveRestOperations(options.schema);
  await app.register(async (api) => {
    api.addHook('onRequest', authenticate);
    const shape = restShaper(options.schema, 'Task');
    for (const route of restRoutes.filter((row) => row.stream)) {
      const url = `${REST_BASE_PATH}${route.path}`;
      api.route({ method: route.method, url, handler: createEventStreamRunner({ ...options.events, metrics, shape }, url) });
    }
    for (const operation of operations) {
      // A scope per route, so that its body parser knows whether the route reads a body at all.
      await api.register((scope, _options, done) => {
        scope.removeAllContentTypeParsers();
        scope.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
          // A body on GET or DELETE means nothing, whatever it holds.
          if (operation.inputFrom !== 'body') return done(null, undefined);
          request.rawBody = body;
          try {
            done(null, parseJsonBody(request.headers['content-type'], body as Buffer));
          } catch (error) {
            done(error as Error);
          }
        });
        scope.route({
          method: operation.route.method,
          url: `${REST_BASE_PATH}${operation.route.path}`,
          handler: (request, reply) => run(operation, request, reply),
        });
        done();
      });
    }
  });

  async function run(operation: RestOperation, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const variables = variablesOf(operation, request);
    const userId = request.userId ?? '';
    if (operation.route.paged && variables.limit == null) return stream(operation, request, reply, variables);
    const writes = operation.kind === OperationTypeNode.MUTATION;
    const precondition = writes && operation.route.method !== 'POST' ? ifMatchPrecondition(request.headers['if-match']) : undefined;
    const key = writes ? idempotencyKeyOf(request.headers) : undefined;
    if (key === undefined) {
      const response = await answer(operation, request, variables, precondition);
      const { etag } = response.headers;
      if (!writes && etag !== undefined && noneMatch(request.headers['if-none-match'], etag))
        return reply.code(304).header('etag', etag).send();
      return send(reply, response);
    }
    const fingerprint = fingerprintOf(request.method, request.url, request.rawBody);
    const { response, replayed } = await runIdempotent(
      prisma,
      { userId, key, fingerprint, ttlMs: idempotencyKeyTtlMs },
      async (transaction) => ({
        response: await answer(operation, request, variables, precondition, transaction),
        store: true,
      }),
    );
    if (replayed) {
      reply.header('idempotent-replayed', 'true');
      // The write it replays may be newer than what a replica has: the client's reads wait for it as for their own.
      request.wrote = true;
    }
    return send(reply, response);
  }

  /** Runs a route's operation (in `transaction` when keyed) into the status, headers and body of its answer. */
  async function answer(
    operation: RestOperation,
    request: FastifyRequest,
    variables: Record<string, unknown>,
    precondition: Precondition,
    transaction?: Db,
  ): Promise<StoredResponse> {
    // A list's ETag is its user's list version, read with the page (see stream()).
    const paging: ListPaging | undefined = operation.route.paged ? { nextCursor: null, withVersion: true } : undefined;
    const context = createContext(contextDependencies, request.userId, {
      transaction,
      precondition,
      onWrite: () => (request.wrote = true),
    });
    const result = await inOperationSpan(request, operation.kind, operation.name, () => operation.execute(context, variables, { paging }));
    metrics.countOperation('rest', operation.kind, operation.name);
    if (result.errors?.[0]) throw result.errors[0];
    const { status } = operation.route;
    const headers: Record<string, string> = {};
    if (paging?.version !== undefined) headers.etag = listEtag(request.userId ?? '', paging.version);
    if (paging?.nextCursor) headers.link = `<${nextPageUrl(request.url, paging.nextCursor)}>; rel="next"`;
    if (status === 204) return { status, headers, body: '' };
    let data = result.data?.[operation.field] as Record<string, unknown> | null | undefined;
    if (!operation.route.paged && data) {
      // One task: its version leaves the JSON for the ETag header.
      const { [REST_ONLY_IN_HEADERS.version]: version, ...task } = data;
      data = task;
      headers.etag = taskEtag(version as number);
      if (operation.route.location) headers.location = locationOf(operation.route.location, task);
    }
    headers['content-type'] = JSON_TYPE;
    return { status, headers, body: JSON.stringify(data) };
  }

  function send(reply: FastifyReply, response: StoredResponse): FastifyReply {
    return reply
      .code(response.status)
      .headers(response.headers)
      .send(response.body === '' ? undefined : response.body);
  }

  /**
   * A whole list, streamed: the route's own operation run a chunk at a time along its cursor, each chunk
   * written as it comes, the next read only once the socket has taken the last (so a client that does not
   * read holds one chunk, not the list). The same JSON array as one answer would be. The first chunk is
   * read at once, like any page (most lists end there and go out as one string); the rest streams under
   * its user's limit on whole lists, and stops when the client goes.
   *
   * The ETag is the user's list version, read in the same statement as the first chunk (the same
   * snapshot), so it is never newer than the list it labels: a change made while later chunks are read
   * may be in the list and not in the ETag, and then the next If-None-Match misses (the version has
   * moved on) rather than matching a list it does not describe. A matching If-None-Match is answered 304
   * before anything of the body is sent.
   */
  async function stream(operation: RestOperation, request: FastifyRequest, reply: FastifyReply, variables: Record<string, unknown>) {
    const clientGone = clientGoneOf(request);
    // Every chunk reads where the first did.
    let read: Context['read'] | undefined;
    const chunk = async (cursor: unknown, withVersion = false) => {
      const paging: ListPaging = { nextCursor: null, chunkSize: LIST_CHUNK_SIZE, withVersion };
      const chunkContext = createContext(contextDependencies, request.userId, { clientGone, read });
      read = chunkContext.read;
      const result = await inOperationSpan(request, operation.kind, operation.name, () =>
        operation.execute(chunkContext, { ...variables, cursor }, { paging }),
      );
      if (result.errors?.[0]) throw result.errors[0];
      const items = result.data?.[operation.field] as unknown[];
      return { json: items.map((item) => JSON.stringify(item)).join(','), next: paging.nextCursor, version: paging.version };
    };
    metrics.countOperation('rest', operation.kind, operation.name);
    // Back to the event loop first: other requests get their turn, and a client that has gone by then (a
    // flood of lists abandoned at once) costs no read at all.
    await new Promise((resolve) => setImmediate(resolve));
    if (clientGone()) throw new ClientClosedRequestError();
    // Before the status: a bad cursor or an unreachable database is still a clean error.
    const first = await chunk(variables.cursor ?? null, true);
    if (first.version !== undefined) {
      const etag = listEtag(request.userId ?? '', first.version);
      reply.header('etag', etag);
      if (noneMatch(request.headers['if-none-match'], etag)) return reply.code(304).send();
    }
    if (first.next === null) return reply.code(operation.route.status).type(JSON_TYPE).send(`[${first.json}]`);
    return contextDependencies.unpagedLists(
      request.userId ?? '',
      async () => {
        async function* rest() {
          yield `[${first.json}`;
          for (let cursor = first.next; cursor !== null && !clientGone();) {
            // Back to the event loop between chunks: other requests (and new connections) are served in
            // between, even when the embedded database answers each chunk without waiting on I/O.
            await new Promise((resolve) => setImmediate(resolve));
            const { json, next } = await chunk(cursor);
            if (json !== '') yield `,${json}`;
            cursor = next;
          }
          yield ']';
        }
        // The user's turn is over when the list has gone out, or its client has — maybe already, while
        // it waited for the turn, and then 'close' will not come again.
        const closed = reply.raw.closed ? Promise.resolve() : new Promise((resolve) => reply.raw.once('close', resolve));
        const body = Readable.from(rest(), { objectMode: false, highWaterMark: 1 });
        await reply.code(operation.route.status).type(JSON_TYPE).send(body);
        await closed;
        return reply;
      },
      clientGone,
    );
  }
}

function variablesOf(operation: RestOperation, request: FastifyRequest): Record<string, unknown> {
  const variables: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  const params = request.params as Record<string, string>;
  for (const name of operation.pathArguments) {
    // The router matches `/api/tasks/` to `/api/tasks/:id` with an empty id; no such path exists.
    if (!params[name]) throw new NotFoundError('Not Found');
    variables[name] = params[name];
  }
  if (operation.inputFrom === 'body') return bodyArguments(request.body, operation.inputArguments, variables);
  if (operation.inputArguments.length === 0) return variables;
  const query = request.url.indexOf('?');
  return queryArguments(new URLSearchParams(query === -1 ? '' : request.url.slice(query + 1)), operation.inputArguments, variables);
}

/** A row's Location (`/tasks/:id`) for the object created: each `:name` is that field of the answer. */
function locationOf(template: string, created: Record<string, unknown>): string {
  return `${REST_BASE_PATH}${template.replace(/:(\w+)/g, (_match, name: string) => encodeURIComponent(String(created[name])))}`;
}

/** The same list with the cursor moved on: path and query only, so it is right behind any proxy. */
function nextPageUrl(requestUrl: string, cursor: string): string {
  const url = new URL(requestUrl, 'http://localhost');
  url.searchParams.set('cursor', cursor);
  return `${url.pathname}${url.search}`;
}
