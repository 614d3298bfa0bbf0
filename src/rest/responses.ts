/**
 * How the REST routes answer: JSON bodies, and every error as `{"detail": "<message>"}` with the status its
 * `extensions.code` maps to (see ../errors.ts). Unexpected errors say nothing but "Internal server error".
 */
import { Response } from '@whatwg-node/fetch';
import { GraphQLError } from 'graphql';
import { AppError, INTERNAL_ERROR_MESSAGE, httpHeadersOf, httpStatusOf } from '../errors.js';
import type { Logger } from '../logger.js';

const JSON_TYPE = 'application/json; charset=utf-8';

export function detailResponse(status: number, detail: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ detail }), { status, headers: { 'content-type': JSON_TYPE, ...headers } });
}

/** The REST answer for the errors of one request; the first error decides. */
export function errorResponse(errors: readonly unknown[], logger: Logger): Response {
  const error = unwrap(errors[0]);
  if (error instanceof AppError) return detailResponse(error.status, error.message, httpHeadersOf(error));
  const status = httpStatusOf(error) < 500 ? httpStatusOf(error) : clientStatusOf(error);
  if (status >= 500) {
    // Errors Yoga masked were logged, unmasked, when it masked them.
    if (!(error instanceof GraphQLError && error.extensions.unexpected === true)) {
      logger.error({ err: error }, 'unexpected error on a REST route');
    }
    return detailResponse(500, INTERNAL_ERROR_MESSAGE);
  }
  return detailResponse(status, (error as GraphQLError).message);
}

/** A 4xx that SOFA itself raised (with `extensions.http.status` and no code), else 500. */
function clientStatusOf(error: unknown): number {
  const http = error instanceof GraphQLError ? (error.extensions.http as { status?: unknown } | undefined) : undefined;
  const status = http?.status;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : 500;
}

/** The error a resolver threw, when GraphQL wrapped it with a path and locations. */
function unwrap(error: unknown): unknown {
  return error instanceof GraphQLError && error.originalError instanceof GraphQLError
    ? unwrap(error.originalError)
    : error;
}
