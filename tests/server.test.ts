/**
 * The server as a new user runs it: a real process, a real port, the embedded database in a directory
 * (or PostgreSQL in the postgres project), and a token from `npm run token`.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, describe, expect, test } from 'vitest';
import { createBearerVerifier } from '../src/auth/bearer.js';
import { TEST_SECRET } from './support/fixtures.js';
import { baseEnv, makeWorkDir, mintToken, nodeWithTsx, runServerToExit, startServer } from './support/server-process.js';

const workDir = makeWorkDir();
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe('the server process', () => {
  test('serves the API on PORT with a token from `npm run token`, and keeps data across a restart', async () => {
    const env = baseEnv({ PGLITE_DATA_DIR: join(workDir, 'pglite') });
    const token = mintToken(workDir, `alice-${Date.now()}`, env);
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

    const first = await startServer(workDir, env);
    const created = await fetch(`${first.url}/api/tasks`, { method: 'POST', headers: auth, body: '{"title":"survive a restart"}' });
    expect(created.status).toBe(201);
    const task = (await created.json()) as { id: string };
    expect(await first.stop(), first.output()).toBe(0);

    const second = await startServer(workDir, env);
    try {
      const fetched = await fetch(`${second.url}/api/tasks/${task.id}`, { headers: auth });
      expect(fetched.status).toBe(200);
      expect(await fetched.json()).toMatchObject({ id: task.id, title: 'survive a restart' });
      expect((await fetch(`${second.url}/api/tasks`)).status).toBe(401);
    } finally {
      expect(await second.stop(), second.output()).toBe(0);
    }
    expect(first.output() + second.output()).not.toContain(token);
  }, 90_000); // two starts of the embedded database in a fresh directory, beside the rest of the suite

  test('`npm run token` signs with the issuer, audience and type the server pins', async () => {
    const pins = { issuer: 'https://auth.example.com', audience: 'tasks-api', type: 'at+jwt' };
    const secret = 'a-secret-for-this-test-that-is-at-least-32-bytes';
    const env = baseEnv({ BETTER_AUTH_SECRET: secret, AUTH_ISSUER: pins.issuer, AUTH_AUDIENCE: pins.audience, AUTH_TOKEN_TYPE: pins.type });

    const token = mintToken(workDir, 'pinned-user', env);

    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'HS256', typ: 'at+jwt' });
    expect(decodeJwt(token)).toMatchObject({ sub: 'pinned-user', iss: pins.issuer, aud: pins.audience });
    await expect(createBearerVerifier({ hs256: { ...pins, secret } })(`Bearer ${token}`)).resolves.toBe('pinned-user');
  });

  test('refuses to start with a BETTER_AUTH_SECRET shorter than 32 bytes', () => {
    const result = runServerToExit(workDir, baseEnv({ BETTER_AUTH_SECRET: 'too-short' }));

    expect(result.status).toBe(1);
    expect(result.stderr).toContain('BETTER_AUTH_SECRET: must be at least 32 bytes');
  });

  test('a port already in use stops start-up with one fatal line saying so, exit 1, no stack trace', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = taken.address() as AddressInfo;
      const result = runServerToExit(workDir, baseEnv({ BETTER_AUTH_SECRET: TEST_SECRET, PORT: String(port) }));

      expect(result.status).toBe(1);
      const fatal = result.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { level: number; msg: string })
        .filter((line) => line.level >= 50);
      expect(fatal).toEqual([
        expect.objectContaining({ level: 60, msg: `port ${port} on 127.0.0.1 is already in use: stop the other server or set PORT` }),
      ]);
      expect(result.stdout + result.stderr).not.toMatch(/EADDRINUSE|\bat \S+ \(/);
    } finally {
      taken.close();
    }
  });

  test('on a terminal its log lines are readable (pino-pretty), unless in production, where they stay JSON', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = taken.address() as AddressInfo;
      const { command, args } = nodeWithTsx('src/server.ts');
      // script(1) runs the server with a pseudo-terminal as its stdout, as a developer's shell would.
      const onTerminal = (extra: Record<string, string>) =>
        spawnSync('script', ['-qec', [command, ...args].map((arg) => `'${arg}'`).join(' '), '/dev/null'], {
          cwd: workDir,
          env: baseEnv({ BETTER_AUTH_SECRET: TEST_SECRET, PORT: String(port), ...extra }),
          encoding: 'utf8',
          timeout: 30_000,
        });

      const development = onTerminal({});
      expect(development.stdout).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] \S*FATAL\S*: \S*port \d+ on 127\.0\.0\.1 is already in use/m);
      expect(development.stdout).not.toContain('{"level"');
      const production = onTerminal({ NODE_ENV: 'production' });
      expect(production.stdout).toContain('"level":60');
    } finally {
      taken.close();
    }
  });

  test('wrong settings stop start-up with one line naming each variable and where to set it, exit 1', () => {
    const result = runServerToExit(workDir, baseEnv({ BETTER_AUTH_SECRET: TEST_SECRET, PORT: 'eighty', RATE_LIMIT_BURST: '0' }));

    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'Invalid environment: PORT: must be a whole number; RATE_LIMIT_BURST: must be at least 1 (set in the environment or .env; .env.example lists every variable)\n',
    );
  });

  test('refuses to start in production without BETTER_AUTH_SECRET', () => {
    const result = runServerToExit(workDir, baseEnv({ NODE_ENV: 'production' }));

    expect(result.status).toBe(1);
    expect(result.stderr).toContain('BETTER_AUTH_SECRET: required in production');
  });
});
