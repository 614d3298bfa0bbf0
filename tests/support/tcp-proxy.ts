/**
 * A TCP proxy between the app and PostgreSQL that a test can break on purpose, on loopback:
 * - `up`: bytes flow both ways;
 * - `cut`: every connection is reset and new ones are refused at once (the database went away);
 * - `stall`: connections stay open but nothing gets through, and new ones are accepted into the void
 *   (a blackholed network: the worst case, as nothing ever fails by itself);
 * - `slow`: bytes flow, each chunk held back `delayMs` (an overloaded database).
 */
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';

export type ProxyMode = 'up' | 'cut' | 'stall' | 'slow';

export interface TcpProxy {
  port: number;
  /** The target URL with host and port swapped for the proxy's. */
  url(targetUrl: string): string;
  setMode(mode: ProxyMode): void;
  delayMs: number;
  /** Connections currently open through the proxy. */
  openConnections(): number;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  let mode: ProxyMode = 'up';
  const pairs = new Set<{ client: Socket; upstream: Socket }>();

  const server = createServer((client) => {
    if (mode === 'cut') {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    const pair = { client, upstream };
    pairs.add(pair);
    const forward = (from: Socket, to: Socket) =>
      from.on('data', (chunk) => {
        if (mode === 'stall') return; // swallowed
        if (mode === 'slow') setTimeout(() => to.writable && to.write(chunk), proxy.delayMs);
        else if (to.writable) to.write(chunk);
      });
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const proxy: TcpProxy = {
    port,
    delayMs: 200,
    url(targetUrl) {
      const url = new URL(targetUrl);
      url.hostname = '127.0.0.1';
      url.port = String(port);
      return url.toString();
    },
    setMode(next) {
      mode = next;
      if (next === 'cut') {
        for (const { client, upstream } of pairs) {
          client.resetAndDestroy();
          upstream.destroy();
        }
        pairs.clear();
      }
    },
    openConnections: () => pairs.size,
    async close() {
      proxy.setMode('cut');
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
