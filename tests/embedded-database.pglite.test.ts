/** The embedded database's directory belongs to one server process at a time. */
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { baseEnv, makeWorkDir, mintToken, runServerToExit, startServer } from './support/server-process.js';

const workDir = makeWorkDir();
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe('the embedded database directory', () => {
  test('a second server on the same directory refuses to start, and the first keeps serving', async () => {
    const env = baseEnv({ PGLITE_DATA_DIR: join(workDir, 'shared') }, { embedded: true });
    const first = await startServer(workDir, env);
    try {
      const second = runServerToExit(workDir, env);

      expect(second.status).toBe(1);
      expect(second.stdout).toMatch(/shared is in use by process \d+: the embedded database serves one process at a time/);
      expect((await fetch(`${first.url}/api/tasks`)).status).toBe(401);
    } finally {
      expect(await first.stop(), first.output()).toBe(0);
    }
  });

  test('a write acknowledged just before kill -9 is there after the restart', async () => {
    const env = baseEnv({ PGLITE_DATA_DIR: join(workDir, 'durable') }, { embedded: true });
    const authorization = `Bearer ${mintToken(workDir, 'durable-user', env)}`;
    const victim = await startServer(workDir, env);
    const created = await fetch(`${victim.url}/api/tasks`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: '{"title":"acknowledged"}',
    });
    expect(created.status).toBe(201);
    await victim.stop('SIGKILL');
    const { id } = (await created.json()) as { id: string };

    const revived = await startServer(workDir, env);
    try {
      const fetched = await fetch(`${revived.url}/api/tasks/${id}`, { headers: { authorization } });
      expect(fetched.status).toBe(200);
      expect(await fetched.json()).toMatchObject({ id, title: 'acknowledged' });
    } finally {
      expect(await revived.stop(), revived.output()).toBe(0);
    }
  });

  test('a lock left by a process that died is taken over', async () => {
    const dataDir = join(workDir, 'stale');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(`${dataDir}.lock`, `${dead.stdout}\n`);

    const server = await startServer(workDir, baseEnv({ PGLITE_DATA_DIR: dataDir }, { embedded: true }));

    expect(await server.stop(), server.output()).toBe(0);
  });
});

describe('a data directory the server cannot write', () => {
  test('stops start-up with one clear fatal line and exit 1, no stack trace', () => {
    // /sys is a kernel file system: nothing can be created there, not even by root.
    const result = runServerToExit(workDir, baseEnv({ PGLITE_DATA_DIR: '/sys/task-gateway-data' }, { embedded: true }));

    expect(result.status).toBe(1);
    const lines = result.stdout.trim().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as { level: number }).level)).toEqual([60]);
    expect((JSON.parse(lines[0] ?? '') as { msg: string }).msg).toMatch(
      /^cannot write the embedded database's directory \/sys\/task-gateway-data \((EPERM|EROFS|EACCES)\): set PGLITE_DATA_DIR to a writable directory, or DATABASE_URL to use PostgreSQL$/,
    );
    expect(result.stderr).not.toMatch(/\bat \S+ \(/);
  });
});
