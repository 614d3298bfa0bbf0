/**
 * Who a request is from, and whether it may go on, for both faces before the body is read: the bearer
 * token (../auth/bearer.ts); when the token has to be verified, first the allowance of the client's address
 * for unproven requests, which every refused one uses up; then the user's request rate
 * (./rate-limit.ts), whose fields go out with the answer.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import type { VerifyBearer } from '../auth/bearer.js';
import { UnauthenticatedError } from '../errors.js';
import type { RateLimits } from './rate-limit.js';

export interface Authenticate {
  (request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /**
   * The same, except that a request with no Authorization header at all goes on without a user
   * (`request.userId` stays null), counted against its address as a refused one is; the route decides
   * what it may do.
   */
  allowingAnonymous(request: FastifyRequest, reply: FastifyReply): Promise<void>;
}

export function createAuthenticate(verify: VerifyBearer, limits: RateLimits): Authenticate {
  const authenticate = async (request: FastifyRequest, reply: FastifyReply) => {
    let userId: string;
    try {
      userId = await verify(request.headers.authorization ?? null, () => limits.checkAddress(request.ip));
    } catch (error) {
      if (error instanceof UnauthenticatedError) await limits.penalizeAddress(request.ip);
      throw error;
    }
    reply.headers(await limits.consumeUser(userId));
    request.userId = userId;
  };
  return Object.assign(authenticate, {
    async allowingAnonymous(request: FastifyRequest, reply: FastifyReply) {
      if (request.headers.authorization !== undefined) return authenticate(request, reply);
      await limits.checkAddress(request.ip);
      await limits.penalizeAddress(request.ip);
    },
  });
}

/** Time left on the request's (verified) token: a stream or subscription ends there. */
export function tokenExpiresInMs(request: FastifyRequest): number {
  const token = /^Bearer +(\S+)/i.exec(request.headers.authorization ?? '')?.[1];
  const exp = token ? decodeJwt(token).exp : undefined;
  return exp === undefined ? 2 ** 31 - 1 : exp * 1000 - Date.now();
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified token's `sub`, once a route's authentication hook has run; null before (or where none is needed). */
    userId: string | null;
    /** The body as it came (bytes or text), kept by the body parsers for an Idempotency-Key's fingerprint. */
    rawBody: Buffer | string | null;
    /** Whether a write resolver ran for this request (with read replicas, its position is noted before the answer). */
    wrote: boolean;
  }
}
