/**
 * The GraphQL server: graphql-yoga over the schema, with GraphQL Armor's limits, error masking, graphql-jit,
 * tracing spans, operation counts and Idempotency-Key on mutations (./idempotent-mutations.ts). Served
 * over HTTP by ./route.ts.
 */
import { Kind, type DefinitionNode, type DocumentNode, type GraphQLSchema } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { tokenExpiresInMs } from '../http/request-gate.js';
import { createContext, type Context, type ContextDependencies } from '../resolvers/context.js';
import { clientGoneOf } from '../http/client-gone.js';
import { INTERNAL_ERROR_MESSAGE, maskGraphQLError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { useOperationSpans } from '../tracing.js';
import { useCompiledExecution } from './compiled-execution.js';
import { useIdempotentMutations, type IdempotentMutations, type ServerContext } from './idempotent-mutations.js';
import { disableIntrospection } from './introspection.js';
import { useOperationLimits } from './operation-limits.js';
import { GRAPHQL_PATH } from '../paths.js';

export interface GraphQLConfig {
  /** Schema introspection, and GraphiQL at /graphql in a browser. */
  introspection: boolean;
  /** Hide "Did you mean …" field suggestions (production). */
  hideSuggestions: boolean;
}

export interface GraphQLServerOptions {
  schema: GraphQLSchema;
  config: GraphQLConfig;
  contextDependencies: ContextDependencies;
  logger: Logger;
  metrics: Metrics;
}

export interface GraphQLServer {
  yoga: YogaServerInstance<ServerContext, Context>;
  /** Keyed mutations' answers, sent instead of Yoga's, and their transactions, settled after it. */
  idempotentMutations: IdempotentMutations;
}

export function createGraphQLServer(options: GraphQLServerOptions): GraphQLServer {
  const { schema, config, contextDependencies, logger, metrics } = options;
  const idempotentMutations = useIdempotentMutations({
    prisma: contextDependencies.prisma,
    ttlMs: contextDependencies.idempotencyKeyTtlMs,
  });
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
        tokenExpiresInMs: () => tokenExpiresInMs(req),
        onWrite: () => (req.wrote = true),
      }),
    plugins: [
      ...useOperationLimits({ hideSuggestions: config.hideSuggestions }),
      !config.introspection && disableIntrospection(),
      // First to see an execution: a replayed or refused keyed mutation stops there, neither counted nor
      // traced (it is not run), and a live one's resolvers get the key's transaction as `prisma`.
      idempotentMutations.plugin,
      countOperations(metrics),
      useCompiledExecution(),
      // After graphql-jit's plugin, so that the span is around the execution that plugin chose.
      useOperationSpans(),
    ],
  });
  return { yoga, idempotentMutations };
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
