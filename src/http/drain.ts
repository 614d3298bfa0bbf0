/**
 * A drain no client notices (SIGTERM on a fleet behind a load balancer). Fastify's close() would close
 * idle keep-alive connections at once, and a client that was just then sending its next request on one
 * sees ECONNRESET. Draining instead: every answer says `Connection: close`, so each connection ends right
 * after carrying its last response; the server keeps accepting for `delayMs` (the balancer takes that
 * long to see /readyz fail and send no more), then stops accepting, and leaves the idle connections to
 * close themselves at the keep-alive timeout, which clients, told it in `Keep-Alive: timeout=…`, reach
 * first. It resolves once the last connection has gone.
 */
import { Server } from 'node:net';
import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyInstance {
    /** Serves on with `Connection: close` for `delayMs`, then stops accepting; resolves when no connection is left. */
    drain(delayMs: number): Promise<void>;
    /** Runs `end` when a drain starts: for connections that would not end by themselves (event streams). */
    beforeDrain(end: () => void): void;
  }
}

export function useDrain(app: FastifyInstance): void {
  let draining = false;
  const enders: (() => void)[] = [];
  app.decorate('beforeDrain', (end: () => void) => {
    enders.push(end);
  });
  app.addHook('onRequest', (_request, reply, done) => {
    if (draining) reply.header('connection', 'close');
    done();
  });
  app.decorate('drain', async (delayMs: number) => {
    draining = true;
    for (const end of enders) end();
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    // net.Server's close, not http.Server's: stop listening, without closing idle connections first.
    await new Promise<void>((resolve) => {
      Server.prototype.close.call(app.server, () => resolve());
    });
  });
}
