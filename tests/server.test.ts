/**
 * The server as a new user runs it: a real process, a real port, the embedded database in a directory
 * (or PostgreSQL in the postgres project), and a token from `npm run token`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { testDatabaseKind } from './support/database.js';

const root = resolve(import.meta.dirname, '..');
const tsx = join(root, 'node_modules/.bin/tsx');
const workDir = mkdtempSync(join(tmpdir(), 'task-gateway-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function baseEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'info', ...extra };
  if (testDatabaseKind === 'postgres') env.DATABASE_URL = process.env.TEST_DATABASE_URL;
  return env;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

interface RunningServer {
  url: string;
  child: ChildProcess;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

async function startServer(env: NodeJS.ProcessEnv): Promise<RunningServer> {
  const port = await freePort();
  const child = spawn(tsx, [join(root, 'src/server.ts')], { cwd: workDir, env: { ...env, PORT: String(port) } });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  const started = Date.now();
  while (!output.includes('task gateway listening')) {
    if (child.exitCode !== null || Date.now() - started > 30_000) throw new Error(`server did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => output,
    stop(signal = 'SIGTERM') {
      child.kill(signal);
      return exited;
    },
  };
}

function mintToken(userId: string, env: NodeJS.ProcessEnv): string {
  const result = spawnSync(tsx, [join(root, 'scripts/token.ts'), userId], { cwd: workDir, env, encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout.trim();
}

describe('the server process', () => {
  test('serves the API on PORT with a token from `npm run token`, and keeps data across a restart', async () => {
    const env = baseEnv({ PGLITE_DATA_DIR: join(workDir, 'pglite') });
    const token = mintToken(`alice-${Date.now()}`, env);
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

    const first = await startServer(env);
    const created = await fetch(`${first.url}/api/tasks`, { method: 'POST', headers: auth, body: '{"title":"survive a restart"}' });
    expect(created.status).toBe(201);
    const task = (await created.json()) as { id: string };
    expect(await first.stop()).toBe(0);

    const second = await startServer(env);
    try {
      const fetched = await fetch(`${second.url}/api/tasks/${task.id}`, { headers: auth });
      expect(fetched.status).toBe(200);
      expect(await fetched.json()).toMatchObject({ id: task.id, title: 'survive a restart' });
      expect((await fetch(`${second.url}/api/tasks`)).status).toBe(401);
    } finally {
      expect(await second.stop()).toBe(0);
    }
    expect(first.output() + second.output()).not.toContain(token);
  });

  test('refuses to start with a BETTER_AUTH_SECRET shorter than 32 bytes', () => {
    const result = spawnSync(tsx, [join(root, 'src/server.ts')], {
      cwd: workDir,
      env: baseEnv({ BETTER_AUTH_SECRET: 'too-short' }),
      encoding: 'utf8',
    });

    expect(result.status).toBe(1);
    expect(result.stderr).toContain('BETTER_AUTH_SECRET: must be at least 32 bytes');
  });

  test('refuses to start in production without BETTER_AUTH_SECRET', () => {
    const result = spawnSync(tsx, [join(root, 'src/server.ts')], {
      cwd: workDir,
      env: baseEnv({ NODE_ENV: 'production' }),
      encoding: 'utf8',
    });

    expect(result.status).toBe(1);
    expect(result.stderr).toContain('BETTER_AUTH_SECRET: required in production');
  });
});
