/**
 * Which requests only ask about the schema: those may be answered without a token while introspection
 * is on, so GraphiQL (and codegen tools) can load the schema before anyone has pasted a token.
 */
import {
  Kind,
  NoSchemaIntrospectionCustomRule,
  OperationTypeNode,
  getOperationAST,
  parse,
  type DocumentNode,
  type FragmentDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { FastifyRequest } from 'fastify';
import type { Plugin } from 'graphql-yoga';
import { operationLimits } from './operation-limits.js';

const INTROSPECTION_FIELDS = new Set(['__schema', '__type', '__typename']);

/** Whether a /graphql request (GET's query string or a JSON body) is a query whose every root field is introspection. */
export function isIntrospectionRequest(request: FastifyRequest): boolean {
  const params = (request.method === 'POST' ? request.body : request.query) as { query?: unknown; operationName?: unknown } | null;
  if (params === null || typeof params !== 'object' || typeof params.query !== 'string') return false;
  let document: DocumentNode;
  try {
    document = parse(params.query, { maxTokens: operationLimits.maxTokens });
  } catch {
    return false;
  }
  return isIntrospectionOnly(document, typeof params.operationName === 'string' ? params.operationName : undefined);
}

/** Every root field of the operation (through fragments spread at the root) is `__schema`, `__type` or `__typename`. */
function isIntrospectionOnly(document: DocumentNode, operationName?: string): boolean {
  const operation = getOperationAST(document, operationName);
  if (operation?.operation !== OperationTypeNode.QUERY) return false;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const seen = new Set<string>();
  const onlyIntrospection = (selectionSet: SelectionSetNode): boolean =>
    selectionSet.selections.every((selection) => {
      if (selection.kind === Kind.FIELD) return INTROSPECTION_FIELDS.has(selection.name.value);
      if (selection.kind === Kind.INLINE_FRAGMENT) return onlyIntrospection(selection.selectionSet);
      const name = selection.name.value;
      // A spread seen before has been checked (or is a cycle, which validation refuses anyway).
      if (seen.has(name)) return true;
      seen.add(name);
      const fragment = fragments.get(name);
      return fragment !== undefined && onlyIntrospection(fragment.selectionSet);
    });
  return onlyIntrospection(operation.selectionSet);
}

/** Refuses introspection (validation fails): while introspection is off. */
export function disableIntrospection(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}
