/**
 * The GraphQL face: graphql-yoga at /graphql, mounted in Fastify as Yoga documents it
 * (`handleNodeRequestAndResponse`), with GraphiQL, GraphQL Armor's limits and error masking. A request
 * without a valid bearer token is answered 401 (over its rate, 429) before Yoga parses or validates anything;
 * while introspection is on, the page GraphiQL (./graphiql.ts) and a request with no Authorization header
 * that only introspects (./introspection.ts) are answered without one.
 */
import { Kind, NoSchemaIntrospectionCustomRule, OperationTypeNode, getOperationAST, parse, type DefinitionNode, type DocumentNode, type GraphQLSchema } from 'graphql';
import { createYoga, type Plugin } from 'graphql-yoga';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { tokenExpiresInMs, type Authenticate } from '../http/request-gate.js';
import { clientGoneOf, createContext, type Context, type ContextDependencies } from '../resolvers/context.js';
import { BadUserInputError, classifyError, graphqlErrorBody, INTERNAL_ERROR_MESSAGE, JSON_TYPE, maskGraphQLError, sendGraphQLError, UnauthenticatedError } from '../errors.js';
import { fingerprintOf, idempotencyKeyOf, runIdempotent } from '../idempotency.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { useOperationSpans } from '../tracing.js';
import { useCompiledExecution } from './compiled-execution.js';
import { useGraphiQL } from './graphiql.js';
import { isIntrospectionRequest } from './introspection.js';
import { useOperationLimits } from './operation-limits.js';
import { GRAPHQL_PATH } from '../paths.js';

export interface GraphQLConfig {
  /** Schema introspection, and GraphiQL at /graphql in a browser. */
  introspection: boolean;
  /** Hide "Did you mean …" field suggestions (production). */
  hideSuggestions: boolean;
}

interface ServerContext {
  req: FastifyRequest;
  reply: FastifyReply;
}

export interface GraphQLOptions {
  schema: GraphQLSchema;
  config: GraphQLConfig;
  authenticate: Authenticate;
  contextDependencies: ContextDependencies;
  logger: Logger;
  metrics: Metrics;
  maxBodyBytes: number;
}

export async function useGraphQL(app: FastifyInstance, options: GraphQLOptions): Promise<void> {
  const { schema, config, authenticate, contextDependencies, logger, metrics } = options;
  const graphiql = config.introspection ? useGraphiQL(app, { endpoint: GRAPHQL_PATH, title: 'Task API · GraphiQL', defaultQuery }) : undefined;
  const isPageRequest = (request: FastifyRequest) => graphiql !== undefined && isGraphiQLPageRequest(request);
  const yoga = createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    // Served by ./graphiql.ts, as files rather than one 9 MB page.
    graphiql: false,
    batching: false,
    // Fastify limits the body (and counts it without piping it through a stream).
    maxRequestBodySize: false,
    // Fastify answers CORS (../http/cors.ts) and limits the body.
    cors: false,
    logging: {
      debug: (...args: unknown[]) => logger.debug(args),
      info: (...args: unknown[]) => logger.info(args),
      warn: (...args: unknown[]) => logger.warn(args),
      // Yoga logs each error it masks; ../errors.ts has already logged it at the level it deserves.
      error: (error: unknown) => logger.debug({ err: error }, 'graphql error masked'),
    },
    maskedErrors: { errorMessage: INTERNAL_ERROR_MESSAGE, maskError: (error) => maskGraphQLError(error, logger) },
    context: ({ req }) =>
      createContext(contextDependencies, req.userId, {
        clientGone: clientGoneOf(req),
        transaction: req.idempotent?.transaction,
        tokenExpiresInMs: () => tokenExpiresInMs(req),
      }),
    plugins: [
      ...useOperationLimits({ hideSuggestions: config.hideSuggestions }),
      !config.introspection && disableIntrospection(),
      countOperations(metrics),
      useCompiledExecution(),
      // After graphql-jit's plugin, so that the span is around the execution that plugin chose.
      useOperationSpans(),
    ],
  });

  await app.register((scope, _options, done) => {
    // Fastify bounds the body's size. A JSON object is handed to Yoga parsed (it reads it as is, without
    // its body stream); anything else, malformed JSON included, as bytes for Yoga to judge.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      request.rawBody = body;
      done(null, parsedObjectOr(body as string));
    });
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
      request.rawBody = body;
      done(null, body);
    });
    scope.setErrorHandler((error, _request, reply) => sendGraphQLError(reply, classifyError(error, { logger, maxBodyBytes: options.maxBodyBytes })));
    scope.addHook('onRequest', async (request, reply) => {
      if (isPageRequest(request)) return;
      await (config.introspection ? authenticate.allowingAnonymous(request, reply) : authenticate(request, reply));
    });
    // Without a token (allowed only while introspection is on), a request may only ask about the schema.
    scope.addHook('preHandler', (request, _reply, done) => {
      done(request.userId === null && !isPageRequest(request) && !isIntrospectionRequest(request) ? new UnauthenticatedError() : undefined);
    });
    scope.route({
      method: ['GET', 'POST'],
      url: GRAPHQL_PATH,
      handler: async (request, reply) => {
        if (graphiql !== undefined && isPageRequest(request)) return graphiql.sendPage(request, reply);
        const key = request.method === 'POST' ? idempotencyKeyOf(request.headers) : undefined;
        // The key makes changes safe to retry; a query is safe already, and runs as any other.
        if (key === undefined || !isMutation(request.body)) return answer(request, reply);
        // A keyed mutation: Yoga runs in the key's transaction, and its answer is stored with its writes.
        const fingerprint = fingerprintOf(request.method, request.url, request.rawBody);
        const { idempotencyKeyTtlMs: ttlMs, prisma } = contextDependencies;
        // Yoga's headers go out with its answer (a 503's Retry-After); only the answer's type is stored and replayed.
        let liveHeaders: Record<string, string> = {};
        const { response, replayed } = await runIdempotent(prisma, { userId: request.userId ?? '', key, fingerprint, ttlMs }, async (transaction) => {
          request.idempotent = { transaction };
          const yogaResponse = await yoga.handleNodeRequestAndResponse(request, reply, { req: request, reply });
          const headers: Record<string, string> = {};
          // Yoga's streamed answers keep their names' case (Content-Type).
          yogaResponse.headers.forEach((value, name) => {
            if (name.toLowerCase() !== 'content-length') headers[name.toLowerCase()] = value;
          });
          liveHeaders = headers;
          const type = headers['content-type'] ?? '';
          if (!/^application\/(graphql-response\+)?json/.test(type)) {
            // An event stream or multipart answer cannot be stored whole: nothing is done, and the client is told why.
            await yogaResponse.text();
            liveHeaders = {};
            const error = new BadUserInputError('A request with an Idempotency-Key is answered as JSON: send Accept: application/json');
            return { response: { status: 400, headers: { 'content-type': JSON_TYPE }, body: graphqlErrorBody(error) }, store: false };
          }
          const body = await yogaResponse.text();
          // Stored, with the writes, when the mutation did something; an answer without data says nothing was
          // done, and nothing stays done (a field that wrote before another failed is rolled back).
          const store = yogaResponse.status === 200 && madeChanges(body);
          return { response: { status: yogaResponse.status, headers: { 'content-type': type }, body }, store };
        });
        if (replayed) reply.header('idempotent-replayed', 'true');
        else reply.headers(liveHeaders);
        return reply.code(response.status).headers(response.headers).send(response.body);
      },
    });

    async function answer(request: FastifyRequest, reply: FastifyReply) {
      // HEAD is GET without the body (Fastify drops it); Yoga itself knows only GET and POST.
      const asked = request.method === 'HEAD' ? { method: 'GET', url: request.url, headers: request.headers } : request;
      const response = await yoga.handleNodeRequestAndResponse(asked, reply, { req: request, reply });
      response.headers.forEach((value, name) => {
        reply.header(name, value);
      });
      reply.code(response.status);
      // An ordinary answer is one string; sent as a stream it would be piped through web-stream adapters.
      const streamed = /^(text\/event-stream|multipart\/mixed)/.test(response.headers.get('content-type') ?? '');
      return reply.send(streamed ? response.body : await response.text());
    }
    done();
  });
}

const defaultQuery = `# Task API · GraphiQL
#
# The schema and the Docs pane need no
# token; a query does. Open Headers
# (below) and put in
#
#   {"Authorization": "Bearer <token>"}
#
# (\`npm run token -- alice\` mints one),
# then Run (Ctrl-Enter).
{
  tasks {
    id
    title
    completed
    createdAt
  }
}
`;

function parsedObjectOr(text: string): unknown {
  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0) return value;
  } catch {
    // Yoga answers malformed JSON in its own words.
  }
  return text;
}

/** What Yoga answers with GraphiQL: a browser's GET for a page. */
function isGraphiQLPageRequest(request: FastifyRequest): boolean {
  return (request.method === 'GET' || request.method === 'HEAD') && (request.headers.accept ?? '').includes('text/html');
}

/** Whether a request's body asks for a mutation (an unparsable one is Yoga's to answer). */
function isMutation(body: unknown): boolean {
  const { query, operationName } = (body ?? {}) as { query?: unknown; operationName?: unknown };
  if (typeof query !== 'string') return false;
  try {
    const operation = getOperationAST(parse(query), typeof operationName === 'string' ? operationName : undefined);
    return operation?.operation === OperationTypeNode.MUTATION;
  } catch {
    return false;
  }
}

/** Whether a mutation's answer has data from at least one of its fields (so something was written). */
function madeChanges(body: string): boolean {
  try {
    const { data } = JSON.parse(body) as { data?: Record<string, unknown> | null };
    return data != null && Object.values(data).some((value) => value !== null);
  } catch {
    return false;
  }
}

function disableIntrospection(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}

function countOperations(metrics: Metrics): Plugin {
  return {
    onExecute({ args }) {
      const operation = (args.document as DocumentNode).definitions.find(
        (d: DefinitionNode) => d.kind === Kind.OPERATION_DEFINITION && (!args.operationName || d.name?.value === args.operationName),
      );
      if (operation?.kind === Kind.OPERATION_DEFINITION) metrics.countOperation('graphql', operation.operation, operation.name?.value);
    },
  };
}
