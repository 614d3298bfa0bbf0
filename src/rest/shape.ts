/**
 * Response shaping for REST: the frontend reads snake_case keys (`user_id`), GraphQL fields are camelCase
 * (`userId`). The derived operations alias every such field below the root, so GraphQL itself returns the
 * REST shape and the result is serialised as it comes. A task's version is not in the REST JSON (it keeps
 * the six keys the frontend knows): it travels in the ETag header, and `expectedVersion` in If-Match.
 */
import { Kind, visit, type ASTNode, type DocumentNode, type FieldNode } from 'graphql';

export function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** `{ task { userId } }` → `{ task { user_id: userId } }`; the root field keeps its name (the result's key). */
export function withSnakeCaseAliases(document: DocumentNode): DocumentNode {
  return visit(document, {
    Field(node: FieldNode, _key, _parent, _path, ancestors: readonly (ASTNode | readonly ASTNode[])[]) {
      const isRoot = !ancestors.some((ancestor) => 'kind' in ancestor && ancestor.kind === Kind.FIELD);
      const snake = snakeCase(node.name.value);
      if (isRoot || node.alias || snake === node.name.value) return undefined;
      return { ...node, alias: { kind: Kind.NAME, value: snake } };
    },
  });
}

/** GraphQL names that REST carries in headers rather than in JSON. */
export const REST_ONLY_IN_HEADERS = { version: 'version', expectedVersion: 'expectedVersion' } as const;

/** The document without the named fields anywhere below the root. */
export function withoutFields(document: DocumentNode, names: readonly string[]): DocumentNode {
  const drop = new Set(names);
  return visit(document, {
    Field(node: FieldNode, _key, _parent, _path, ancestors: readonly (ASTNode | readonly ASTNode[])[]) {
      const isRoot = !ancestors.some((ancestor) => 'kind' in ancestor && ancestor.kind === Kind.FIELD);
      return !isRoot && drop.has(node.name.value) ? null : undefined;
    },
  });
}
