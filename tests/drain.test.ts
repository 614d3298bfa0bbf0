/**
 * A drain no client notices: SIGTERM under 30 keep-alive clients looping on requests. /readyz fails at
 * once, the server serves on for SHUTDOWN_DELAY_MS with `Connection: close` on every answer, then stops
 * accepting; no client sees a reset or a 5xx — each request is answered, or its connection refused before
 * it was sent — and the process exits 0.
 */
import { rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { afterAll, describe, expect, test } from 'vitest';
import { baseEnv, makeWorkDir, mintToken, startServer } from './support/server-process.js';

const workDir = makeWorkDir();
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

interface Outcome {
  status?: number;
  connection?: string | undefined;
  error?: string;
}

function get(url: string, agent: Agent, authorization: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request(url, { agent, headers: { authorization } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, connection: res.headers.connection }));
      res.on('error', (error) => resolve({ error: error.message }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end();
  });
}

describe('SIGTERM under keep-alive load', () => {
  test('30 clients behind a balancer: every request answered 200, no reset, exit 0', async () => {
    const env = baseEnv({ SHUTDOWN_DELAY_MS: '1500', RATE_LIMIT_PER_SECOND: '0' });
    const authorization = `Bearer ${mintToken(workDir, 'drain-user', env)}`;
    const server = await startServer(workDir, env);
    // The balancer: probes /readyz every 200 ms and, once it fails, opens no new connection to this instance.
    let inRotation = true;
    const probe = setInterval(() => {
      void fetch(`${server.url}/readyz`).then(
        (response) => {
          if (response.status !== 200) inRotation = false;
        },
        () => (inRotation = false),
      );
    }, 200);
    const outcomes: { outcome: Outcome; afterSignal: boolean }[] = [];
    let signalled = false;
    // 20 clients send back to back; 10 pause 2.5 s between requests, so their connection is idle when the listener closes.
    const clients = Array.from({ length: 30 }, async (_, index) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      let connectionOpen = false;
      // Once out of rotation, a client whose connection was closed goes to another instance.
      while (inRotation || connectionOpen) {
        const outcome = await get(`${server.url}/api/tasks`, agent, authorization);
        outcomes.push({ outcome, afterSignal: signalled });
        if (outcome.error !== undefined) break;
        connectionOpen = outcome.connection !== 'close';
        if (index >= 20) await new Promise((resolve) => setTimeout(resolve, 2_500));
      }
      agent.destroy();
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    server.child.kill('SIGTERM');
    signalled = true;
    await new Promise((resolve) => setTimeout(resolve, 100));
    const readyz = await fetch(`${server.url}/readyz`);
    const exitCode = await server.exited;
    await Promise.all(clients);
    clearInterval(probe);

    expect(readyz.status).toBe(503);
    expect(exitCode).toBe(0);
    expect(outcomes.filter(({ outcome }) => outcome.status !== 200)).toEqual([]);
    // Served after the signal, each answer closing its connection.
    const drained = outcomes.filter(({ afterSignal }) => afterSignal);
    expect(drained.length).toBeGreaterThan(30);
    expect(drained.filter(({ outcome }) => outcome.connection === 'close').length).toBeGreaterThanOrEqual(30);
    expect(server.output()).toContain('"msg":"stopped"');
  });
});
