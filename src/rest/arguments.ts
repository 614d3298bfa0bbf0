/**
 * Strict arguments for REST. SOFA coerces JSON values through `serialize()` (so `{"completed": "yes"}` would
 * become `false` and `{"title": 123}` "123"); instead each body value must already have its GraphQL
 * argument's type, checked with graphql-js's own input coercion, or the request is a 422.
 */
import {
  coerceInputValue,
  getNamedType,
  isEnumType,
  isNonNullType,
  isScalarType,
  type GraphQLArgument,
  type GraphQLInputType,
  type GraphQLSchema,
} from 'graphql';
import { UnprocessableEntityError } from '../errors.js';
import type { RestRoute } from './routes.js';

export interface RouteArguments {
  /** Arguments the request body carries (those not in the path). */
  body: readonly GraphQLArgument[];
}

export function routeArguments(schema: GraphQLSchema, route: RestRoute): RouteArguments {
  const [typeName, fieldName] = route.field.split('.') as [string, string];
  const rootType = typeName === 'Query' ? schema.getQueryType() : schema.getMutationType();
  const field = rootType?.getFields()[fieldName];
  if (!field) throw new Error(`REST route ${route.method} ${route.path} names a missing field ${route.field}`);
  const inPath = new Set([...route.path.matchAll(/:(\w+)/g)].map((m) => m[1]));
  return { body: field.args.filter((arg) => !inPath.has(arg.name)) };
}

/** Parses a JSON request body, requiring an object whose values match the route's body arguments. */
export function parseBody(text: string, args: RouteArguments): Record<string, unknown> {
  let body: unknown = {};
  if (text.trim() !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      throw new UnprocessableEntityError('Request body is not valid JSON');
    }
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new UnprocessableEntityError('Request body must be a JSON object');
  }
  const record = body as Record<string, unknown>;
  for (const arg of args.body) {
    const value = Object.hasOwn(record, arg.name) ? record[arg.name] : undefined;
    if (value === undefined) {
      if (isNonNullType(arg.type)) throw new UnprocessableEntityError(`"${arg.name}" is required`);
      continue;
    }
    coerceInputValue(value, arg.type, () => {
      throw new UnprocessableEntityError(`"${arg.name}" must be ${describe(arg.type)}`);
    });
  }
  return record;
}

function describe(type: GraphQLInputType): string {
  const named = getNamedType(type);
  if (isEnumType(named)) return `one of ${named.getValues().map((v) => v.name).join(', ')}`;
  if (isScalarType(named)) {
    const names: Record<string, string> = {
      String: 'a string',
      ID: 'a string',
      Boolean: 'a boolean',
      Int: 'an integer',
      Float: 'a number',
    };
    return names[named.name] ?? `a ${named.name}`;
  }
  return `a ${named.name} object`;
}
