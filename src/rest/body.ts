/**
 * REST request bodies: read with a size limit (413), then parsed strictly. SOFA coerces JSON values through
 * `serialize()` (so `{"completed": "yes"}` would become `false` and `{"title": 123}` "123"); instead each body
 * value must already have its GraphQL argument's type, checked with graphql-js's own input coercion, or the
 * request is a 422.
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
import { BadUserInputError, PayloadTooLargeError, UnprocessableEntityError } from '../errors.js';
import { pathParameters, type RestRoute } from './routes.js';

export interface RouteArguments {
  /** Arguments not in the path: from the JSON body (POST, PUT, PATCH) or the query string (GET, DELETE). */
  rest: readonly GraphQLArgument[];
}

export function routeArguments(schema: GraphQLSchema, route: RestRoute): RouteArguments {
  const [typeName, fieldName] = route.field.split('.') as [string, string];
  const rootType = typeName === 'Query' ? schema.getQueryType() : schema.getMutationType();
  const field = rootType?.getFields()[fieldName];
  if (!field) throw new Error(`REST route ${route.method} ${route.path} names a missing field ${route.field}`);
  const inPath = new Set(pathParameters(route));
  return { rest: field.args.filter((arg) => !inPath.has(arg.name)) };
}

/** The request body as text, refusing more than `limitBytes` whether or not Content-Length says so. */
export async function readBodyText(request: Request, limitBytes: number): Promise<string> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limitBytes) throw new PayloadTooLargeError(limitBytes);
  if (request.body === null) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limitBytes) {
      await reader.cancel();
      throw new PayloadTooLargeError(limitBytes);
    }
    chunks.push(value);
  }
  try {
    return utf8.decode(Buffer.concat(chunks));
  } catch {
    throw new UnprocessableEntityError('Request body is not valid UTF-8');
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses a JSON request body, requiring an object whose values match the route's body arguments, and returns
 * just those arguments (other fields are ignored, however large or deep).
 */
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
  const known: Record<string, unknown> = {};
  for (const arg of args.rest) {
    const value = Object.hasOwn(record, arg.name) ? record[arg.name] : undefined;
    if (value === undefined) {
      if (isNonNullType(arg.type)) throw new UnprocessableEntityError(`"${arg.name}" is required`);
      continue;
    }
    coerceInputValue(value, arg.type, () => {
      throw new UnprocessableEntityError(`"${arg.name}" must be ${describe(arg.type)}`);
    });
    known[arg.name] = value;
  }
  return known;
}

/**
 * Checks the query string of a GET or DELETE route: each argument at most once and of its type (`limit=abc`,
 * `completed=yes` are 400s, not silently coerced). Returns the query string of just those arguments:
 * other parameters are ignored, including `limit[]=5` and `limit[a]=1`, which SOFA's query parser (qs)
 * would otherwise read as an array or object for `limit`.
 */
export function checkQuery(search: URLSearchParams, args: RouteArguments): URLSearchParams {
  const known = new URLSearchParams();
  for (const arg of args.rest) {
    const values = search.getAll(arg.name);
    if (values.length === 0) continue;
    if (values.length > 1) throw new BadUserInputError(`"${arg.name}" must be given once`);
    const raw = values[0] ?? '';
    const named = getNamedType(arg.type);
    let value: unknown = raw;
    if (named.name === 'Int' || named.name === 'Float') value = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
    if (named.name === 'Boolean') value = raw === 'true' ? true : raw === 'false' ? false : raw;
    coerceInputValue(value, arg.type, () => {
      throw new BadUserInputError(`"${arg.name}" must be ${named.name === 'Boolean' ? 'true or false' : describe(arg.type)}`);
    });
    known.set(arg.name, raw);
  }
  return known;
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
