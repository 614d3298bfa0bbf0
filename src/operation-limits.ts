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
import { validate, type DocumentNode, type GraphQLError, type GraphQLSchema } from 'graphql';
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

export function useOperationLimits({ production }: { production: boolean }): Plugin[] {
  const armor = new EnvelopArmor({
    maxDepth: { n: operationLimits.maxDepth },
    maxAliases: { n: operationLimits.maxAliases },
    maxDirectives: { n: operationLimits.maxDirectives },
    maxTokens: { n: operationLimits.maxTokens },
    costLimit: { maxCost: operationLimits.maxCost },
    blockFieldSuggestion: { enabled: production },
  });
  const rules = [
    maxDepthRule({ n: operationLimits.maxDepth }),
    maxAliasesRule({ n: operationLimits.maxAliases }),
    maxDirectivesRule({ n: operationLimits.maxDirectives }),
    costLimitRule({ maxCost: operationLimits.maxCost }),
  ];
  const verdicts = new WeakMap<DocumentNode, readonly GraphQLError[]>();

  const guardRestOperations: Plugin<object, ServerContext> = {
    onExecute({ args, setResultAndStopExecution }) {
      if (!(args.contextValue as ServerContext).restRoute) return;
      const document = args.document as DocumentNode;
      let errors = verdicts.get(document);
      if (!errors) {
        errors = validate(args.schema as GraphQLSchema, document, rules);
        verdicts.set(document, errors);
      }
      if (errors.length > 0) setResultAndStopExecution({ errors });
    },
  };

  return [...(armor.protect().plugins as Plugin[]), guardRestOperations];
}
