/**
 * GraphQL execution with graphql-jit, for /graphql and the REST routes alike (bench/RESULTS.md has what it
 * saves). Two of graphql-jit's habits would change results, so:
 * - variables are handed over in a null-prototype object: from a plain one, an omitted `$constructor` or
 *   `$toString` would be read from Object.prototype (a function, refused as a String);
 * - a document with a `__proto__` response key runs on graphql-js: graphql-jit drops such a field below
 *   the root.
 * A request graphql-jit cannot run at all (a variable of the wrong type) is a request error, a 400, as on
 * graphql-js.
 */
import { GraphQLError, Kind, visit, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type { Plugin } from 'graphql-yoga';

type Variables = Record<string, unknown>;

/** Compiles `document` (its operation `operationName`), or returns undefined where graphql-js must run it. */
export function compileOperation(schema: GraphQLSchema, document: DocumentNode, operationName?: string): CompiledQuery | undefined {
  if (hasProtoResponseKey(document)) return undefined;
  const compiled = compileQuery(schema, document, operationName);
  return isCompiledQuery(compiled) ? compiled : undefined;
}

/** Runs a compiled operation. */
export function runCompiled(compiled: CompiledQuery, context: unknown, variables: Variables | null | undefined, root?: unknown) {
  const own: Variables = Object.create(null) as Variables;
  if (variables) for (const name of Object.keys(variables)) own[name] = variables[name];
  const result = compiled.query(root, context, own);
  return isPromise(result) ? result.then(asRequestErrors) : asRequestErrors(result);
}

export function useCompiledExecution(): Plugin {
  const cache = new WeakMap<DocumentNode, Map<string, CompiledQuery | null>>();
  return {
    onExecute({ args, setExecuteFn }) {
      const document = args.document as DocumentNode;
      const operationName = (args.operationName as string | null | undefined) ?? undefined;
      let byOperation = cache.get(document);
      if (!byOperation) cache.set(document, (byOperation = new Map<string, CompiledQuery | null>()));
      let compiled = byOperation.get(operationName ?? '');
      if (compiled === undefined) {
        compiled = compileOperation(args.schema as GraphQLSchema, document, operationName) ?? null;
        byOperation.set(operationName ?? '', compiled);
      }
      if (!compiled) return;
      const operation = compiled;
      setExecuteFn((executionArgs) =>
        runCompiled(operation, executionArgs.contextValue, executionArgs.variableValues as Variables | undefined, executionArgs.rootValue),
      );
    },
  };
}

function hasProtoResponseKey(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    [Kind.FIELD](node) {
      if ((node.alias?.value ?? node.name.value) === '__proto__') found = true;
    },
  });
  return found;
}

/** graphql-jit's answer to a request it could not start (no `data`): request errors, with graphql-js's 400. */
function asRequestErrors(result: ExecutionResult): ExecutionResult {
  if ('data' in result || !result.errors) return result;
  return {
    errors: result.errors.map(
      (error) => new GraphQLError(error.message, { nodes: error.nodes, extensions: { ...error.extensions, http: { status: 400 } } }),
    ),
  };
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
