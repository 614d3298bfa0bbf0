/**
 * The GraphQL face: the server of ./yoga.ts at /graphql, mounted in Fastify as Yoga documents it
 * (`handleNodeRequestAndResponse`), with GraphiQL. A request without a valid bearer token is answered 401
 * (over its rate, 429) before Yoga parses or validates anything; while introspection is on, the page
 * GraphiQL (./graphiql.ts) and a request with no Authorization header that only introspects
 * (./introspection.ts) are answered without one.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticate } from '../http/request-gate.js';
import { classifyError, sendGraphQLError, UnauthenticatedError } from '../errors.js';
import { idempotencyKeyOf } from '../idempotency.js';
import { useGraphiQL } from './graphiql.js';
import type { KeyedAnswer } from './idempotent-mutations.js';
import { isIntrospectionRequest } from './introspection.js';
import { GRAPHQL_PATH } from '../paths.js';
import { createGraphQLServer, type GraphQLServerOptions } from './yoga.js';
import { directExecution } from './direct-execution.js';

export interface GraphQLOptions extends GraphQLServerOptions {
  authenticate: Authenticate;
  maxBodyBytes: number;
}

export async function useGraphQL(app: FastifyInstance, options: GraphQLOptions): Promise<void> {
  const { config, authenticate, logger } = options;
  const graphiql = config.introspection
    ? useGraphiQL(app, { endpoint: GRAPHQL_PATH, title: 'Task API · GraphiQL', defaultQuery })
    : undefined;
  const isPageRequest = (request: FastifyRequest) => graphiql !== undefined && isGraphiQLPageRequest(request);
  const { yoga, idempotentMutations } = createGraphQLServer(options);
  const direct = directExecution(yoga);

  await app.register((scope, _options, done) => {
    // Fastify bounds the body's size. A JSON object is handed to Yoga parsed (it reads it as is, without
    // its body stream); anything else, malformed JSON included, as bytes for Yoga to judge. The bytes as
    // they came are kept for an Idempotency-Key's fingerprint.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      request.rawBody = body;
      done(null, parsedObjectOr(body as string));
    });
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
      request.rawBody = body;
      done(null, body);
    });
    scope.setErrorHandler((error, _request, reply) =>
      sendGraphQLError(reply, classifyError(error, { logger, maxBodyBytes: options.maxBodyBytes })),
    );
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
        if (request.method === 'POST') {
          // A malformed key is a 400 whatever the request asks; a well-formed one is ./idempotent-mutations.ts's.
          if (idempotencyKeyOf(request.headers) === undefined) {
            const answer = await direct(request, reply);
            if (answer !== undefined) return reply.code(answer.status).headers(answer.headers).send(answer.body);
          }
        }
        // HEAD is GET without the body (Fastify drops it); Yoga itself knows only GET and POST.
        const asked = request.method === 'HEAD' ? { method: 'GET', url: request.url, headers: request.headers } : request;
        let response: Response;
        try {
          response = await yoga.handleNodeRequestAndResponse(asked, reply, { req: request, reply });
        } finally {
          // A keyed mutation's run has ended as Yoga answered (./idempotent-mutations.ts); if Yoga failed
          // before that, it is rolled back here, so that no transaction is ever left open.
          const settling = idempotentMutations.settle(request);
          if (settling) await settling;
        }
        const keyed = idempotentMutations.answerOf(request);
        if (keyed !== undefined) return sendKeyed(reply, keyed);
        response.headers.forEach((value, name) => {
          reply.header(name, value);
        });
        reply.code(response.status);
        // An ordinary answer is one string; sent as a stream it would be piped through web-stream adapters.
        const streamed = /^(text\/event-stream|multipart\/mixed)/.test(response.headers.get('content-type') ?? '');
        return reply.send(streamed ? response.body : await response.text());
      },
    });
    done();
  });
}

/** A keyed mutation's answer: a replay (marked) or a refusal, or the live answer with Yoga's headers. */
function sendKeyed(reply: FastifyReply, keyed: KeyedAnswer): FastifyReply {
  if ('error' in keyed) throw keyed.error;
  const { response, replayed } = keyed;
  if (replayed) {
    reply.header('idempotent-replayed', 'true');
    // The write it replays may be newer than what a replica has: the client's reads wait for it as for their own.
    reply.request.wrote = true;
  }
  return reply.code(response.status).headers(response.headers).send(response.body);
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
