/**
 * The one error exit. Error classes with stable codes, the code → HTTP status table, `classifyError` (what
 * any thrown thing means to a client), and the two renderings: `{"detail","code"}` for REST and every
 * non-GraphQL path, `{"errors":[…]}` for /graphql (the same code in `extensions.code`). Nothing else
 * decides an error's status or writes an error body.
 */
import type { FastifyReply } from 'fastify';
import { GraphQLError, locatedError } from 'graphql';
import { isDatabaseUnavailable } from './database-errors.js';
import type { Logger } from './logger.js';

/** Stable error codes (REST's `code`, GraphQL's `extensions.code`) and the HTTP status each one means. */
export const httpStatusByCode = {
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  QUOTA_EXCEEDED: 409,
  IDEMPOTENCY_KEY_IN_PROGRESS: 409,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNPROCESSABLE_ENTITY: 422,
  IDEMPOTENCY_KEY_REUSED: 422,
  PRECONDITION_REQUIRED: 428,
  RATE_LIMITED: 429,
  HEADERS_TOO_LARGE: 431,
  /** nginx's code for a client that went away before its answer; it never sees it. */
  CLIENT_CLOSED_REQUEST: 499,
  INTERNAL_SERVER_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof httpStatusByCode;

/** Every code, in the table's order: REST's `code` and GraphQL's `extensions.code` are always one of these. */
export const ERROR_CODES = Object.keys(httpStatusByCode) as ErrorCode[];

/** The generic code for each status (the first listed), for the 4xx errors Fastify or Node raise. */
const codeByStatus = new Map<number, ErrorCode>(
  Object.entries(httpStatusByCode)
    .reverse()
    .map(([code, status]) => [status, code as ErrorCode]),
);

export const INTERNAL_ERROR_MESSAGE = 'Internal server error';

export const JSON_TYPE = 'application/json; charset=utf-8';

export class AppError extends GraphQLError {
  readonly code: ErrorCode;
  /** Response headers this error asks for: a challenge with a 401, `Allow` with a 405, a retry hint with a 503. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(message: string, code: ErrorCode, headers: Record<string, string> = {}) {
    // Expected outcomes (a 404, a bad title) need no stack trace, and capturing one is most of their cost.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    // On /graphql a field error leaves the answer a 200 with partial data, except "unavailable": `http` is
    // what Yoga reads to make the whole answer a 503 with Retry-After (and strips from the body).
    const http = code === 'SERVICE_UNAVAILABLE' ? { http: { status: httpStatusByCode[code], headers } } : {};
    super(message, { extensions: { code, ...http } });
    Error.stackTraceLimit = stackTraceLimit;
    this.code = code;
    this.headers = headers;
  }

  get status(): number {
    return httpStatusByCode[this.code];
  }
}

export class BadUserInputError extends AppError {
  constructor(message: string) {
    super(message, 'BAD_USER_INPUT');
  }
}

export class UnauthenticatedError extends AppError {
  constructor(message = 'Not authenticated', challenge = 'Bearer') {
    super(message, 'UNAUTHENTICATED', { 'www-authenticate': challenge });
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'You do not have access to this task') {
    super(message, 'FORBIDDEN');
  }
}

export class NotFoundError extends AppError {
  constructor(message = 'Task not found') {
    super(message, 'NOT_FOUND');
  }
}

export class MethodNotAllowedError extends AppError {
  constructor(allow: readonly string[]) {
    super('Method Not Allowed', 'METHOD_NOT_ALLOWED', { allow: allow.join(', ') });
  }
}

class PayloadTooLargeError extends AppError {
  constructor(limitBytes: number) {
    super(`Request body is larger than ${limitBytes} bytes`, 'PAYLOAD_TOO_LARGE');
  }
}

export class UnsupportedMediaTypeError extends AppError {
  constructor(message = 'Content-Type must be application/json') {
    super(message, 'UNSUPPORTED_MEDIA_TYPE');
  }
}

export class UnprocessableEntityError extends AppError {
  constructor(message: string) {
    super(message, 'UNPROCESSABLE_ENTITY');
  }
}

export class QuotaExceededError extends AppError {
  constructor(message = 'Task limit reached') {
    super(message, 'QUOTA_EXCEEDED');
  }
}

/** An If-Match (or `expectedVersion`) that names another version of the task: nothing was changed. */
export class PreconditionFailedError extends AppError {
  constructor(message = 'The task has changed since you read it: fetch it again and retry with its new ETag') {
    super(message, 'PRECONDITION_FAILED');
  }
}

/** REQUIRE_IF_MATCH is on and a change came without If-Match (or `expectedVersion`). */
export class PreconditionRequiredError extends AppError {
  constructor(message = 'This server requires If-Match (REST) or expectedVersion (GraphQL) on every change') {
    super(message, 'PRECONDITION_REQUIRED');
  }
}

export class IdempotencyKeyInProgressError extends AppError {
  constructor() {
    super('A request with this Idempotency-Key is in progress', 'IDEMPOTENCY_KEY_IN_PROGRESS');
  }
}

export class IdempotencyKeyReusedError extends AppError {
  constructor() {
    super('Idempotency-Key was used for a different request', 'IDEMPOTENCY_KEY_REUSED');
  }
}

export class RateLimitedError extends AppError {
  /** `headers`: Retry-After and the RateLimit fields (./http/rate-limit.ts). */
  constructor(headers: Record<string, string>) {
    super('Too many requests: slow down and retry after the time in Retry-After', 'RATE_LIMITED', headers);
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(
    message = 'Service unavailable',
    /** Seconds the client should wait before retrying (`Retry-After`). */
    retryAfterSeconds = 5,
  ) {
    super(message, 'SERVICE_UNAVAILABLE', { 'retry-after': String(retryAfterSeconds) });
  }
}

export class ClientClosedRequestError extends AppError {
  constructor() {
    super('Client closed the request', 'CLIENT_CLOSED_REQUEST');
  }
}

class InternalError extends AppError {
  constructor() {
    super(INTERNAL_ERROR_MESSAGE, 'INTERNAL_SERVER_ERROR');
  }
}

/**
 * What an error means to the client. Our own errors are themselves (wherever GraphQL wrapped them); a
 * client that hung up mid-request is a 499 nobody reads; a database that cannot serve us now is a 503 to retry; a 4xx that Fastify or Node raised about the
 * request keeps its status and message; anything else is a bug: logged in full, answered with nothing
 * but "Internal server error".
 */
export function classifyError(error: unknown, { logger, maxBodyBytes = 0 }: { logger: Logger; maxBodyBytes?: number }): AppError {
  const cause = unwrap(error);
  if (cause instanceof AppError) return cause;
  const fastifyCode = (cause as { code?: unknown } | null)?.code;
  if (fastifyCode === 'FST_ERR_CTP_BODY_TOO_LARGE') return new PayloadTooLargeError(maxBodyBytes);
  if (fastifyCode === 'FST_ERR_BAD_URL') return new BadUserInputError('Malformed percent-encoding in the URL path');
  // Node's words for a request whose client hung up before sending all of it: not our fault, nor the database's.
  if (fastifyCode === 'ECONNRESET' && messageOf(cause) === 'aborted') return new ClientClosedRequestError();
  if (isDatabaseUnavailable(cause)) {
    logger.warn({ err: { message: messageOf(cause).split('\n').at(-1) } }, 'database unavailable');
    return new ServiceUnavailableError();
  }
  const status = (cause as { statusCode?: unknown } | null)?.statusCode;
  const code = typeof status === 'number' && status >= 400 && status < 500 ? codeByStatus.get(status) : undefined;
  if (code) return new AppError(clientMessage(status as number, messageOf(cause)), code);
  logger.error({ err: cause }, 'unexpected error');
  return new InternalError();
}

/** The REST (and every non-GraphQL path's) error body: the message for people, the code for programs. */
export function detailBody(error: AppError): string {
  return JSON.stringify({ detail: error.message, code: error.code });
}

/** Answers with an error as REST (and every path but /graphql) does. */
export function sendDetail(reply: FastifyReply, error: AppError): FastifyReply {
  return reply.code(error.status).headers(error.headers).type(JSON_TYPE).send(detailBody(error));
}

/** The /graphql body of an error raised outside GraphQL's execution. */
export function graphqlErrorBody(error: AppError): string {
  return JSON.stringify({ errors: [{ message: error.message, extensions: { code: error.code } }] });
}

/** Answers /graphql with an error raised before GraphQL ran (authentication, body limits). */
export function sendGraphQLError(reply: FastifyReply, error: AppError): FastifyReply {
  return reply.code(error.status).headers(error.headers).type(JSON_TYPE).send(graphqlErrorBody(error));
}

/**
 * An error in a /graphql result as the client sees it: GraphQL's own (syntax, validation) and ours (with
 * their code) as they are; anything else classified, keeping its place in the result.
 */
export function maskGraphQLError(error: unknown, logger: Logger): GraphQLError {
  if (unwrap(error) instanceof GraphQLError) return error as GraphQLError;
  // Where it happened in the result (path), not in the query text (locations): nothing of an internal error leaks.
  const path = error instanceof GraphQLError ? error.path : undefined;
  return locatedError(classifyError(error, { logger }), undefined, path);
}

/** Fastify's own wording for the few client errors it raises is fine, but ours is the contract's. */
function clientMessage(status: number, message: string): string {
  if (status === 415) return new UnsupportedMediaTypeError().message;
  if (status === 404) return 'Not Found';
  return message;
}

function messageOf(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}

/** The error a resolver threw, when GraphQL wrapped it with a path and locations. */
function unwrap(error: unknown): unknown {
  let current = error;
  while (current instanceof GraphQLError && current.originalError && !(current instanceof AppError)) current = current.originalError;
  return current;
}
