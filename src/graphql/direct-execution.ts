/**
 * The common GraphQL request run through Yoga's envelop pipeline straight from the Fastify route, without
 * Yoga's fetch-API adapter: a POST of a JSON object `{query, variables?, operationName?}` that asks for a
 * JSON answer, runs a query or a mutation, and carries no Idempotency-Key. For it, Yoga's adapter would
 * build a Fetch Request from the Node one, parse its parameters again, negotiate the answer's type and
 * build a Fetch Response that the route then reads back; here the same plugins (GraphQL Armor's limits,
 * the parse and validation caches, error masking, graphql-jit, tracing, operation counts) run on the
 * request as Fastify has it, and the answer is Yoga's own (`processRegularResult`: status, headers, body).
 *
 * Anything else takes Yoga's whole path (./route.ts), and so does a request this path finds it would answer
 * with an error before executing (unparsable, over a limit, invalid): those run nothing, so Yoga can start
 * them again and answer in its own words. What is left to answer here is only what execution returns,
 * which Yoga would have answered with the same `processRegularResult`.
 */
import { OperationTypeNode, getOperationAST, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { processRegularResult, type YogaServerInstance } from 'graphql-yoga';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../resolvers/context.js';
import type { ServerContext } from './idempotent-mutations.js';

/** An answer as Yoga would have sent it. */
export interface DirectAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

interface Params {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
}

type RegularMediaType = 'application/json' | 'application/graphql-response+json';

/**
 * Returns a function that answers `request` directly, or resolves to undefined where Yoga must (nothing has
 * run then).
 */
export function directExecution(yoga: YogaServerInstance<ServerContext, Context>) {
  const mediaTypes = new Map<string, RegularMediaType | null>();
  /** The answer's type Yoga would choose for a result that is not a stream, or null for a stream or a 406. */
  const answerTypeOf = (accept: string): RegularMediaType | null => {
    let type = mediaTypes.get(accept);
    if (type === undefined) {
      type = regularMediaTypeFor(accept);
      // A bounded cache: clients send few distinct Accept headers; a client that varies it just misses.
      if (mediaTypes.size < 100) mediaTypes.set(accept, type);
    }
    return type;
  };

  return async (request: FastifyRequest, reply: FastifyReply): Promise<DirectAnswer | undefined> => {
    const params = plainParams(request.body);
    if (params === undefined) return undefined;
    const mediaType = answerTypeOf(request.headers.accept ?? '*/*');
    if (mediaType === null) return undefined;
    // What Yoga's request holds that its plugins read on this path (the method, to refuse a mutation by GET).
    const fetchRequest = { method: 'POST', url: request.url, headers: NO_HEADERS };
    const serverContext = { req: request, reply, request: fetchRequest, params };
    const enveloped = yoga.getEnveloped(serverContext);
    const schema = enveloped.schema as GraphQLSchema;
    let document: DocumentNode;
    try {
      document = enveloped.parse(params.query) as DocumentNode;
      const errors = enveloped.validate(schema, document) as readonly unknown[];
      if (errors.length > 0) return undefined;
    } catch {
      return undefined;
    }
    const operation = getOperationAST(document, params.operationName);
    if (operation == null || operation.operation === OperationTypeNode.SUBSCRIPTION) return undefined;
    const contextValue = await enveloped.contextFactory();
    const result = (await enveloped.execute({
      schema,
      document,
      contextValue,
      variableValues: params.variables,
      operationName: params.operationName,
    })) as ExecutionResult;
    let answer: DirectAnswer | undefined;
    // Yoga's own answer to a result, built by a "Response" that only keeps what it is given.
    function Response(body: string, init: { status: number; headers: Record<string, string> }) {
      answer = { status: init.status, headers: init.headers, body };
    }
    processRegularResult(result, { Response } as unknown as Parameters<typeof processRegularResult>[1], mediaType);
    return answer;
  };
}

const NO_HEADERS = new Headers();
const PARAM_NAMES = new Set(['query', 'variables', 'operationName']);

/** `{query, variables?, operationName?}` with the types Yoga accepts (else undefined: Yoga judges it). */
function plainParams(body: unknown): Params | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body) || Buffer.isBuffer(body)) return undefined;
  const params = body as Record<string, unknown>;
  for (const name in params) if (!PARAM_NAMES.has(name)) return undefined;
  const { query, variables, operationName } = params;
  if (typeof query !== 'string') return undefined;
  if (variables != null && (typeof variables !== 'object' || Array.isArray(variables))) return undefined;
  if (operationName != null && typeof operationName !== 'string') return undefined;
  return params as unknown as Params;
}

/**
 * The media type Yoga's result processors (graphql-yoga's use-result-processor) settle on for a result that
 * is not a stream: the last match over [event stream, multipart, JSON] × the Accept header's types in
 * reverse × each processor's types. Null unless it is one of the JSON types.
 */
function regularMediaTypeFor(accept: string): RegularMediaType | null {
  const requested: string[] = [];
  for (const entry of accept.replace(/\s/g, '').toLowerCase().split(',')) {
    const [type, ...parameters] = entry.split(';');
    if (type === undefined) continue;
    const charset = parameters.find((parameter) => parameter.includes('charset=')) ?? 'charset=utf-8';
    if (charset === 'charset=utf-8') requested.push(type);
  }
  requested.reverse();
  let chosen: string | null = null;
  for (const processorTypes of [['text/event-stream'], ['multipart/mixed'], ['application/graphql-response+json', 'application/json']]) {
    for (const asked of requested) {
      for (const processorType of processorTypes) if (matches(processorType, asked)) chosen = processorType;
    }
  }
  return chosen === 'application/json' || chosen === 'application/graphql-response+json' ? chosen : null;
}

function matches(processorType: string, asked: string): boolean {
  const [processorMain, processorSub] = processorType.split('/');
  const [main, sub] = asked.split('/');
  return (main === '*' || main === processorMain) && (sub === '*' || sub === processorSub);
}
