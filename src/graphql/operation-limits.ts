/**
 * Limits on the shape of GraphQL operations (GraphQL Armor): depth, aliases, directives, tokens and cost,
 * and no "Did you mean …" field suggestions in production. Armor validates documents as Yoga parses them;
 * the REST routes' derived operations are held to the same rules once, at start-up (../rest/operations.ts).
 */
import { EnvelopArmor } from '@escape.tech/graphql-armor';
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { validate, type DocumentNode, type GraphQLError, type GraphQLSchema, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';

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
/** Armor's depth, alias, directive and cost rules applied to a parsed document. */
export function operationLimitErrors(schema: GraphQLSchema, document: DocumentNode): readonly GraphQLError[] {
  return validate(schema, document, rules);
}

export function useOperationLimits({ hideSuggestions }: { hideSuggestions: boolean }): Plugin[] {
  const armor = new EnvelopArmor({
    maxDepth: { n: operationLimits.maxDepth, ...report },
    maxAliases: { n: operationLimits.maxAliases, ...report },
    maxDirectives: { n: operationLimits.maxDirectives, ...report },
    maxTokens: { n: operationLimits.maxTokens },
    costLimit: { maxCost: operationLimits.maxCost, ...report },
    blockFieldSuggestion: { enabled: hideSuggestions },
  });

  return armor.protect().plugins as Plugin[];
}
