/**
 * Running in production on PostgreSQL, with the faults made for real: server processes, a TCP proxy
 * between them and PostgreSQL that the tests cut, stall and slow down, signals, kill -9, several
 * instances at once. Timeouts are shortened (connect 500 ms, statements 1 s) so faults show quickly.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { testDatabaseUrl } from './support/database.js';
import { TEST_SECRET, signToken } from './support/fixtures.js';
import { connectionsOf, createScratchDatabase, query, type ScratchDatabase } from './support/postgres.js';
import { makeWorkDir, root, startServer, tsx, type RunningServer } from './support/server-process.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';
import { until } from './support/wait.js';

const workDir = makeWorkDir();
const target = new URL(testDatabaseUrl());
let proxy: TcpProxy;

beforeAll(async () => {
  proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
});

afterAll(async () => {
  await proxy.close();
  rmSync(workDir, { recursive: true, force: true });
});

function serverEnv(databaseUrl: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: databaseUrl,
    BETTER_AUTH_SECRET: TEST_SECRET,
    LOG_LEVEL: 'info',
    DATABASE_CONNECT_TIMEOUT_MS: '500',
    DATABASE_STATEMENT_TIMEOUT_MS: '1000',
    // These tests load one user far past any request rate; tests/rate-limits.test.ts is about that.
    RATE_LIMIT_PER_SECOND: '0',
    ...extra,
  };
}

/** The database URL through the proxy, tagged so its connections can be counted in pg_stat_activity. */
function viaProxy(url: string, applicationName: string): string {
  const proxied = new URL(proxy.url(url));
  proxied.searchParams.set('application_name', applicationName);
  return proxied.toString();
}

function tagged(url: string, applicationName: string): string {
  const tagged = new URL(url);
  tagged.searchParams.set('application_name', applicationName);
  return tagged.toString();
}

async function as(user: string) {
  return { authorization: `Bearer ${await signToken({ sub: user }, { expiresIn: '10m' })}`, 'content-type': 'application/json' };
}

async function timed(fn: () => Promise<Response>) {
  const started = performance.now();
  const response = await fn();
  const text = await response.text();
  return { status: response.status, text, headers: response.headers, ms: performance.now() - started };
}

describe('health', () => {
  test('/healthz and /readyz answer without a token and stay out of the request log', async () => {
    const server = await startServer(workDir, serverEnv(testDatabaseUrl()));
    try {
      const healthz = await fetch(`${server.url}/healthz`);
      const readyz = await fetch(`${server.url}/readyz`);
      expect(healthz.status).toBe(200);
      expect(readyz.status).toBe(200);
      expect(await readyz.json()).toEqual({ status: 'ready' });
      await fetch(`${server.url}/api/tasks`, { headers: await as(`health-${randomUUID()}`) });
      await new Promise((r) => setTimeout(r, 200));

      expect(server.output()).toContain('"route":"/api/tasks"');
      expect(server.output()).not.toMatch(/"route":"\/(healthz|readyz)"/);
    } finally {
      await server.stop();
    }
  });
});

describe('database faults', () => {
  test('down at start: the process stays up and answers 503, then gets ready by itself', async () => {
    const database = await createScratchDatabase();
    const app = `down-at-start-${randomUUID().slice(0, 8)}`;
    proxy.setMode('cut');
    const server = await startServer(workDir, serverEnv(viaProxy(database.url, app)), { waitReady: false });
    try {
      const readyz = await timed(() => fetch(`${server.url}/readyz`));
      const list = await timed(async () => fetch(`${server.url}/api/tasks`, { headers: await as('alice') }));
      expect(readyz.status).toBe(503);
      expect(JSON.parse(readyz.text)).toEqual({ status: 'not ready', reason: 'database unavailable' });
      expect(list.status).toBe(503);
      expect(JSON.parse(list.text)).toEqual({ detail: 'Service unavailable', code: 'SERVICE_UNAVAILABLE' });
      expect(list.headers.get('retry-after')).toBe('5');
      expect(list.ms).toBeLessThan(3_000);
      expect(server.child.exitCode).toBeNull();

      proxy.setMode('up');
      await until(async () => (await fetch(`${server.url}/readyz`)).status === 200, { everyMs: 200 });
      const created = await fetch(`${server.url}/api/tasks`, {
        method: 'POST',
        headers: await as('alice'),
        body: '{"title":"after the outage"}',
      });
      expect(created.status).toBe(201);
    } finally {
      proxy.setMode('up');
      await server.stop();
      await database.drop();
    }
  });

  test.for(['cut', 'stall'] as const)(
    'when the database goes away mid-run (%s), requests fail fast with 503 and recover by themselves',
    async (mode) => {
      const server = await startServer(workDir, serverEnv(viaProxy(testDatabaseUrl(), `midrun-${mode}`)));
      const headers = await as(`midrun-${randomUUID()}`);
      try {
        expect((await fetch(`${server.url}/api/tasks`, { headers })).status).toBe(200);

        proxy.setMode(mode);
        for (let i = 0; i < 3; i++) {
          const response = await timed(() => fetch(`${server.url}/api/tasks`, { headers }));
          expect(response.status).toBe(503);
          expect(response.ms).toBeLessThan(4_000);
        }
        const graphql = await timed(() =>
          fetch(`${server.url}/graphql`, { method: 'POST', headers, body: '{"query":"{ tasks { id } }"}' }),
        );
        expect(graphql.status).toBe(503);
        expect((await timed(() => fetch(`${server.url}/healthz`))).status).toBe(200);
        // Readiness is remembered for a second; within a few it says what happened.
        await until(async () => (await fetch(`${server.url}/readyz`)).status === 503, { timeoutMs: 5_000, everyMs: 200 });
        expect(server.child.exitCode).toBeNull();

        proxy.setMode('up');
        await until(async () => (await fetch(`${server.url}/api/tasks`, { headers })).status === 200);
        expect((await fetch(`${server.url}/api/tasks`, { method: 'POST', headers, body: '{"title":"back"}' })).status).toBe(201);
      } finally {
        proxy.setMode('up');
        await server.stop();
      }
      expect(server.output()).not.toContain('"level":60');
    },
  );

  test('more requests than connections queue for a bounded time, then 503, while health checks answer', async () => {
    const server = await startServer(workDir, serverEnv(viaProxy(testDatabaseUrl(), 'exhausted'), { DATABASE_POOL_SIZE: '2' }));
    const headers = await as(`exhausted-${randomUUID()}`);
    try {
      proxy.delayMs = 700;
      proxy.setMode('slow');
      const burst = Promise.all(Array.from({ length: 12 }, () => timed(() => fetch(`${server.url}/api/tasks`, { headers }))));
      await new Promise((r) => setTimeout(r, 300));
      const health = await timed(() => fetch(`${server.url}/healthz`));
      const responses = await burst;

      expect(health.status).toBe(200);
      expect(health.ms).toBeLessThan(500);
      const statuses = responses.map((r) => r.status);
      expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
      expect(statuses).toContain(503);
      expect(Math.max(...responses.map((r) => r.ms))).toBeLessThan(6_000);
    } finally {
      proxy.setMode('up');
      await server.stop();
    }
  });
});

describe('graceful shutdown', () => {
  /** GET on a fresh connection each time, so a refused connection is told apart from a failed request. */
  function get(url: string, headers: Record<string, string>): Promise<{ status?: number; error?: string }> {
    return new Promise((resolve) => {
      const req = httpRequest(url, { headers, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode }));
        res.on('error', (error) => resolve({ error: error.message }));
      });
      req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
      req.end();
    });
  }

  test('under load, SIGTERM lets every request in flight finish, closes its connections and exits 0', async () => {
    const app = `graceful-${randomUUID().slice(0, 8)}`;
    const server = await startServer(workDir, serverEnv(tagged(testDatabaseUrl(), app)));
    const headers = await as(`graceful-${randomUUID()}`);
    const outcomes: { id: string; status?: number; error?: string }[] = [];
    let running = true;
    const workers = Array.from({ length: 16 }, async () => {
      while (running) {
        const id = randomUUID();
        outcomes.push({ id, ...(await get(`${server.url}/api/tasks`, { ...headers, 'x-request-id': id })) });
      }
    });
    await new Promise((r) => setTimeout(r, 1_000));

    const code = await server.stop('SIGTERM');
    running = false;
    await Promise.all(workers);

    expect(code).toBe(0);
    // What the server took in, from its request log: each of those must have been answered 200.
    const handled = new Map(
      server
        .output()
        .split('\n')
        .filter((line) => line.includes('"msg":"request"'))
        .map((line) => JSON.parse(line) as { reqId: string; status: number })
        .map((entry) => [entry.reqId, entry.status]),
    );
    expect(handled.size).toBeGreaterThan(20);
    expect([...handled.values()].every((status) => status === 200)).toBe(true);
    for (const outcome of outcomes) {
      if (handled.has(outcome.id)) expect(outcome).toEqual({ id: outcome.id, status: 200 });
      // The rest never reached the server: refused or reset by the closed listener, for a retry elsewhere.
      else expect(outcome.error).toMatch(/^(ECONNREFUSED|ECONNRESET)$/);
    }
    expect(await connectionsOf(app)).toBe(0);
    expect(server.output()).toContain('"msg":"stopped"');
  });

  test('a request in flight on a slow database still completes before the exit', async () => {
    const server = await startServer(workDir, serverEnv(viaProxy(testDatabaseUrl(), 'graceful-slow')));
    const headers = await as(`slow-${randomUUID()}`);
    proxy.delayMs = 400;
    proxy.setMode('slow');
    try {
      const inFlight = timed(() => fetch(`${server.url}/api/tasks`, { headers }));
      await new Promise((r) => setTimeout(r, 150));
      const exit = server.stop('SIGTERM');

      expect((await inFlight).status).toBe(200);
      expect(await exit).toBe(0);
    } finally {
      proxy.setMode('up');
    }
  });

  test('a second signal, or a request still running after the grace period, exits 1', async () => {
    for (const [extra, signals] of [
      [{ SHUTDOWN_GRACE_MS: '30000' }, ['SIGTERM', 'SIGTERM']],
      [{ SHUTDOWN_GRACE_MS: '500' }, ['SIGTERM']],
    ] as const) {
      const env = serverEnv(viaProxy(testDatabaseUrl(), 'forced'), { ...extra, DATABASE_STATEMENT_TIMEOUT_MS: '20000' });
      const server = await startServer(workDir, env);
      try {
        // The pool holds a connection now; stalled, a query on it hangs until the 20 s statement timeout.
        proxy.setMode('stall');
        void fetch(`${server.url}/api/tasks`, { headers: await as('stuck') }).catch(() => {});
        await new Promise((r) => setTimeout(r, 300));
        const started = performance.now();
        for (const signal of signals) {
          server.child.kill(signal);
          await new Promise((r) => setTimeout(r, 100));
        }

        expect(await server.exited).toBe(1);
        expect(performance.now() - started).toBeLessThan(3_000);
      } finally {
        proxy.setMode('up');
        server.child.kill('SIGKILL');
      }
    }
  });
});

describe('one instance per core (npm run start:cluster)', () => {
  test('Ctrl+C lets every worker finish its requests in flight; the primary exits 0 after the last', async () => {
    const server = await startServer(
      workDir,
      serverEnv(viaProxy(testDatabaseUrl(), 'cluster'), { WEB_CONCURRENCY: '2', DATABASE_CONNECT_TIMEOUT_MS: '5000' }),
      {
        entry: 'src/cluster.ts',
        detached: true,
      },
    );
    const headers = await as(`cluster-${randomUUID()}`);
    try {
      await until(() => Promise.resolve(server.output().split('"msg":"task gateway listening"').length === 3));
      proxy.delayMs = 400;
      proxy.setMode('slow');
      // Six at once need new connections; through the slowed proxy each takes a few round trips of 400 ms.
      const inFlight = Array.from({ length: 6 }, () => timed(() => fetch(`${server.url}/api/tasks`, { headers })));
      await new Promise((r) => setTimeout(r, 150));
      // A terminal's Ctrl+C reaches every process of the group: the primary and each worker.
      process.kill(-(server.child.pid ?? 0), 'SIGINT');

      expect((await Promise.all(inFlight)).map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
      expect(await server.exited).toBe(0);
      const output = server.output();
      expect(output.split('"msg":"stopped"').length).toBe(3);
      expect(output).toContain('"msg":"all workers stopped"');
      expect(output).not.toContain('second signal');
      expect(output).not.toMatch(/ERR_IPC|"level":(50|60)/);
    } finally {
      proxy.setMode('up');
      server.child.kill('SIGKILL');
    }
  });

  test('a worker that cannot finish in time makes the primary exit 1', async () => {
    const env = serverEnv(viaProxy(testDatabaseUrl(), 'cluster-forced'), {
      WEB_CONCURRENCY: '2',
      SHUTDOWN_GRACE_MS: '500',
      DATABASE_STATEMENT_TIMEOUT_MS: '20000',
    });
    const server = await startServer(workDir, env, { entry: 'src/cluster.ts' });
    try {
      proxy.setMode('stall');
      void fetch(`${server.url}/api/tasks`, { headers: await as('stuck') }).catch(() => {});
      await new Promise((r) => setTimeout(r, 300));
      server.child.kill('SIGTERM');

      expect(await server.exited).toBe(1);
      expect(server.output()).toContain('requests still running at the end of the grace period');
    } finally {
      proxy.setMode('up');
      server.child.kill('SIGKILL');
    }
  });
});

describe('no lost or torn writes', () => {
  let server: RunningServer;
  beforeAll(async () => {
    // Production's waits (5 s for a connection): these tests load the pool on purpose.
    server = await startServer(
      workDir,
      serverEnv(testDatabaseUrl(), { DATABASE_CONNECT_TIMEOUT_MS: '5000', DATABASE_STATEMENT_TIMEOUT_MS: '10000' }),
    );
  });
  afterAll(async () => {
    await server.stop();
  });

  test('concurrent renames, toggles and deletes of one task end in a state some serial order gives', async () => {
    const headers = await as(`race-${randomUUID()}`);
    const created = await fetch(`${server.url}/api/tasks`, { method: 'POST', headers, body: '{"title":"start"}' });
    const { id } = (await created.json()) as { id: string };
    const operations = Array.from({ length: 60 }, (_, i) => {
      if (i === 45) return { method: 'DELETE', body: undefined };
      return i % 2 === 0
        ? { method: 'PUT', body: JSON.stringify({ title: `title ${i}` }) }
        : { method: 'PATCH', body: JSON.stringify({ completed: i % 4 === 1 }) };
    });

    const results = await Promise.all(
      operations.map(async (op) => {
        const response = await fetch(`${server.url}/api/tasks/${id}`, { method: op.method, headers, body: op.body });
        const text = await response.text();
        return { op, status: response.status, body: text ? (JSON.parse(text) as { title: string; completed: boolean }) : undefined };
      }),
    );

    expect(results.every((r) => r.status < 500)).toBe(true);
    const deleted = results.filter((r) => r.op.method === 'DELETE');
    expect(deleted.map((r) => r.status)).toEqual([204]);
    for (const r of results.filter((r) => r.status === 200)) {
      // Every acknowledged write saw a whole task: a title some rename set, never a mixture.
      expect(r.body?.title).toMatch(/^(start|title \d+)$/);
    }
    expect(results.filter((r) => r.op.method !== 'DELETE').every((r) => r.status === 200 || r.status === 404)).toBe(true);
    expect((await fetch(`${server.url}/api/tasks/${id}`, { headers })).status).toBe(404);
  });

  test('the last acknowledged rename is what stays, when nobody deletes', async () => {
    const headers = await as(`race2-${randomUUID()}`);
    const { id } = (await (await fetch(`${server.url}/api/tasks`, { method: 'POST', headers, body: '{"title":"start"}' })).json()) as {
      id: string;
    };
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        fetch(`${server.url}/api/tasks/${id}`, {
          method: i % 2 ? 'PATCH' : 'PUT',
          headers,
          body: i % 2 ? JSON.stringify({ completed: true }) : JSON.stringify({ title: `t${i}` }),
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as { title: string; updated_at: string } })),
      ),
    );

    expect(results.every((r) => r.status === 200)).toBe(true);
    const final = (await (await fetch(`${server.url}/api/tasks/${id}`, { headers })).json()) as { title: string; completed: boolean };
    const latest = results.reduce((a, b) => (Date.parse(b.body.updated_at) >= Date.parse(a.body.updated_at) ? b : a));
    expect(final.completed).toBe(true);
    expect(results.map((r) => r.body.title)).toContain(final.title);
    expect(Date.parse(latest.body.updated_at)).toBeGreaterThan(0);
  });

  test('100 users creating at once: every acknowledged task is in the database', async () => {
    const users = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => ({ id: `crowd-${i}-${randomUUID()}`, headers: await as(`crowd-${i}`) })),
    );
    const responses = await Promise.all(
      users.map(async (_, i) => {
        const headers = await as(users[i]?.id ?? '');
        const response = await fetch(`${server.url}/api/tasks`, { method: 'POST', headers, body: JSON.stringify({ title: `crowd ${i}` }) });
        return { status: response.status, body: (await response.json()) as { id: string; user_id: string } };
      }),
    );

    expect(responses.every((r) => r.status === 201)).toBe(true);
    const ids = responses.map((r) => r.body.id);
    const stored = await query<{ id: string; user_id: string }>('SELECT id, user_id FROM tasks WHERE id = ANY($1::uuid[])', [ids]);
    expect(stored).toHaveLength(100);
    expect(new Set(stored.map((s) => s.user_id))).toEqual(new Set(users.map((u) => u.id)));
  });

  test('a write acknowledged just before kill -9 is there after the restart', async () => {
    const victim = await startServer(workDir, serverEnv(testDatabaseUrl()));
    const headers = await as(`durable-${randomUUID()}`);
    const response = await fetch(`${victim.url}/api/tasks`, { method: 'POST', headers, body: '{"title":"acknowledged"}' });
    expect(response.status).toBe(201);
    await victim.stop('SIGKILL');
    const { id } = (await response.json()) as { id: string };

    const revived = await startServer(workDir, serverEnv(testDatabaseUrl()));
    try {
      const fetched = await fetch(`${revived.url}/api/tasks/${id}`, { headers });
      expect(fetched.status).toBe(200);
      expect(await fetched.json()).toMatchObject({ id, title: 'acknowledged' });
    } finally {
      await revived.stop();
    }
  });
});

describe('many instances', () => {
  test('two instances on one database serve one consistent dataset', async () => {
    const [a, b] = await Promise.all([
      startServer(workDir, serverEnv(testDatabaseUrl())),
      startServer(workDir, serverEnv(testDatabaseUrl())),
    ]);
    const headers = await as(`fleet-${randomUUID()}`);
    try {
      const created = (await (await fetch(`${a.url}/api/tasks`, { method: 'POST', headers, body: '{"title":"made on A"}' })).json()) as {
        id: string;
      };
      expect(await (await fetch(`${b.url}/api/tasks/${created.id}`, { headers })).json()).toMatchObject({ title: 'made on A' });

      await fetch(`${b.url}/api/tasks/${created.id}`, { method: 'PATCH', headers, body: '{"completed":true}' });
      expect(await (await fetch(`${a.url}/api/tasks/${created.id}`, { headers })).json()).toMatchObject({ completed: true });
      await fetch(`${b.url}/api/tasks`, { method: 'POST', headers, body: '{"title":"made on B"}' });

      const [listA, listB] = await Promise.all([a, b].map(async (s) => (await fetch(`${s.url}/api/tasks`, { headers })).json()));
      expect(listA).toEqual(listB);
      expect((listA as unknown[]).length).toBe(2);

      expect((await fetch(`${a.url}/api/tasks/${created.id}`, { method: 'DELETE', headers })).status).toBe(204);
      expect((await fetch(`${b.url}/api/tasks/${created.id}`, { headers })).status).toBe(404);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

describe('migrations in a fleet', () => {
  let database: ScratchDatabase;
  beforeAll(async () => {
    database = await createScratchDatabase();
  });
  afterAll(async () => {
    await database.drop();
  });

  test('two instances starting at once on an empty database migrate it exactly once', async () => {
    const servers = await Promise.all([startServer(workDir, serverEnv(database.url)), startServer(workDir, serverEnv(database.url))]);
    try {
      const rows = await query<{ migration_name: string; finished_at: Date | null; rolled_back_at: Date | null }>(
        'SELECT migration_name, finished_at, rolled_back_at FROM _prisma_migrations',
        [],
        database.url,
      );
      expect(rows.length).toBeGreaterThan(0);
      expect(new Set(rows.map((r) => r.migration_name)).size).toBe(rows.length);
      expect(rows.every((r) => r.finished_at !== null && r.rolled_back_at === null)).toBe(true);
      for (const server of servers) expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  });

  test('a migration that fails is fatal: logged, and the process exits 1 instead of waiting for ever', async () => {
    const fresh = await createScratchDatabase();
    try {
      // A table of the same name already there: the first migration's CREATE TABLE fails.
      await query('CREATE TABLE tasks (id int)', [], fresh.url);
      const server = await startServer(workDir, serverEnv(fresh.url), { waitReady: false });

      expect(await server.exited).toBe(1);
      expect(server.output()).toMatch(/"level":60.*"msg":"migrations failed"/);
      expect(server.output()).not.toContain('migrations not applied yet');
    } finally {
      await fresh.drop();
    }
  });

  test('with MIGRATE_ON_START=false an instance is not ready until `npm run db:migrate` has run', async () => {
    const fresh = await createScratchDatabase();
    const server = await startServer(workDir, serverEnv(fresh.url, { MIGRATE_ON_START: 'false' }), { waitReady: false });
    try {
      const before = await fetch(`${server.url}/readyz`);
      expect(before.status).toBe(503);
      expect(await before.json()).toEqual({ status: 'not ready', reason: 'migrations not applied' });
      expect((await fetch(`${server.url}/api/tasks`, { headers: await as('early') })).status).toBe(503);

      const migrate = spawnSync(tsx, [join(root, 'src/commands/migrate.ts')], {
        cwd: workDir,
        env: serverEnv(fresh.url),
        encoding: 'utf8',
      });
      expect(migrate.status, migrate.stderr).toBe(0);
      expect(migrate.stdout).toContain('applied:');

      await until(async () => (await fetch(`${server.url}/readyz`)).status === 200, { timeoutMs: 5_000, everyMs: 200 });
      expect((await fetch(`${server.url}/api/tasks`, { headers: await as('late') })).status).toBe(200);
    } finally {
      await server.stop();
      await fresh.drop();
    }
  });
});
