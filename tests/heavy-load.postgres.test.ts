/**
 * Memory under hostile load, measured on a server process: 100 connections each asking for a whole
 * 10,000-task list and never reading. The lists are streamed a chunk at a time as the sockets take them,
 * so the process holds chunks, not lists: its peak RSS (VmHWM) stays under 400 MB (V8's own heap sizing), and another user's
 * single task is answered within seconds meanwhile.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { testDatabaseUrl } from './support/database.js';
import { TEST_SECRET, signToken } from './support/fixtures.js';
import { query } from './support/postgres.js';
import { makeWorkDir, root, startServer } from './support/server-process.js';

const workDir = makeWorkDir();
afterAll(() => rmSync(workDir, { recursive: true, force: true }));
// Measured on the compiled server, as production runs it: TypeScript's loader alone adds ~80 MB.
beforeAll(() => {
  const build = spawnSync(process.execPath, [join(root, 'scripts/build.mjs'), 'server'], { cwd: root, encoding: 'utf8' });
  expect(build.status, build.stdout + build.stderr).toBe(0);
}, 120_000);

const USERS = 10;
const TASKS = 10_000;

function peakRssMb(pid: number): number {
  const line = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(line?.[1] ?? 0) / 1024;
}

describe('100 clients that never read a 10,000-task list', () => {
  test('peak RSS stays under 400 MB and another user’s GET is answered within 5 s', async () => {
    const prefix = `hoarder-${randomUUID().slice(0, 8)}`;
    const users = Array.from({ length: USERS }, (_, i) => `${prefix}-${i}`);
    await query('INSERT INTO users (id) SELECT unnest($1::text[])', [users]);
    await query(
      `INSERT INTO tasks (user_id, title, created_at)
       SELECT u, 'a task with a title of a realistic length, #' || g, now() - g * interval '1 millisecond'
       FROM unnest($1::text[]) u, generate_series(1, $2::int) g`,
      [users, TASKS],
    );
    // As `npm start` runs it in production (package.json), and with no rate limit in the way.
    const server = await startServer(
      workDir,
      {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'production',
        DATABASE_URL: testDatabaseUrl(),
        BETTER_AUTH_SECRET: TEST_SECRET,
        LOG_LEVEL: 'info',
        RATE_LIMIT_PER_SECOND: '0',
        SHUTDOWN_DELAY_MS: '0',
      },
      { entry: 'dist/server.js', nodeArgs: ['--max-semi-space-size=16'] },
    );
    const sockets: Socket[] = [];
    try {
      const victim = `Bearer ${await signToken({ sub: `victim-${randomUUID()}` })}`;
      const created = await fetch(`${server.url}/api/tasks`, {
        method: 'POST',
        headers: { authorization: victim, 'content-type': 'application/json' },
        body: '{"title":"mine"}',
      });
      const victimTask = (await created.json()) as { id: string };
      const pid = server.child.pid ?? 0;
      const before = peakRssMb(pid);
      const port = Number(new URL(server.url).port);
      const tokens = await Promise.all(users.map((sub) => signToken({ sub }, { expiresIn: '10m' })));
      for (let i = 0; i < 100; i++) {
        const socket = connect(port, '127.0.0.1');
        socket.on('error', () => {});
        socket.pause();
        socket.write(`GET /api/tasks HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${tokens[i % USERS]}\r\n\r\n`);
        sockets.push(socket);
      }
      // Long enough for every stream to fill its socket and stall.
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      const started = performance.now();
      const response = await fetch(`${server.url}/api/tasks/${victimTask.id}`, { headers: { authorization: victim } });
      await response.text();
      const victimMs = performance.now() - started;
      const peak = peakRssMb(pid);
      console.log(`peak RSS ${before.toFixed(0)} → ${peak.toFixed(0)} MB; another user's task in ${victimMs.toFixed(0)} ms`);

      expect(response.status).toBe(200);
      // Guards against a user stuck behind the streams (seconds), with room for a busy 2-core machine.
      expect(victimMs).toBeLessThan(5_000);
      expect(peak).toBeLessThan(400);
    } finally {
      for (const socket of sockets) socket.destroy();
      expect(await server.stop()).toBe(0);
      await query('DELETE FROM users WHERE id LIKE $1', [`${prefix}-%`]);
    }
  }, 60_000);
});
