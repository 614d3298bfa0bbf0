/**
 * Limits on the shape of GraphQL operations (GraphQL Armor): depth, aliases, directives, tokens and cost,
 * and no "Did you mean …" field suggestions in production. Armor validates documents as Yoga parses them;
 * SOFA builds its REST operations itself and executes them unvalidated, so the same rules are applied to
 * those documents here, once per document.
 */
import { EnvelopArmor } from '@escape.tech/graphql-armor';
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { validate, type DocumentNode, type GraphQLError, type GraphQLSchema, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { ServerContext } from './server-context.js';

/** The schema is two levels deep; the headroom is for fragments and `__typename`. */
export const operationLimits = {
  maxDepth: 6,
  maxAliases: 10,
  maxDirectives: 10,
  maxTokens: 1000,
  maxCost: 5000,
};

// Armor throws on rejection by default, which skips Yoga's marking of validation errors (400 and
// GRAPHQL_VALIDATION_FAILED); reporting them to the validation context makes them ordinary validation errors.
const report = {
  propagateOnRejection: false,
  onReject: [(ctx: ValidationContext | null, error: GraphQLError) => ctx?.reportError(error)],
};
const rules = [
  maxDepthRule({ n: operationLimits.maxDepth, ...report }),
  maxAliasesRule({ n: operationLimits.maxAliases, ...report }),
  maxDirectivesRule({ n: operationLimits.maxDirectives, ...report }),
  costLimitRule({ maxCost: operationLimits.maxCost, ...report }),
];
const verdicts = new WeakMap<DocumentNode, readonly GraphQLError[]>();

/** Armor's depth, alias, directive and cost rules applied to a parsed document; remembered per document. */
export function operationLimitErrors(schema: GraphQLSchema, document: DocumentNode): readonly GraphQLError[] {
  let errors = verdicts.get(document);
  if (!errors) {
    errors = validate(schema, document, rules);
    verdicts.set(document, errors);
  }
  return errors;
}

export function useOperationLimits({ production }: { production: boolean }): Plugin[] {
  const armor = new EnvelopArmor({
    maxDepth: { n: operationLimits.maxDepth, ...report },
    maxAliases: { n: operationLimits.maxAliases, ...report },
    maxDirectives: { n: operationLimits.maxDirectives, ...report },
    maxTokens: { n: operationLimits.maxTokens },
    costLimit: { maxCost: operationLimits.maxCost, ...report },
    blockFieldSuggestion: { enabled: production },
  });

  const guardRestOperations: Plugin<object, ServerContext> = {
    onExecute({ args, setResultAndStopExecution }) {
      if (!(args.contextValue as ServerContext).restRoute) return;
      const errors = operationLimitErrors(args.schema as GraphQLSchema, args.document as DocumentNode);
      if (errors.length > 0) setResultAndStopExecution({ errors });
    },
  };

  return [...(armor.protect().plugins as Plugin[]), guardRestOperations];
}
