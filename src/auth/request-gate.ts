/**
 * Who a request is from, and whether it may go on, for both faces before the body is read: the bearer
 * token (./bearer.ts); when the token has to be verified, first the allowance of the client's address
 * for unproven requests, which every refused one uses up; then the user's request rate
 * (../http/rate-limit.ts), whose fields go out with the answer.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { UnauthenticatedError } from '../errors.js';
import type { RateLimits } from '../http/rate-limit.js';
import type { VerifyBearer } from './bearer.js';

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
