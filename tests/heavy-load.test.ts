/**
 * Heavy and hostile load on whole lists, over real sockets: they are streamed a chunk at a time and
 * only as fast as the client reads; pipelined requests are answered one at a time; work stops when the
 * client goes; a client that stops reading is cut after SEND_TIMEOUT_MS; and one user's flood does not
 * hold up another user (or /healthz) — on PostgreSQL and on the embedded database alike.
 */
import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import type { PrismaClient } from '../src/db/client.js';
import { LIST_CHUNK_SIZE } from '../src/resolvers/task-list.js';
import { openTestDatabase } from './support/database.js';
import { listReadOf } from './support/list-reads.js';
import { createTestApp, describe, expect, send, signToken, test, type TestApp } from './support/fixtures.js';
import { until } from './support/wait.js';

const BIG = 5_000;
let api: TestApp;
let origin: string;
let big: { id: string; authorization: string };
/** Chunks of streamed lists read from the database, per user. */
const chunksRead = new Map<string, number>();

beforeAll(async () => {
  const database = await openTestDatabase();
  const counted = database.prisma.$extends({
    query: {
      $queryRaw({ args, query }) {
        const read = listReadOf(args);
        if (read?.take === LIST_CHUNK_SIZE + 1) chunksRead.set(read.userId, (chunksRead.get(read.userId) ?? 0) + 1);
        return query(args);
      },
    },
  }) as unknown as PrismaClient;
  api = await createTestApp({ database, prisma: counted, env: { SEND_TIMEOUT_MS: '2000', METRICS_TOKEN: 'metrics-token-for-heavy-load' } });
  onTestFinished = () => database.close();
  origin = await api.listen();
  big = { id: `big-${randomUUID()}`, authorization: '' };
  big.authorization = `Bearer ${await signToken({ sub: big.id }, { expiresIn: '30m' })}`;
  const { prisma } = api.database;
  await prisma.user.create({ data: { id: big.id } });
  const start = Date.now() - BIG * 1000;
  await prisma.task.createMany({
    data: Array.from({ length: BIG }, (_, i) => ({
      userId: big.id,
      title: `task ${i}`,
      createdAt: new Date(start + i * 1000),
      completed: i % 3 === 0,
    })),
  });
}, 60_000);
let onTestFinished = () => Promise.resolve();
afterAll(async () => {
  await api.close();
  await onTestFinished();
});

/** Opens a connection, sends `requests` (pipelined, as one write) and never reads. */
async function sendWithoutReading(raw: string): Promise<Socket> {
  const socket = connect(Number(new URL(origin).port), '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.pause();
  socket.on('error', () => {});
  socket.write(raw);
  return socket;
}

const wholeList = (authorization: string) => `GET /api/tasks HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${authorization}\r\n\r\n`;

async function restListsStarted(): Promise<number> {
  const scrape = await send(api.app, 'GET', '/metrics', { headers: { authorization: 'Bearer metrics-token-for-heavy-load' } });
  return Number(/graphql_operations_total\{source="rest",type="query",name="tasks_query"\} (\d+)/.exec(scrape.text)?.[1] ?? 0);
}

async function timedGet(path: string, authorization?: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const response = await fetch(`${origin}${path}`, { headers: authorization ? { authorization } : {} });
  await response.arrayBuffer();
  return { status: response.status, ms: performance.now() - started };
}

describe('a whole list', () => {
  test('is streamed in chunks: the same JSON array as the pages put together, newest first, with a filter', async () => {
    const response = await fetch(`${origin}/api/tasks?completed=true`, { headers: { authorization: big.authorization } });
    const tasks = (await response.json()) as { title: string; completed: boolean }[];

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(response.headers.get('transfer-encoding')).toBe('chunked');
    const expected = Array.from({ length: BIG }, (_, i) => BIG - 1 - i).filter((i) => i % 3 === 0);
    expect(expected.length).toBeGreaterThan(LIST_CHUNK_SIZE);
    expect(tasks.map((t) => t.title)).toEqual(expected.map((i) => `task ${i}`));
    expect(tasks.every((t) => t.completed)).toBe(true);
    expect(Object.keys(tasks[0] ?? {})).toEqual(['id', 'title', 'completed', 'user_id', 'created_at', 'updated_at']);
  });

  test('an empty list is []', async () => {
    const response = await fetch(`${origin}/api/tasks`, {
      headers: { authorization: `Bearer ${await signToken({ sub: `empty-${randomUUID()}` })}` },
    });
    expect(await response.text()).toBe('[]');
  });
});

describe('clients that do not read', () => {
  test('60 whole lists by one user, closed at once: another user and /healthz are answered within 3 s, and the work stops', async () => {
    const victim = `Bearer ${await signToken({ sub: `victim-${randomUUID()}` })}`;
    const before = chunksRead.get(big.id) ?? 0;
    const sockets = await Promise.all(Array.from({ length: 60 }, () => sendWithoutReading(wholeList(big.authorization))));
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (const socket of sockets) socket.destroy();

    const timings = [];
    for (let i = 0; i < 10; i++) {
      timings.push(await timedGet('/api/tasks', victim));
      timings.push(await timedGet('/healthz'));
    }

    expect(timings.every((t) => t.status === 200)).toBe(true);
    expect(Math.max(...timings.map((t) => t.ms)), timings.map((t) => Math.round(t.ms)).join(' ')).toBeLessThan(3_000);
    // A whole list is BIG / LIST_CHUNK_SIZE chunks (20; 1,200 for all sixty): an abandoned one stops at the first chunk it
    // cannot write — Node notices a connection closed under a pending request only when it writes to it —
    // or is dropped before it starts, when Node has noticed by then.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((chunksRead.get(big.id) ?? 0) - before).toBeLessThanOrEqual(2 * 60 + 10);
  });

  test('whole lists abandoned at every moment of their start never keep their user waiting afterwards', async () => {
    const user = { authorization: `Bearer ${await signToken({ sub: `quitter-${randomUUID()}` })}` };
    await fetch(`${origin}/api/tasks`, {
      method: 'POST',
      headers: { ...user, 'content-type': 'application/json' },
      body: '{"title":"one"}',
    });
    for (let round = 0; round < 30; round++) {
      const sockets = await Promise.all(Array.from({ length: 4 }, () => sendWithoutReading(wholeList(user.authorization))));
      await new Promise((resolve) => setTimeout(resolve, round % 6));
      for (const socket of sockets) socket.destroy();
    }
    await new Promise((resolve) => setTimeout(resolve, 200));

    const response = await fetch(`${origin}/api/tasks`, { headers: user, signal: AbortSignal.timeout(5_000) });
    expect(response.status).toBe(200);
    expect(((await response.json()) as unknown[]).length).toBe(1);
  });

  test("one user's 30 non-reading whole lists: another user's list and /healthz are answered within 3 s", async () => {
    const sockets = await Promise.all(Array.from({ length: 30 }, () => sendWithoutReading(wholeList(big.authorization))));
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const victim = `Bearer ${await signToken({ sub: `victim-${randomUUID()}` })}`;
      const timings = [];
      for (let i = 0; i < 10; i++) {
        timings.push(await timedGet('/api/tasks', victim));
        timings.push(await timedGet('/healthz'));
      }

      expect(timings.every((t) => t.status === 200)).toBe(true);
      expect(Math.max(...timings.map((t) => t.ms))).toBeLessThan(3_000);
    } finally {
      for (const socket of sockets) socket.destroy();
    }
  });

  test('pipelined whole lists on one connection are answered one at a time, and the rest never start once it goes', async () => {
    const before = await restListsStarted();
    const socket = await sendWithoutReading(wholeList(big.authorization).repeat(50));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const whileConnected = (await restListsStarted()) - before;
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 500));

    // Each list (~1 MB) starts once the one before it has gone into the socket's buffers, which hold a
    // few: then the connection stalls, and the other forty-odd never start.
    expect(whileConnected).toBeGreaterThanOrEqual(1);
    expect(whileConnected).toBeLessThan(20);
    expect((await restListsStarted()) - before).toBe(whileConnected);
  });

  test('a connection whose answers make no progress for SEND_TIMEOUT_MS is cut', async () => {
    // The server's end of the next connection: a paused client only sees the close once it reads.
    const serverSide = new Promise<Socket>((resolve) => api.app.server.once('connection', resolve));
    // Twenty lists of ~1 MB, pipelined: more than the kernel's socket buffers hold, so the answer stalls.
    const socket = await sendWithoutReading(wholeList(big.authorization).repeat(20));
    const started = performance.now();
    await new Promise((resolve) => void serverSide.then((server) => server.once('close', resolve)));
    socket.destroy();

    // SEND_TIMEOUT_MS is 2 s here: cut after the answer stalled for that long, not before.
    expect(performance.now() - started).toBeGreaterThan(2_000);
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});

describe('GraphQL whole lists', () => {
  test(`hold at most 10,000 tasks in one answer, aliases together; more is an error that says how to page`, async () => {
    const headers = { authorization: big.authorization };

    const one = await send(api.app, 'POST', '/graphql', { headers, body: { query: '{ tasks { id } }' } });
    const three = await send(api.app, 'POST', '/graphql', {
      headers,
      body: { query: '{ a: tasks { id } b: tasks { id } c: tasks { id } }' },
    });

    expect(one.body.data.tasks).toHaveLength(BIG);
    expect(three.body.errors).toEqual([
      expect.objectContaining({
        message: 'More than 10000 tasks in one answer: ask for them a page at a time (limit and cursor, or taskConnection)',
        extensions: { code: 'BAD_USER_INPUT' },
      }),
    ]);
  });
});

describe('the slow reader that finally reads', () => {
  test('gets the whole list, intact', async () => {
    const socket = await sendWithoutReading(wholeList(big.authorization));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.resume();
    await until(() => Buffer.concat(chunks).toString().includes('\r\n0\r\n\r\n'), { timeoutMs: 10_000 });
    socket.destroy();

    const raw = Buffer.concat(chunks).toString();
    const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
    // De-chunk: size line, data, CRLF.
    let json = '';
    for (let rest = body; ;) {
      const lineEnd = rest.indexOf('\r\n');
      const size = Number.parseInt(rest.slice(0, lineEnd), 16);
      if (size === 0) break;
      json += rest.slice(lineEnd + 2, lineEnd + 2 + size);
      rest = rest.slice(lineEnd + 2 + size + 2);
    }
    expect((JSON.parse(json) as unknown[]).length).toBe(BIG);
  });
});
