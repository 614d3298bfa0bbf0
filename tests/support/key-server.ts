/**
 * A local HTTP server standing in for an issuer's JWKS endpoint (or all of Better Auth), which a test can
 * take down, make hang, and count requests to.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type KeyServerMode = 'up' | 'down' | 'hang';

export interface KeyServer {
  /** http://127.0.0.1:<port> */
  origin: string;
  mode: KeyServerMode;
  /** Requests received per path. */
  hits: Map<string, number>;
  hitsTo(path: string): number;
  close(): Promise<void>;
}

export async function startKeyServer(handle: (request: IncomingMessage, response: ServerResponse) => void): Promise<KeyServer> {
  const sockets = new Set<Socket>();
  const state: KeyServer = {
    origin: '',
    mode: 'up',
    hits: new Map(),
    hitsTo: (path) => state.hits.get(path) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    state.hits.set(path, (state.hits.get(path) ?? 0) + 1);
    if (state.mode === 'hang') return;
    if (state.mode === 'down') {
      response.writeHead(503).end();
      return;
    }
    handle(request, response);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  state.origin = `http://127.0.0.1:${address.port}`;
  return state;
}
