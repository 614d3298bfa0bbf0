import { GraphQLError } from 'graphql';

/** Stable `extensions.code` values and the HTTP status each one means on the REST routes. */
export const httpStatusByCode = {
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNPROCESSABLE_ENTITY: 422,
  INTERNAL_SERVER_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof httpStatusByCode;

export class AppError extends GraphQLError {
  readonly code: ErrorCode;

  constructor(message: string, code: ErrorCode, extensions: Record<string, unknown> = {}) {
    // Expected outcomes (a 404, a bad title) need no stack trace, and capturing one is most of their cost.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message, { extensions: { code, ...extensions } });
    Error.stackTraceLimit = stackTraceLimit;
    this.code = code;
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
  constructor(
    message = 'Not authenticated',
    /** The `WWW-Authenticate` challenge to send with the 401. */
    readonly challenge = 'Bearer',
  ) {
    super(message, 'UNAUTHENTICATED');
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

export class UnprocessableEntityError extends AppError {
  constructor(message: string) {
    super(message, 'UNPROCESSABLE_ENTITY');
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(
    message = 'Service unavailable',
    /** Seconds the client should wait before retrying (`Retry-After`). */
    readonly retryAfterSeconds = 5,
  ) {
    // `http` makes /graphql answer 503 with Retry-After too (Yoga reads it, and strips it from the body).
    super(message, 'SERVICE_UNAVAILABLE', {
      http: { status: 503, headers: { 'retry-after': String(retryAfterSeconds) } },
    });
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(limitBytes: number) {
    super(`Request body is larger than ${limitBytes} bytes`, 'PAYLOAD_TOO_LARGE');
  }
}

export const INTERNAL_ERROR_MESSAGE = 'Internal server error';

/** Response headers an error asks for: a challenge with a 401, a retry hint with a 503. */
export function httpHeadersOf(error: unknown): Record<string, string> {
  if (error instanceof UnauthenticatedError) return { 'www-authenticate': error.challenge };
  if (error instanceof ServiceUnavailableError) return { 'retry-after': String(error.retryAfterSeconds) };
  return {};
}

/** The HTTP status for an error's `extensions.code`; anything unknown is a 500. */
export function httpStatusOf(error: unknown): number {
  const code = error instanceof GraphQLError ? error.extensions.code : undefined;
  return typeof code === 'string' && code in httpStatusByCode ? httpStatusByCode[code as ErrorCode] : 500;
}
