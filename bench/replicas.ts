/**
 * `npm run bench:replicas`: what a read replica changes (issue 22), beside `npm run bench`. Builds its own
 * primary and streaming replica (tests/support/replication.ts: the machine's cluster allows no replication),
 * seeds 100 users × 100 tasks on the primary, and loads this server (dist/, `npm run build:server` first)
 * started three ways in alternating rounds: on the primary alone, with the replica and Redis, with the
 * replica and no Redis. Scenarios: REST list (100 tasks), get one, and toggle (a write, which with Redis
 * also stores its WAL position). Prints req/s, server CPU per request, and where the reads went (the
 * server's db_reads_total). The server runs pinned to one CPU, autocannon to the other; both PostgreSQL
 * clusters share the two: a replica here adds work to the same machine, not capacity.
 *
 * Options (environment): BENCH_ROUNDS (default 2), BENCH_DURATION (seconds, default 8), BENCH_NODE, BENCH_REDIS_URL
 * (default redis://127.0.0.1:6379/6).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { SignJWT } from 'jose';
import pg from 'pg';
import { startReplicatedCluster } from '../tests/support/replication.js';
import { cpuSecondsOf, median } from './process-stats.js';

const root = join(import.meta.dirname, '..');
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const duration = Number(process.env.BENCH_DURATION ?? 8);
const serverNode = process.env.BENCH_NODE ?? process.execPath;
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/6';
const secret = 'bench-secret-that-is-at-least-32-bytes-long';
const USERS = 100;
const TASKS = 100;
const taskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

if (process.env.BENCH_PINNED !== '1' && taskset) {
  const { status } = spawnSync('taskset', ['-c', '1', process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_PINNED: '1' },
  });
  process.exit(status ?? 1);
}

await main();

async function main(): Promise<void> {
  const cluster = await startReplicatedCluster();
  try {
    const admin = new pg.Client(cluster.primaryUrl());
    await admin.connect();
    await admin.query('CREATE DATABASE bench');
    await admin.end();
    const primaryUrl = cluster.primaryUrl('bench');
    const replicaUrl = cluster.replicaUrl('bench');

    const targets: { name: string; env: Record<string, string> }[] = [
      { name: 'primary only', env: {} },
      { name: 'replica + Redis', env: { DATABASE_REPLICA_URLS: replicaUrl, REDIS_URL: redisUrl } },
      { name: 'replica, no Redis', env: { DATABASE_REPLICA_URLS: replicaUrl } },
    ];
    // Migrates the database (the first start), then seeds it.
    await stop(await start({ DATABASE_URL: primaryUrl, MIGRATE_ON_START: 'true' }));
    const db = new pg.Client(primaryUrl);
    await db.connect();
    await db.query(`INSERT INTO users (id) SELECT 'user' || g FROM generate_series(0, $1::int - 1) g`, [USERS]);
    await db.query(
      `INSERT INTO tasks (user_id, title, created_at) SELECT 'user' || (g % $1::int), 'task ' || g, now() - g * interval '1 ms'
     FROM generate_series(0, $1::int * $2::int - 1) g`,
      [USERS, TASKS],
    );
    await db.query('VACUUM ANALYZE users, tasks');
    const tasks = (await db.query<{ id: string; user_id: string }>('SELECT id, user_id FROM tasks ORDER BY random()')).rows;
    await db.end();
    const key = new TextEncoder().encode(secret);
    const tokens = new Map<string, string>();
    for (let i = 0; i < USERS; i++)
      tokens.set(`user${i}`, await new SignJWT({ sub: `user${i}` }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('2h').sign(key));

    const scenarios: { name: string; request(n: number): { method: string; path: string; user: string; body?: string } }[] = [
      { name: 'list', request: (n) => ({ method: 'GET', path: '/api/tasks', user: `user${n % USERS}` }) },
      {
        name: 'get',
        request: (n) => {
          const task = tasks[n % tasks.length] ?? { id: '', user_id: '' };
          return { method: 'GET', path: `/api/tasks/${task.id}`, user: task.user_id };
        },
      },
      {
        name: 'toggle',
        request: (n) => {
          const task = tasks[n % tasks.length] ?? { id: '', user_id: '' };
          return { method: 'PATCH', path: `/api/tasks/${task.id}`, user: task.user_id, body: JSON.stringify({ completed: n % 2 === 0 }) };
        },
      },
    ];

    const results: { round: number; scenario: string; target: string; rps: number; cpuUs: number; reads: string }[] = [];
    for (let round = 1; round <= rounds; round++) {
      for (const scenario of scenarios) {
        const order = [...targets.slice(round % targets.length), ...targets.slice(0, round % targets.length)];
        for (const target of order) {
          const server = await start({ DATABASE_URL: primaryUrl, ...target.env });
          try {
            let n = 0;
            const run = (seconds: number) =>
              autocannon({
                url: server.origin,
                connections: 100,
                duration: seconds,
                requests: [
                  {
                    setupRequest: (request) => {
                      const { method, path, user, body } = scenario.request(n++);
                      const headers: Record<string, string> = { authorization: `Bearer ${tokens.get(user) ?? ''}` };
                      if (body) headers['content-type'] = 'application/json';
                      return { ...request, method: method as 'GET', path, headers, ...(body && { body }) };
                    },
                  },
                ],
              });
            await run(2);
            const readsBefore = await readsOf(server);
            const cpuBefore = cpuSeconds(server);
            const result = await run(duration);
            const cpu = cpuSeconds(server) - cpuBefore;
            const readsAfter = await readsOf(server);
            if (result.errors + result.timeouts + result.non2xx > 0)
              throw new Error(
                `${target.name} ${scenario.name}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx`,
              );
            const reads = Object.entries(readsAfter)
              .map(([where, count]) => `${where.startsWith('127.') ? 'replica' : where} ${Math.round(count - (readsBefore[where] ?? 0))}`)
              .join(', ');
            const rps = result.requests.average;
            results.push({ round, scenario: scenario.name, target: target.name, rps, cpuUs: (cpu / result.requests.total) * 1e6, reads });
            console.log(
              `round ${round} ${scenario.name.padEnd(6)} ${target.name.padEnd(18)} ${Math.round(rps).toString().padStart(6)} req/s ${Math.round((cpu / result.requests.total) * 1e6)} µs/req  reads: ${reads || '(not counted)'}`,
            );
          } finally {
            await stop(server);
          }
        }
      }
    }
    console.log('\nmedian over rounds (req/s, ratio to "primary only" of the same round):');
    for (const scenario of scenarios) {
      for (const target of targets) {
        const ratios = results
          .filter((r) => r.scenario === scenario.name && r.target === target.name)
          .map(
            (r) => r.rps / (results.find((b) => b.round === r.round && b.scenario === r.scenario && b.target === 'primary only')?.rps ?? 1),
          );
        const rps = results.filter((r) => r.scenario === scenario.name && r.target === target.name).map((r) => r.rps);
        console.log(`${scenario.name.padEnd(6)} ${target.name.padEnd(18)} ${Math.round(median(rps))} req/s, ×${median(ratios).toFixed(2)}`);
      }
    }
  } finally {
    cluster.stop();
  }
}

interface Server {
  origin: string;
  child: ChildProcess;
}

async function start(env: Record<string, string>): Promise<Server> {
  const port = 8450;
  const child = spawn(
    taskset ? 'taskset' : serverNode,
    [...(taskset ? ['-c', '0', serverNode] : []), '--max-semi-space-size=16', join(root, 'dist/server.js')],
    {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        PORT: String(port),
        BETTER_AUTH_SECRET: secret,
        MIGRATE_ON_START: 'false',
        LOG_LEVEL: 'warn',
        RATE_LIMIT_PER_SECOND: '0',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const origin = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`the server exited:\n${output}`);
    const ready = await fetch(`${origin}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    // With a replica: once it has been seen up (before that, every read goes to the primary).
    const replicaUp = !env.DATABASE_REPLICA_URLS || /^db_replica_up\{[^}]*\} 1$/m.test(await metricsText(origin));
    if (ready && replicaUp) break;
    if (i > 300) {
      child.kill('SIGKILL');
      throw new Error(`the server did not get ready:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { origin, child };
}

async function stop(server: Server): Promise<void> {
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await exited;
}

function metricsText(origin: string): Promise<string> {
  return fetch(`${origin}/metrics`).then(
    (r) => r.text(),
    () => '',
  );
}

async function readsOf(server: Server): Promise<Record<string, number>> {
  const reads: Record<string, number> = {};
  for (const match of (await metricsText(server.origin)).matchAll(/^db_reads_total\{target="([^"]+)"\} (\S+)$/gm))
    reads[match[1] ?? ''] = Number(match[2]);
  return reads;
}

function cpuSeconds(server: Server): number {
  return cpuSecondsOf(server.child.pid ?? 0);
}
