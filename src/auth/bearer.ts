/**
 * Bearer-token authentication: the one place that decides who a request is from.
 */
import { errors, jwtVerify } from 'jose';
import { UnauthenticatedError } from '../errors.js';

/** Longest `Authorization` value we will look at; real tokens are well under 2 KB. */
export const MAX_AUTHORIZATION_LENGTH = 8192;
/** Seconds of clock skew allowed on `exp`, `nbf` and `iat`. */
export const CLOCK_TOLERANCE_SECONDS = 5;

export interface BearerAuthOptions {
  /** HS256 shared secret (`BETTER_AUTH_SECRET`). */
  secret: string;
}

/** Resolves to the user id (`sub`) of a valid bearer token; rejects with `UnauthenticatedError`. */
export type VerifyBearer = (authorization: string | null) => Promise<string>;

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

export function createBearerVerifier({ secret }: BearerAuthOptions): VerifyBearer {
  const key = new TextEncoder().encode(secret);
  return async (authorization) => {
    // No bearer credentials at all (RFC 6750 §3.1: then the challenge carries no error code).
    if (authorization === null || !/^Bearer(\s|$)/i.test(authorization)) throw new UnauthenticatedError();
    const match = authorization.length <= MAX_AUTHORIZATION_LENGTH ? BEARER.exec(authorization) : null;
    if (!match?.[1]) throw invalidToken();
    try {
      const { payload } = await jwtVerify(match[1], key, {
        algorithms: ['HS256'],
        requiredClaims: ['exp', 'sub'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      });
      if (typeof payload.sub !== 'string' || payload.sub.trim() === '') throw invalidToken();
      return payload.sub;
    } catch (error) {
      if (error instanceof errors.JOSEError || error instanceof UnauthenticatedError) throw invalidToken();
      throw error;
    }
  };
}

function invalidToken(): UnauthenticatedError {
  return new UnauthenticatedError('Invalid or expired token', 'Bearer error="invalid_token"');
}
