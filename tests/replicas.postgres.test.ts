/**
 * Read replicas (issue 22): real server processes on a primary and a streaming replica the test builds
 * (tests/support/replication.ts), the replica made to lag with `recovery_min_apply_delay`. A user reads
 * their own writes on another instance, with Redis and without; reads are seen on the replica by its own
 * statistics; a replica stopped mid-run costs no request an error; a lagging replica delays no stream
 * event; one past REPLICA_MAX_LAG_MS is skipped; Redis unreachable sends reads to the primary; the
 * embedded database ignores the setting, saying so.
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TEST_SECRET, signToken } from './support/fixtures.js';
import { POSTGRES_BIN, startReplicatedCluster, type ReplicatedCluster } from './support/replication.js';
import { makeWorkDir, startServer, type RunningServer } from './support/server-process.js';
import { until } from './support/wait.js';
import { openSse, type SseEvent } from './support/sse.js';

if (!POSTGRES_BIN)
  console.warn("PostgreSQL's server binaries (initdb, pg_basebackup) are not installed: the read replica tests are skipped");

const DATABASE = 'replicated';
const workDir = makeWorkDir();
let cluster: ReplicatedCluster;
let stopCluster = () => {};
const servers: RunningServer[] = [];

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: cluster.primaryUrl(DATABASE),
    DATABASE_REPLICA_URLS: cluster.replicaUrl(DATABASE),
    BETTER_AUTH_SECRET: TEST_SECRET,
    RATE_LIMIT_PER_SECOND: '0',
    ...extra,
  };
}

async function start(extra: Record<string, string> = {}): Promise<RunningServer> {
  const server = await startServer(workDir, env(extra));
  servers.push(server);
  return server;
}

async function user() {
  const token = await signToken({ sub: `replica-${randomUUID()}` }, { expiresIn: '10m' });
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  return {
    headers,
    async create(url: string, title: string) {
      const response = await fetch(`${url}/api/tasks`, { method: 'POST', headers, body: JSON.stringify({ title }) });
      expect(response.status).toBe(201);
      return (await response.json()) as { id: string; title: string };
    },
    async rename(url: string, id: string, title: string) {
      const response = await fetch(`${url}/api/tasks/${id}`, { method: 'PUT', headers, body: JSON.stringify({ title }) });
      expect(response.status).toBe(200);
    },
    async get(url: string, id: string) {
      const response = await fetch(`${url}/api/tasks/${id}`, { headers });
      expect(response.status).toBe(200);
      return (await response.json()) as { id: string; title: string };
    },
    async list(url: string) {
      const response = await fetch(`${url}/api/tasks`, { headers });
      expect(response.status).toBe(200);
      return (await response.json()) as { id: string; title: string }[];
    },
  };
}

/** A counter or gauge of the instance's /metrics, summed over the series whose labels contain `labels`. */
async function metric(server: RunningServer, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^(\w+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match?.[1] === name && (match[2] ?? '').includes(labels)) sum += Number(match[3]);
  }
  return sum;
}

const replicaLabel = () => `target="${new URL(cluster.replicaUrl(DATABASE)).host}/${DATABASE}"`;
const primaryLabel = 'target="primary"';

/** Scans of the tasks table the replica itself has counted (a standby keeps its own statistics). */
async function replicaScans(): Promise<number> {
  const client = new pg.Client(cluster.replicaUrl(DATABASE));
  await client.connect();
  try {
    const { rows } = await client.query<{ scans: string }>(
      "SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) AS scans FROM pg_stat_user_tables WHERE relname = 'tasks'",
    );
    return Number(rows[0]?.scans ?? 0);
  } finally {
    await client.end();
  }
}

describe.skipIf(!POSTGRES_BIN)('read replicas', () => {
  let redisPair: [RunningServer, RunningServer];
  let primaryPair: [RunningServer, RunningServer];

  beforeAll(async () => {
    cluster = await startReplicatedCluster();
    stopCluster = () => cluster.stop();
    const admin = new pg.Client(cluster.primaryUrl());
    await admin.connect();
    await admin.query(`CREATE DATABASE ${DATABASE}`);
    await admin.end();
    // One instance migrates first; the others find the schema there.
    const first = await start({ REDIS_URL: 'redis://127.0.0.1:6379/5', REPLICA_MAX_LAG_MS: '10000' });
    const [second, third, fourth] = await Promise.all([
      start({ REDIS_URL: 'redis://127.0.0.1:6379/5', REPLICA_MAX_LAG_MS: '10000' }),
      start({ REPLICA_MAX_LAG_MS: '10000' }),
      start({ REPLICA_MAX_LAG_MS: '10000' }),
    ]);
    redisPair = [first, second];
    primaryPair = [third, fourth];
    await until(async () => (await metric(first, 'db_replica_up')) === 1, { what: 'the replica to be up' });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    stopCluster();
    rmSync(workDir, { recursive: true, force: true });
  });

  test.each([
    ['with Redis', () => redisPair],
    ['without Redis (the primary is asked)', () => primaryPair],
  ])(
    '%s: 1,000 write→read pairs across two instances, the replica lagging 300 ms: no stale read',
    async (_label, pair) => {
      const [one, two] = pair();
      await cluster.setApplyDelay(300);
      try {
        // Four users at once, 250 pairs each: written on one instance, read on the other, alternating.
        const stale: string[] = [];
        await Promise.all(
          Array.from({ length: 4 }, async () => {
            const alice = await user();
            const { id } = await alice.create(one.url, 'v0');
            for (let i = 1; i <= 250; i++) {
              const [writer, reader] = i % 2 ? [one, two] : [two, one];
              await alice.rename(writer.url, id, `v${i}`);
              const seen =
                i % 3 === 0
                  ? (await alice.list(reader.url)).find((task) => task.id === id)?.title
                  : (await alice.get(reader.url, id)).title;
              if (seen !== `v${i}`) stale.push(`wrote v${i}, read ${seen}`);
            }
          }),
        );
        expect(stale).toEqual([]);
      } finally {
        await cluster.setApplyDelay(0);
      }
    },
    120_000,
  );

  test.each([
    ['with Redis', () => redisPair],
    ['without Redis', () => primaryPair],
  ])('%s: the reads of a user who has not just written are served by the replica, as its own statistics show', async (_label, pair) => {
    const [one, two] = pair();
    const bob = await user();
    await bob.create(one.url, 'written once');
    // Once the replica has it, the write is old news.
    await until(async () => (await metric(one, 'db_replica_lag_seconds')) === 0, { what: 'the replica to catch up' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const [scansBefore, replicaReadsBefore] = [await replicaScans(), await metric(two, 'db_reads_total', replicaLabel())];
    for (let i = 0; i < 20; i++) expect((await bob.list(two.url)).map((task) => task.title)).toEqual(['written once']);
    expect(await metric(two, 'db_reads_total', replicaLabel())).toBe(replicaReadsBefore + 20);
    // A backend sends its statistics about a second after it goes idle.
    await until(async () => (await replicaScans()) - scansBefore >= 20, {
      what: "the replica's statistics to count 20 more scans of tasks",
    });
  });

  test('a replica stopped mid-run: no request fails, reads move to the primary, and back once it returns', async () => {
    const [one, two] = redisPair;
    const carol = await user();
    const { id } = await carol.create(one.url, 'carol');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const failures: string[] = [];
    let reading = true;
    const readers = Array.from({ length: 4 }, async (_, n) => {
      for (let i = 0; reading; i++) {
        const url = (n + i) % 2 ? one.url : two.url;
        const response = await fetch(i % 2 ? `${url}/api/tasks` : `${url}/api/tasks/${id}`, { headers: carol.headers });
        if (response.status !== 200) failures.push(`${response.status} ${await response.text()}`);
      }
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const primaryBefore = await metric(one, 'db_reads_total', primaryLabel);
      cluster.stopReplica();
      await until(async () => (await metric(one, 'db_replica_up')) === 0, { what: 'the replica to be seen down' });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await metric(one, 'db_reads_total', primaryLabel)).toBeGreaterThan(primaryBefore);
      cluster.startReplica();
      await until(async () => (await metric(one, 'db_replica_up')) === 1, { what: 'the replica to be seen up again' });
      const replicaAgain = await metric(one, 'db_reads_total', replicaLabel());
      await until(async () => (await metric(one, 'db_reads_total', replicaLabel())) > replicaAgain + 10, {
        what: 'reads to return to the replica',
      });
    } finally {
      reading = false;
      await Promise.all(readers);
    }
    expect(failures).toEqual([]);
  }, 60_000);

  test('a stream on another instance loses and delays nothing while its replica lags 2 s', async () => {
    const [one, two] = redisPair;
    const dave = await user();
    await cluster.setApplyDelay(2_000);
    const stream = await openSse(`${two.url}/api/tasks/events`, { authorization: dave.headers.authorization });
    try {
      for (let i = 0; i < 20; i++) {
        const sent = performance.now();
        const { id } = await dave.create(one.url, `event ${i}`);
        const event = (await stream.next(1_500)) as SseEvent;
        expect(event.event).toBe('task.created');
        expect(JSON.parse(event.data)).toMatchObject({ id, title: `event ${i}` });
        // Far less than the replica's delay: the event was read from the primary.
        expect(performance.now() - sent).toBeLessThan(1_000);
      }
    } finally {
      stream.close();
      await cluster.setApplyDelay(0);
    }
  }, 60_000);

  test('a replica lagging past REPLICA_MAX_LAG_MS is skipped, also by an instance started meanwhile, and used again once it catches up', async () => {
    const strict = await start({ REPLICA_MAX_LAG_MS: '500' });
    const erin = await user();
    await erin.create(strict.url, 'erin');
    const frank = await user();
    await until(async () => (await metric(strict, 'db_replica_up')) === 1, { what: 'the replica to be up' });
    await cluster.setApplyDelay(2_000);
    const load = { writing: true };
    const writer = (async () => {
      for (let i = 0; load.writing; i++) {
        await frank.create(strict.url, `load ${i}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    try {
      await until(async () => (await metric(strict, 'db_replica_lag_seconds')) > 0.5, { what: 'the replica to lag past 500 ms' });
      const replicaReads = await metric(strict, 'db_reads_total', replicaLabel());
      for (let i = 0; i < 10; i++) expect((await erin.list(strict.url)).map((task) => task.title)).toEqual(['erin']);
      expect(await metric(strict, 'db_reads_total', replicaLabel())).toBe(replicaReads);
      // An instance started now has no history of the primary's positions: it cannot tell the replica's lag
      // yet, and must not take it for none.
      const late = await start({ REPLICA_MAX_LAG_MS: '500' });
      await until(async () => (await metric(late, 'db_replica_up')) === 1, { what: 'the late instance to see the replica' });
      for (let i = 0; i < 10; i++) expect((await erin.list(late.url)).map((task) => task.title)).toEqual(['erin']);
      expect(await metric(late, 'db_reads_total', replicaLabel())).toBe(0);
    } finally {
      load.writing = false;
      await writer;
      await cluster.setApplyDelay(0);
    }
    await until(async () => (await metric(strict, 'db_replica_lag_seconds')) === 0, { what: 'the replica to catch up' });
    const replicaReads = await metric(strict, 'db_reads_total', replicaLabel());
    await erin.list(strict.url);
    expect(await metric(strict, 'db_reads_total', replicaLabel())).toBe(replicaReads + 1);
  }, 60_000);

  test('Redis unreachable: writes are answered, and reads go to the primary', async () => {
    const cut = await start({ REDIS_URL: 'redis://127.0.0.1:1' });
    await until(async () => (await metric(cut, 'db_replica_up')) === 1, { what: 'the replica to be up' });
    const grace = await user();
    const { id } = await grace.create(cut.url, 'before');
    await grace.rename(cut.url, id, 'after');
    expect((await grace.get(cut.url, id)).title).toBe('after');
    expect(await metric(cut, 'db_reads_total', replicaLabel())).toBe(0);
    expect(await metric(cut, 'db_reads_total', primaryLabel)).toBe(1);
    expect(cut.output()).toContain('Redis unreachable');
  });

  test('the embedded database ignores DATABASE_REPLICA_URLS, with a warning', async () => {
    const embedded = await startServer(workDir, {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PGLITE_DATA_DIR: 'memory://',
      BETTER_AUTH_SECRET: TEST_SECRET,
      DATABASE_REPLICA_URLS: cluster.replicaUrl(DATABASE),
    });
    servers.push(embedded);
    expect(embedded.output()).toContain('DATABASE_REPLICA_URLS is ignored');
    const henry = await user();
    expect((await henry.create(embedded.url, 'local')).title).toBe('local');
  });
});
