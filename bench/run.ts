/**
 * `npm run bench`: this server against the bare node:http + pg server in bench/bare-server.mjs, side by
 * side in one run, one process each, on the PostgreSQL at BENCH_DATABASE_URL (a database it may wipe;
 * created if missing). Seeds 100 users × 100 tasks and one user with 10,000, checks that both servers give
 * the same correct answers, then loads each scenario with autocannon (100 connections) against one server
 * and then the other, alternating which goes first, and prints one table.
 *
 * Options (environment): BENCH_DATABASE_URL, BENCH_DURATION (seconds per run, default 10),
 * BENCH_CONNECTIONS (default 100), BENCH_SCENARIOS (comma-separated names), BENCH_CLUSTER=1 to add runs of
 * `npm run start:cluster` (one process per core) for comparison; BENCH_OURS_NODE_OPTIONS (e.g.
 * --max-old-space-size=160) to try V8 settings on this server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { SignJWT } from 'jose';
import pg from 'pg';
import { openDatabase } from '../src/db/client.js';
import { applyMigrations } from '../src/db/migrate.js';
import { loadEnv } from '../src/env.js';

const root = join(import.meta.dirname, '..');
const databaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/task_bench';
const duration = Number(process.env.BENCH_DURATION ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 100);
const only = process.env.BENCH_SCENARIOS?.split(',');
const withCluster = process.env.BENCH_CLUSTER === '1';
const secret = 'bench-secret-that-is-at-least-32-bytes-long';
const SMALL_USERS = 100;
const SMALL_TASKS = 100;
const BIG_TASKS = 10_000;
const DELETABLE = 150_000;

type ServerName = 'bare' | 'ours' | 'ours×cores';

interface Server {
  name: ServerName;
  origin: string;
  child: ChildProcess;
  /** Pids whose peak RSS counts (the process itself, or a cluster's workers). */
  pids: () => number[];
}

interface Fixture {
  tokens: Map<string, string>;
  smallTasks: { id: string; userId: string }[];
  bigUser: string;
  /** A cursor every 50 tasks through the big user's list. */
  bigCursors: string[];
  deletable: Record<ServerName, { id: string; userId: string }[]>;
}

interface Request {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  userId: string;
  body?: unknown;
}

interface Scenario {
  name: string;
  /** The request the n-th call sends. */
  next(server: ServerName, n: number): Request;
  /** Checks one answer; throws if wrong. */
  verify(server: ServerName, response: { status: number; body: unknown; link: string | null }, request: Request): void;
  /** Only this server takes part (ours only: GraphQL), compared with `compareWith` of the bare server. */
  oursOnly?: boolean;
  /** Requests slow enough (seconds each under load) to need a longer run for a steady rate. */
  slow?: boolean;
  compareWith?: string;
}

const pick = <T>(items: readonly T[], n: number): T => {
  const item = items[n % items.length];
  if (item === undefined) throw new Error('empty');
  return item;
};

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

// ---------------------------------------------------------------------------------------------- database

async function prepareDatabase(): Promise<Fixture> {
  const url = new URL(databaseUrl);
  const admin = new pg.Client({ connectionString: Object.assign(new URL(url), { pathname: '/postgres' }).toString() });
  await admin.connect();
  const name = url.pathname.slice(1);
  const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
  await admin.end();

  const database = await openDatabase({ ...loadEnv({ BETTER_AUTH_SECRET: secret }).database, url: databaseUrl });
  await applyMigrations(database.adapterFactory);
  await database.close();

  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  console.log('seeding…');
  await client.query('TRUNCATE users, tasks');
  await client.query(
    `INSERT INTO users (id) SELECT 'user' || lpad(g::text, 3, '0') FROM generate_series(0, $1::int - 1) g
     UNION ALL SELECT 'big' UNION ALL SELECT 'deleter-bare' UNION ALL SELECT 'deleter-ours' UNION ALL SELECT 'deleter-ours×cores'`,
    [SMALL_USERS],
  );
  await client.query(
    `INSERT INTO tasks (user_id, title, created_at, updated_at)
     SELECT 'user' || lpad((g % $1::int)::text, 3, '0'), 'task ' || g, now() - g * interval '1 millisecond', now() - g * interval '1 millisecond'
     FROM generate_series(0, $1::int * $2::int - 1) g`,
    [SMALL_USERS, SMALL_TASKS],
  );
  await client.query(
    `INSERT INTO tasks (user_id, title, completed, created_at, updated_at)
     SELECT 'big', 'big task ' || g, g % 3 = 0, now() - g * interval '1 millisecond', now() - g * interval '1 millisecond'
     FROM generate_series(0, $1::int - 1) g`,
    [BIG_TASKS],
  );
  for (const server of ['bare', 'ours', ...(withCluster ? ['ours×cores'] : [])]) {
    await client.query(
      `INSERT INTO tasks (user_id, title) SELECT 'deleter-' || $1, 'to delete ' || g FROM generate_series(1, $2::int) g`,
      [server, DELETABLE],
    );
  }
  await client.query('VACUUM ANALYZE users, tasks');

  const small = await client.query<{ id: string; user_id: string }>("SELECT id, user_id FROM tasks WHERE user_id LIKE 'user%' ORDER BY random()");
  const big = await client.query<{ id: string; created_at: Date }>("SELECT id, created_at FROM tasks WHERE user_id = 'big' ORDER BY created_at DESC, id DESC");
  const deletable = await client.query<{ id: string; user_id: string }>("SELECT id, user_id FROM tasks WHERE user_id LIKE 'deleter-%'");
  await client.end();

  const users = [...new Set([...small.rows.map((r) => r.user_id), 'big', 'deleter-bare', 'deleter-ours', 'deleter-ours×cores'])];
  const key = new TextEncoder().encode(secret);
  const tokens = new Map<string, string>();
  for (const user of users) {
    tokens.set(user, await new SignJWT({ sub: user }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('2h').sign(key));
  }
  const bigCursors = big.rows
    .filter((_, i) => i % 50 === 49 && i < big.rows.length - 50)
    .map((r) => Buffer.from(`${r.created_at.toISOString()}|${r.id}`).toString('base64url'));
  const byServer = (server: string) => deletable.rows.filter((r) => r.user_id === `deleter-${server}`).map((r) => ({ id: r.id, userId: r.user_id }));
  return {
    tokens,
    smallTasks: small.rows.map((r) => ({ id: r.id, userId: r.user_id })),
    bigUser: 'big',
    bigCursors,
    deletable: { bare: byServer('bare'), ours: byServer('ours'), 'ours×cores': byServer('ours×cores') },
  };
}

// ----------------------------------------------------------------------------------------------- servers

async function start(name: ServerName, port: number): Promise<Server> {
  const env = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE_URL: databaseUrl,
    DATABASE_POOL_SIZE: '10',
    BETTER_AUTH_SECRET: secret,
    MIGRATE_ON_START: 'false',
    LOG_LEVEL: 'warn',
    ...(name !== 'bare' && process.env.BENCH_OURS_NODE_OPTIONS && { NODE_OPTIONS: process.env.BENCH_OURS_NODE_OPTIONS }),
  };
  const script = { bare: 'bench/bare-server.mjs', ours: 'dist/server.js', 'ours×cores': 'dist/cluster.js' }[name];
  const child = spawn(process.execPath, [join(root, script)], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const origin = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited:\n${output}`);
    const up = await fetch(`${origin}/api/tasks`).then(() => true, () => false);
    if (up) break;
    if (i > 300) throw new Error(`${name} did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const pids = () => {
    if (name !== 'ours×cores') return [child.pid ?? 0];
    try {
      return readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    } catch {
      return [];
    }
  };
  return { name, origin, child, pids };
}

async function stop(server: Server) {
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await exited;
}

/** Resets, and later reads, the kernel's peak-RSS mark (VmHWM) of a server's processes, in MB. */
function resetPeakRss(server: Server) {
  for (const pid of server.pids()) writeFileSync(`/proc/${pid}/clear_refs`, '5');
}
function peakRssMb(server: Server): number {
  return server.pids().reduce((sum, pid) => {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return sum + Number(match?.[1] ?? 0) / 1024;
  }, 0);
}

// --------------------------------------------------------------------------------------------- scenarios

function scenarios(f: Fixture): Scenario[] {
  const taskShape = (value: unknown) => {
    const t = value as Record<string, unknown>;
    assert(typeof t.id === 'string' && typeof t.title === 'string' && typeof t.completed === 'boolean', 'not a task');
    assert(Object.keys(t).sort().join() === 'completed,created_at,id,title,updated_at,user_id', `wrong keys ${Object.keys(t).join()}`);
  };
  const listOf = (count: number) => (_s: ServerName, r: { status: number; body: unknown }) => {
    assert(r.status === 200, `status ${r.status}`);
    assert(Array.isArray(r.body) && r.body.length === count, `expected ${count} tasks, got ${(r.body as unknown[]).length}`);
    (r.body as unknown[]).forEach(taskShape);
  };
  const small = (n: number) => pick(f.smallTasks, n);
  const all: Scenario[] = [
    {
      name: 'list (100 tasks)',
      next: (_s, n) => ({ method: 'GET', path: '/api/tasks', userId: `user${String(n % SMALL_USERS).padStart(3, '0')}` }),
      verify: listOf(SMALL_TASKS),
    },
    {
      name: 'get one',
      next: (_s, n) => ({ method: 'GET', path: `/api/tasks/${small(n).id}`, userId: small(n).userId }),
      verify: (_s, r, req) => {
        assert(r.status === 200, `status ${r.status}`);
        taskShape(r.body);
        assert((r.body as { id: string }).id === req.path.split('/').pop(), 'wrong task');
      },
    },
    {
      name: 'page of 50 (10k user)',
      next: (_s, n) => ({ method: 'GET', path: `/api/tasks?limit=50&cursor=${pick(f.bigCursors, n)}`, userId: f.bigUser }),
      verify: (s, r) => {
        listOf(50)(s, r);
        assert(r.link?.includes('rel="next"'), 'no Link to the next page');
      },
    },
    {
      name: 'full list (10k tasks)',
      slow: true,
      next: () => ({ method: 'GET', path: '/api/tasks', userId: f.bigUser }),
      verify: listOf(BIG_TASKS),
    },
    {
      name: 'full list via GraphQL',
      oursOnly: true,
      slow: true,
      compareWith: 'full list (10k tasks)',
      next: () => ({
        method: 'POST',
        path: '/graphql',
        userId: f.bigUser,
        body: { query: '{ tasks { id title completed userId createdAt updatedAt } }' },
      }),
      verify: (_s, r) => {
        assert(r.status === 200, `status ${r.status}`);
        const tasks = (r.body as { data?: { tasks?: unknown[] } }).data?.tasks;
        assert(Array.isArray(tasks) && tasks.length === BIG_TASKS, 'wrong GraphQL list');
      },
    },
    {
      name: 'toggle',
      next: (_s, n) => ({ method: 'PATCH', path: `/api/tasks/${small(n).id}`, userId: small(n).userId, body: { completed: n % 2 === 0 } }),
      verify: (_s, r, req) => {
        assert(r.status === 200, `status ${r.status}`);
        assert((r.body as { completed: boolean }).completed === (req.body as { completed: boolean }).completed, 'not toggled');
      },
    },
    {
      name: 'rename',
      next: (_s, n) => ({ method: 'PUT', path: `/api/tasks/${small(n).id}`, userId: small(n).userId, body: { title: ` renamed ${n} ` } }),
      verify: (_s, r, req) => {
        assert(r.status === 200, `status ${r.status}`);
        assert((r.body as { title: string }).title === (req.body as { title: string }).title.trim(), 'not renamed');
      },
    },
    {
      name: 'create',
      next: (_s, n) => ({ method: 'POST', path: '/api/tasks', userId: `user${String(n % SMALL_USERS).padStart(3, '0')}`, body: { title: `new ${n}` } }),
      verify: (_s, r, req) => {
        assert(r.status === 201, `status ${r.status}`);
        taskShape(r.body);
        assert((r.body as { user_id: string }).user_id === req.userId, 'wrong owner');
      },
    },
    {
      name: 'delete',
      next: (s, n) => {
        const target = pick(f.deletable[s], n);
        return { method: 'DELETE', path: `/api/tasks/${target.id}`, userId: target.userId };
      },
      verify: (_s, r) => assert(r.status === 204 && r.body === undefined, `status ${r.status}`),
    },
  ];
  return all.filter((s) => !only || only.includes(s.name));
}

// -------------------------------------------------------------------------------------------------- load

function requestInit(f: Fixture, req: Request) {
  return {
    method: req.method,
    path: req.path,
    headers: {
      authorization: `Bearer ${f.tokens.get(req.userId) ?? ''}`,
      ...(req.body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(req.body !== undefined && { body: JSON.stringify(req.body) }),
  };
}

async function verify(f: Fixture, server: Server, scenario: Scenario, counter: { n: number }) {
  for (let i = 0; i < 3; i++) {
    const req = scenario.next(server.name, counter.n++);
    const init = requestInit(f, req);
    const response = await fetch(`${server.origin}${init.path}`, { method: init.method, headers: init.headers, body: init.body });
    const text = await response.text();
    const body: unknown = text === '' ? undefined : JSON.parse(text);
    try {
      scenario.verify(server.name, { status: response.status, body, link: response.headers.get('link') }, req);
    } catch (error) {
      throw new Error(`${server.name} answered ${scenario.name} wrongly (${String(error)}): ${text.slice(0, 300)}`);
    }
  }
}

interface Result {
  scenario: string;
  server: ServerName;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  rssMb: number;
}

async function load(f: Fixture, server: Server, scenario: Scenario, counter: { n: number }): Promise<Result> {
  const run = (seconds: number) =>
    autocannon({
      url: server.origin,
      connections,
      duration: seconds,
      // A 10,000-task list at 100 connections takes seconds per request, on either server.
      timeout: scenario.slow ? 120 : 10,
      // Spread the request autocannon passes in: it carries the host and port the Host header is made of.
      requests: [{ setupRequest: (request) => ({ ...request, ...requestInit(f, scenario.next(server.name, counter.n++)) }) }],
    });
  await run(2); // warm-up: JIT, connection pools, caches
  resetPeakRss(server);
  const result = await run(scenario.slow ? duration * 2 : duration);
  return {
    scenario: scenario.name,
    server: server.name,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
    rssMb: peakRssMb(server),
  };
}

// -------------------------------------------------------------------------------------------------- main

function table(results: Result[], list: Scenario[]): string {
  const bare = (scenario: string) => results.find((r) => r.server === 'bare' && r.scenario === scenario);
  const lines = [
    '| scenario | server | req/s | p50 ms | p99 ms | errors | peak RSS MB | req/s vs bare | p99 vs bare |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    const scenario = list.find((s) => s.name === r.scenario);
    const base = bare(scenario?.compareWith ?? r.scenario);
    const ratio = base && r.server !== 'bare' ? `${((100 * r.rps) / base.rps).toFixed(0)}%` : '';
    const p99 = base && r.server !== 'bare' ? `${(r.p99 / Math.max(base.p99, 1)).toFixed(2)}×` : '';
    lines.push(
      `| ${r.scenario} | ${r.server} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.rssMb.toFixed(0)} | ${ratio} | ${p99} |`,
    );
  }
  return lines.join('\n');
}

const fixture = await prepareDatabase();
console.log('building…');
await new Promise<void>((resolve, reject) =>
  spawn('npm', ['run', '-s', 'build:server'], { cwd: root, stdio: 'inherit' }).once('exit', (code) => (code === 0 ? resolve() : reject(new Error('build failed')))),
);
const servers = [await start('bare', 8401), await start('ours', 8402), ...(withCluster ? [await start('ours×cores', 8403)] : [])];
const list = scenarios(fixture);
const results: Result[] = [];
try {
  for (const [index, scenario] of list.entries()) {
    const counter = { n: 0 };
    const taking = servers.filter((s) => (scenario.oursOnly ? s.name !== 'bare' : true));
    const order = index % 2 === 0 ? taking : [...taking].reverse();
    for (const server of order) await verify(fixture, server, scenario, counter);
    for (const server of order) {
      const result = await load(fixture, server, scenario, counter);
      results.push(result);
      console.log(`${scenario.name.padEnd(24)} ${server.name.padEnd(10)} ${Math.round(result.rps).toString().padStart(6)} req/s  p99 ${result.p99} ms  errors ${result.errors}`);
    }
  }
} finally {
  await Promise.all(servers.map(stop));
}

const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
console.log(`\n${machine}; ${connections} connections, ${duration} s per run\n`);
console.log(table(results, list));
