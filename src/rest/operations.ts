/**
 * The REST routes' GraphQL operations, derived from the schema once at start-up: SOFA's model analysis
 * (`createSofa`) and the operation its router builds for each root field (`buildOperationNodeForField`),
 * aliased to the REST shape (./shape.ts), held to the same operation limits as /graphql, and compiled with
 * graphql-jit (../graphql/compiled-execution.ts). A request then runs its route's compiled operation directly, with the resolvers and context
 * /graphql uses: no second router, no document to parse or validate per request.
 */
import { buildOperationNodeForField } from '@graphql-tools/utils';
import { Kind, OperationTypeNode, type DocumentNode, type ExecutionResult, type GraphQLArgument, type GraphQLSchema } from 'graphql';
import { createSofa } from 'sofa-api';
import type { Context } from '../resolvers/context.js';
import { compileOperation, runCompiled } from '../graphql/compiled-execution.js';
import { operationLimitErrors } from '../graphql/operation-limits.js';
import { REST_BASE_PATH } from '../paths.js';
import type { ListRoot } from '../resolvers/task-list.js';
import { operationRoutes, pathParameters, sofaRouteConfig, type RestRoute } from './routes.js';
import { REST_ONLY_IN_HEADERS, withoutFields, withSnakeCaseAliases } from './shape.js';

export interface RestOperation {
  route: RestRoute;
  kind: OperationTypeNode;
  /** The operation's name as SOFA derives it (`task_query`), for metrics. */
  name: string;
  /** The root field, and the key of its result in `data`. */
  field: string;
  document: DocumentNode;
  /** Arguments taken from the path (`:id`). */
  pathArguments: readonly string[];
  /** Arguments taken from the JSON body (POST, PUT, PATCH) or else from the query string. */
  inputArguments: readonly GraphQLArgument[];
  inputFrom: 'body' | 'query';
  /** Runs the operation; `root` is its root value (a list's ListRoot, ../resolvers/task-list.ts). */
  execute(context: Context, variables: Record<string, unknown>, root?: ListRoot): Promise<ExecutionResult> | ExecutionResult;
}

export function deriveRestOperations(schema: GraphQLSchema): RestOperation[] {
  const sofa = createSofa({ schema, basePath: REST_BASE_PATH, routes: sofaRouteConfig() });
  return operationRoutes.map((route) => {
    const [typeName, field] = route.field.split('.') as ['Query' | 'Mutation', string];
    const kind = typeName === 'Query' ? OperationTypeNode.QUERY : OperationTypeNode.MUTATION;
    const rootField = (kind === OperationTypeNode.QUERY ? schema.getQueryType() : schema.getMutationType())?.getFields()[field];
    if (!rootField) throw new Error(`REST route ${route.method} ${route.path} names a missing field ${route.field}`);
    const operation = buildOperationNodeForField({
      schema,
      kind,
      field,
      models: sofa.models,
      ignore: sofa.ignore,
      circularReferenceDepth: sofa.depthLimit,
    });
    // A list needs no versions (its ETag is the user's change counter); one task's becomes its ETag.
    const aliased = withSnakeCaseAliases({ kind: Kind.DOCUMENT, definitions: [operation] });
    const document = route.paged ? withoutFields(aliased, [REST_ONLY_IN_HEADERS.version]) : aliased;
    const name = operation.name?.value ?? field;
    const limitErrors = operationLimitErrors(schema, document);
    if (limitErrors.length > 0)
      throw new Error(`REST route ${route.method} ${route.path}: ${limitErrors.map((e) => e.message).join('; ')}`);
    const compiled = compileOperation(schema, document, name);
    if (!compiled) throw new Error(`REST route ${route.method} ${route.path}: graphql-jit cannot compile its operation`);
    const inPath = new Set(pathParameters(route));
    return {
      route,
      kind,
      name,
      field,
      document,
      pathArguments: [...inPath],
      // expectedVersion comes from If-Match.
      inputArguments: rootField.args.filter((arg) => !inPath.has(arg.name) && arg.name !== REST_ONLY_IN_HEADERS.expectedVersion),
      inputFrom: route.method === 'POST' || route.method === 'PUT' || route.method === 'PATCH' ? 'body' : 'query',
      execute: (context, variables, root) => runCompiled(compiled, context, variables, root),
    };
  });
}
