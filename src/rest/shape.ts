/**
 * Response shaping for REST: the frontend reads snake_case keys (`user_id`), GraphQL fields are camelCase
 * (`userId`). The derived operations alias every such field below the root, so GraphQL itself returns the
 * REST shape and the result is serialised as it comes. A task's version is not in the REST JSON (it keeps
 * the six keys the frontend knows): it travels in the ETag header, and `expectedVersion` in If-Match.
 */
import {
  Kind,
  getNamedType,
  isLeafType,
  isObjectType,
  visit,
  type ASTNode,
  type DocumentNode,
  type FieldNode,
  type GraphQLSchema,
} from 'graphql';

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

/** A type's fields as REST shows them: the snake_case key of each, and the GraphQL field it comes from (not those in headers). */
function restFields(schema: GraphQLSchema, typeName: string): { key: string; field: string; serialize: (value: unknown) => unknown }[] {
  const type = schema.getType(typeName);
  if (!isObjectType(type)) throw new Error(`${typeName} is not an object type`);
  const headerOnly = new Set<string>(Object.values(REST_ONLY_IN_HEADERS));
  return Object.values(type.getFields())
    .filter((field) => !headerOnly.has(field.name))
    .map((field) => {
      const named = getNamedType(field.type);
      if (!isLeafType(named)) throw new Error(`${typeName}.${field.name}: only scalar fields can be shaped outside an operation`);
      return {
        key: snakeCase(field.name),
        field: field.name,
        serialize: (value: unknown) => (value == null ? null : named.serialize(value)),
      };
    });
}

/**
 * Shapes an object that has the type's fields (a task from the change log) as a REST answer shows it, with
 * the same keys, order and scalar serialisation as the derived operations' results: the event stream's
 * task is the routes' task, and a field added to the type is in both.
 */
export function restShaper(schema: GraphQLSchema, typeName: string): (value: object) => Record<string, unknown> {
  const fields = restFields(schema, typeName);
  return (value) => {
    const source = value as Record<string, unknown>;
    const shaped: Record<string, unknown> = {};
    for (const { key, field, serialize } of fields) shaped[key] = serialize(source[field]);
    return shaped;
  };
}
