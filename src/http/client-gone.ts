import type { Socket } from 'node:net';
import type { FastifyRequest } from 'fastify';

/**
 * Whether the client of this request has gone: it hung up (Node aborts a request whose client closes
 * its side, and then its socket is no longer writable), or the connection was cut.
 */
export function clientGoneOf(request: FastifyRequest): () => boolean {
  return () => {
    // `destroyed` cannot tell: Node destroys every request once its body has been read.
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- what Node sets when it aborts a request whose client left
    if (request.raw.aborted) return true;
    // Null while a pipelined request waits for the answer before it; a test's injected socket has neither flag.
    const socket = request.raw.socket as Partial<Pick<Socket, 'destroyed' | 'writable'>> | null;
    return socket !== null && (socket.destroyed === true || socket.writable === false);
  };
}
