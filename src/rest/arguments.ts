/**
 * A REST route's arguments, checked strictly. Each body value must already have its GraphQL argument's
 * type, checked with graphql-js's own input coercion, or the request is a 422 (`{"completed": "yes"}` is
 * not `false`, `{"title": 123}` is not "123"); query parameters of the list are each given at most once
 * and of their type, or it is a 400. Anything else in the body or the query string is ignored.
 */
import {
  coerceInputValue,
  getNamedType,
  isEnumType,
  isNonNullType,
  isScalarType,
  type GraphQLArgument,
  type GraphQLInputType,
} from 'graphql';
import { BadUserInputError, UnprocessableEntityError, UnsupportedMediaTypeError } from '../errors.js';

type Values = Record<string, unknown>;

const JSON_CONTENT_TYPE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A request body as JSON: a declared type must be JSON even with no body, an undeclared one is fine only
 * with no body (415); the bytes must be UTF-8 and JSON (422).
 */
export function parseJsonBody(contentType: string | undefined, body: Buffer): unknown {
  if (contentType === undefined ? body.length > 0 : !JSON_CONTENT_TYPE.test(contentType)) throw new UnsupportedMediaTypeError();
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new UnprocessableEntityError('Request body is not valid UTF-8');
  }
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UnprocessableEntityError('Request body is not valid JSON');
  }
}

/** The route's body arguments from a parsed body, which must be a JSON object. */
export function bodyArguments(body: unknown, args: readonly GraphQLArgument[], into: Values): Values {
  // No body at all reads as {}: then a required argument is missing.
  const record = body === undefined ? {} : body;
  if (record === null || typeof record !== 'object' || Array.isArray(record))
    throw new UnprocessableEntityError('Request body must be a JSON object');
  for (const arg of args) {
    const value = Object.hasOwn(record, arg.name) ? (record as Values)[arg.name] : undefined;
    if (value === undefined) {
      if (isNonNullType(arg.type)) throw new UnprocessableEntityError(`"${arg.name}" is required`);
      continue;
    }
    coerceInputValue(value, arg.type, () => {
      throw new UnprocessableEntityError(`"${arg.name}" must be ${describe(arg.type)}`);
    });
    into[arg.name] = value;
  }
  return into;
}

/**
 * The route's arguments from a query string, each at most once and of its type (`limit=abc` and
 * `completed=yes` are 400s). Other parameters are ignored, including `limit[]=5` and `limit[a]=1`.
 */
export function queryArguments(search: URLSearchParams, args: readonly GraphQLArgument[], into: Values): Values {
  for (const arg of args) {
    const values = search.getAll(arg.name);
    if (values.length === 0) continue;
    if (values.length > 1) throw new BadUserInputError(`"${arg.name}" must be given once`);
    const raw = values[0] ?? '';
    const named = getNamedType(arg.type);
    let value: unknown = raw;
    if (named.name === 'Int' || named.name === 'Float') value = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
    if (named.name === 'Boolean') value = raw === 'true' ? true : raw === 'false' ? false : raw;
    into[arg.name] = coerceInputValue(value, arg.type, () => {
      throw new BadUserInputError(`"${arg.name}" must be ${named.name === 'Boolean' ? 'true or false' : describe(arg.type)}`);
    });
  }
  return into;
}

function describe(type: GraphQLInputType): string {
  const named = getNamedType(type);
  if (isEnumType(named))
    return `one of ${named
      .getValues()
      .map((v) => v.name)
      .join(', ')}`;
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
