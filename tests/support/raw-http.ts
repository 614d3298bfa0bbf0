import { connect } from 'node:net';

/** Writes `request` as it is to the server at `origin` and returns all it answers until it closes the connection. */
export async function rawExchange(origin: string, request: string): Promise<string> {
  const socket = connect(Number(new URL(origin).port), '127.0.0.1');
  let received = '';
  socket.on('data', (chunk) => (received += chunk.toString()));
  socket.write(request);
  await new Promise((resolve) => socket.on('close', resolve));
  return received;
}
