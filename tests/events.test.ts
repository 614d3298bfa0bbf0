/**
 * The live change stream on REST (issue 13): GET /api/tasks/events as Server-Sent Events, on both
 * databases: every change in commit order, each once; Last-Event-ID / ?after resumes exactly; a user
 * never sees another's events; the per-user cap; retention's reset; the end of the token; shutdown.
 */
import { connect } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import type { ListenSource } from '../src/db/client.js';
import { pruneTaskEvents } from '../src/events/log.js';
import { createStreamRegistry } from '../src/events/registry.js';
import { createLogger } from '../src/logger.js';
import { createTestApp, describe, expect, signToken, test, type TestApp } from './support/fixtures.js';
import { openSse, type SseEvent } from './support/sse.js';
import { until } from './support/wait.js';

let api: TestApp;
let origin: string;
beforeAll(async () => {
  // LISTEN/NOTIFY (in-process on PGlite); polling, the default on PostgreSQL, has a test of its own below.
  api = await createTestApp({ env: { MAX_STREAMS_PER_USER: '3', TASK_EVENTS_POLL_MS: '0' } });
  origin = await api.listen();
});
afterAll(() => api.close());

const auth = (token: string) => ({ authorization: `Bearer ${token}` });
const events =
  (path = '/api/tasks/events', headers: Record<string, string> = {}) =>
  (token: string) =>
    openSse(`${origin}${path}`, { ...auth(token), ...headers });
const tasks = (event: SseEvent) => JSON.parse(event.data) as Record<string, unknown>;

describe('GET /api/tasks/events', () => {
  test('streams each create, change and delete as it is committed, in order, in the REST shape', async () => {
    const alice = await api.user('alice');
    const stream = await events()(alice.token);
    try {
      expect(stream.status).toBe(200);
      expect(stream.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      const created = await alice.request('POST', '/api/tasks', { body: { title: 'live' } });
      const id = created.body.id as string;
      await alice.request('PATCH', `/api/tasks/${id}`, { body: { completed: true } });
      await alice.request('DELETE', `/api/tasks/${id}`);

      const received = [await stream.next(), await stream.next(), await stream.next()] as SseEvent[];
      expect(received.map((e) => e.event)).toEqual(['task.created', 'task.updated', 'task.deleted']);
      expect(tasks(received[0] as SseEvent)).toEqual(created.body);
      expect(tasks(received[1] as SseEvent)).toMatchObject({ id, completed: true });
      expect(tasks(received[2] as SseEvent)).toMatchObject({ id, completed: true });
      const ids = received.map((e) => BigInt(e.id ?? '0'));
      expect(ids[0]).toBeLessThan(ids[1] as bigint);
      expect(ids[1]).toBeLessThan(ids[2] as bigint);
    } finally {
      stream.close();
    }
  });

  test('Last-Event-ID (or ?after) resumes with exactly the events after it, then goes on live', async () => {
    const bob = await api.user('bob');
    const first = await events()(bob.token);
    for (let i = 0; i < 5; i++) await bob.request('POST', '/api/tasks', { body: { title: `t${i}` } });
    const seen = [await first.next(), await first.next()] as SseEvent[];
    first.close();
    for (let i = 5; i < 8; i++) await bob.request('POST', '/api/tasks', { body: { title: `t${i}` } });

    for (const resume of [
      events('/api/tasks/events', { 'last-event-id': seen[1]?.id ?? '' }),
      events(`/api/tasks/events?after=${seen[1]?.id ?? ''}`),
    ]) {
      const again = await resume(bob.token);
      const missed = [];
      for (let i = 0; i < 6; i++) missed.push(await again.next());
      expect(missed.map((e) => tasks(e as SseEvent).title)).toEqual(['t2', 't3', 't4', 't5', 't6', 't7']);
      await bob.request('POST', '/api/tasks', { body: { title: 'after' } });
      expect(tasks((await again.next()) as SseEvent).title).toBe('after');
      again.close();
    }
  });

  test("a user never receives another user's events", async () => {
    const [carol, dave] = await Promise.all([api.user('carol'), api.user('dave')]);
    const stream = await events()(carol.token);
    try {
      await dave.request('POST', '/api/tasks', { body: { title: 'not yours' } });
      await carol.request('POST', '/api/tasks', { body: { title: 'yours' } });
      const event = await stream.next();
      expect(tasks(event as SseEvent).title).toBe('yours');
      await expect(stream.next(300)).rejects.toThrow('no event in time');
    } finally {
      stream.close();
    }
  });

  test('a bad cursor is 400; no token is 401; past MAX_STREAMS_PER_USER, 429', async () => {
    const erin = await api.user('erin');
    expect((await events('/api/tasks/events', { 'last-event-id': 'abc' })(erin.token)).status).toBe(400);
    expect((await fetch(`${origin}/api/tasks/events`)).status).toBe(401);
    const open = await Promise.all([1, 2, 3].map(() => events()(erin.token)));
    const fourth = await events()(erin.token);
    expect(fourth.status).toBe(429);
    expect(fourth.headers.get('retry-after')).toBe('5');
    for (const stream of open) stream.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const again = await events()(erin.token);
    expect(again.status).toBe(200);
    again.close();
  });

  test('a cursor older than what the log keeps is answered with event: reset and the id to go on from', async () => {
    const frank = await api.user('frank');
    const stream = await events()(frank.token);
    await frank.request('POST', '/api/tasks', { body: { title: 'old' } });
    const old = (await stream.next()) as SseEvent;
    stream.close();
    await frank.request('POST', '/api/tasks', { body: { title: 'newer' } });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await pruneTaskEvents(api.database.prisma, 0);

    const resumed = await events('/api/tasks/events', { 'last-event-id': old.id ?? '' })(frank.token);
    const reset = (await resumed.next()) as SseEvent;
    expect(reset.event).toBe('reset');
    expect(BigInt(reset.id ?? '0')).toBeGreaterThan(BigInt(old.id ?? '0'));
    await frank.request('POST', '/api/tasks', { body: { title: 'after reset' } });
    expect(tasks((await resumed.next()) as SseEvent).title).toBe('after reset');
    resumed.close();
  });

  test("at the token's exp the stream says event: reauth and ends", async () => {
    const token = await signToken({ sub: `gina-${Date.now()}` }, { expiresIn: '2s' });
    const stream = await events()(token);
    const rest = await stream.rest(5_000);
    expect(rest.at(-1)?.event).toBe('reauth');
  });

  test('on shutdown every stream ends with a retry hint', async () => {
    const other = await createTestApp({ database: api.database });
    const url = await other.listen();
    const henry = await other.user('henry');
    const stream = await openSse(`${url}/api/tasks/events`, auth(henry.token));
    const closing = other.close();
    const rest = await stream.rest(5_000);
    await closing;
    expect(rest.at(-1)?.retry).toBeGreaterThan(0);
  });
});

describe('places and wake-ups are kept in the database, for every instance', () => {
  test('MAX_STREAMS_PER_USER counts the streams of every instance together', async () => {
    const other = await createTestApp({ database: api.database, env: { MAX_STREAMS_PER_USER: '3' } });
    const otherOrigin = await other.listen();
    try {
      const kate = await api.user('kate');
      const here = await Promise.all([events()(kate.token), events()(kate.token)]);
      const there = await openSse(`${otherOrigin}/api/tasks/events`, auth(kate.token));
      expect([...here, there].map((stream) => stream.status)).toEqual([200, 200, 200]);
      expect((await events()(kate.token)).status).toBe(429);
      const refused = await openSse(`${otherOrigin}/api/tasks/events`, auth(kate.token));
      expect(refused.status).toBe(429);
      // One ends on this instance: the other one may open a stream in its place.
      here[0].close();
      await until(async () => (await countPlaces(kate.id)) === 2, { timeoutMs: 5_000 });
      const again = await openSse(`${otherOrigin}/api/tasks/events`, auth(kate.token));
      expect(again.status).toBe(200);
      for (const stream of [...here, there, again]) stream.close();
    } finally {
      await other.close();
    }
  });

  test('a stream whose place is still being taken when the instance stops ends as it starts, holding nothing', async () => {
    const registry = createStreamRegistry({
      prisma: api.database.prisma,
      logger: createLogger('silent'),
      maxPerUser: 3,
      maxStreams: 10,
      watch: false,
      onLapse: () => {},
    });
    const userId = `stopping-${Date.now()}`;
    // The place is being taken in the database when the instance stops (a drain, a close).
    const opening = registry.open(userId);
    registry.stopAll();
    const stream = await opening;
    expect(stream.signal.aborted).toBe(true);
    expect(registry.size).toBe(0);
    // Its place is given back, and a stream opened later ends as it starts too.
    await until(async () => (await countPlaces(userId)) === 0, { timeoutMs: 5_000 });
    expect((await registry.open(userId)).signal.aborted).toBe(true);
    expect(await countPlaces(userId)).toBe(0);
    await registry.close();
  });

  test('a REST stream opened while the instance drains gets its head and the retry hint, and ends', async () => {
    const other = await createTestApp({ database: api.database });
    const url = await other.listen();
    try {
      const mia = await other.user('mia');
      // Draining: still accepting for a while, every stream ended.
      const draining = other.app.drain(1_000);
      const stream = await openSse(`${url}/api/tasks/events`, auth(mia.token));
      expect(stream.status).toBe(200);
      const rest = await stream.rest(5_000);
      expect(rest.at(-1)?.retry).toBeGreaterThan(0);
      await draining;
    } finally {
      await other.close();
    }
  });

  test('the places of an instance that stopped renewing them lapse; those still renewed do not', async () => {
    const leo = await api.user('leo');
    await leo.request('POST', '/api/tasks', { body: { title: 'exists' } });
    // Three places taken by an instance that died a while ago (expired), then three by a live one.
    const take = (expiresAt: string) =>
      api.database.prisma.$executeRawUnsafe(
        `INSERT INTO task_event_streams (id, user_id, expires_at) SELECT gen_random_uuid(), $1, ${expiresAt} FROM generate_series(1, 3)`,
        leo.id,
      );
    await take("now() - interval '1 second'");
    const lapsed = await events()(leo.token);
    expect(lapsed.status).toBe(200);
    lapsed.close();
    await until(async () => (await countPlaces(leo.id)) === 0, { timeoutMs: 5_000 });
    await take("now() + interval '1 minute'");
    expect((await events()(leo.token)).status).toBe(429);
  });

  test('a write sends a wake-up (pg_notify) only while some instance watches its user', async () => {
    const [mia, ned] = await Promise.all([api.user('mia'), api.user('ned')]);
    const heard = await listenForWakeUps(api.database.listen);
    try {
      await ned.request('POST', '/api/tasks', { body: { title: 'nobody watches' } });
      const stream = await events()(mia.token);
      const created = await mia.request('POST', '/api/tasks', { body: { title: 'watched' } });
      expect(tasks((await stream.next()) as SseEvent).id).toBe(created.body.id);
      await until(() => heard.some((payload) => payload.endsWith(` ${mia.id}`)), { timeoutMs: 5_000 });
      expect(heard.filter((payload) => payload.endsWith(` ${ned.id}`))).toEqual([]);
      stream.close();
    } finally {
      await heard.stop();
    }
  });

  test('polling (TASK_EVENTS_POLL_MS; the default on PostgreSQL): streams are woken by the change counters, and writes notify no one', async () => {
    const polling = await createTestApp({ database: api.database, env: { TASK_EVENTS_POLL_MS: '50' } });
    const url = await polling.listen();
    const heard = await listenForWakeUps(api.database.listen);
    try {
      const quinn = await polling.user('quinn');
      const stream = await openSse(`${url}/api/tasks/events`, auth(quinn.token));
      const written: string[] = [];
      for (let i = 0; i < 5; i++)
        written.push((await quinn.request('POST', '/api/tasks', { body: { title: `polled ${i}` } })).body.id as string);
      await quinn.request('PATCH', `/api/tasks/${written[0]}`, { body: { completed: true } });
      const received = [];
      for (let i = 0; i < 6; i++) received.push(tasks((await stream.next(2_000)) as SseEvent).id);
      expect(received).toEqual([...written, written[0]]);
      stream.close();
      expect(heard.filter((payload) => payload.endsWith(` ${quinn.id}`))).toEqual([]);
    } finally {
      await heard.stop();
      await polling.close();
    }
  });

  test('a client that does not read is sent event: reset and cut, not buffered for', async () => {
    const olga = await api.user('olga');
    await olga.request('POST', '/api/tasks', { body: { title: 'first' } });
    // ~14 MB of events waiting in the log, more than the socket buffers between us hold.
    await api.database.prisma.$executeRaw`
      INSERT INTO tasks (user_id, title) SELECT ${olga.id}, repeat('x', 490) || g FROM generate_series(1, 20000) g`;
    const [first] = await api.database.prisma.$queryRaw<{ id: bigint }[]>`SELECT min(id) AS id FROM task_events WHERE user_id = ${olga.id}`;
    const socket = connect(Number(new URL(origin).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      `GET /api/tasks/events HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${olga.token}\r\nLast-Event-ID: ${String(first?.id)}\r\n\r\n`,
    );
    socket.pause();
    // The server stops writing once 256 KiB wait for this client: nothing more is read from the log.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    // Then everything sent arrives, up to the end of the answer (the last, empty chunk).
    let text = '';
    const ended = new Promise((resolve) =>
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
        if (text.endsWith('\r\n0\r\n\r\n')) resolve(undefined);
      }),
    );
    socket.resume();
    await ended;
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text).toMatch(/event: reset\ndata: \{"reason":"too slow[^\n]*\n\n\r\n0\r\n\r\n$/);
    const delivered = text.match(/^event: task\.created$/gm)?.length ?? 0;
    expect(delivered).toBeGreaterThan(0);
    expect(delivered).toBeLessThan(20_000);
    socket.destroy();
  });
});

describe('streams in the log and the metrics', () => {
  test('a stream that ends gets its log line (events sent, why it ended) and is counted by face and reason', async () => {
    const lines: string[] = [];
    const observed = await createTestApp({ database: api.database, logLines: lines, env: { METRICS_TOKEN: 'metrics-token-for-tests' } });
    const url = await observed.listen();
    try {
      const pia = await observed.user('pia');
      const stream = await openSse(`${url}/api/tasks/events`, auth(pia.token));
      await pia.request('POST', '/api/tasks', { body: { title: 'seen' } });
      await stream.next();
      const during = await observed.request('GET', '/metrics', { headers: { authorization: 'Bearer metrics-token-for-tests' } });
      expect(during.text).toMatch(/^task_event_streams 1$/m);
      stream.close();
      await until(() => lines.some((line) => line.includes('"event stream"')), { timeoutMs: 5_000 });
      const line = JSON.parse(lines.find((l) => l.includes('"event stream"')) ?? '{}') as Record<string, unknown>;
      expect(line).toMatchObject({ route: '/api/tasks/events', status: 200, events: 1, ended: 'client' });
      expect(line.reqId).toEqual(expect.any(String));
      const after = await observed.request('GET', '/metrics', { headers: { authorization: 'Bearer metrics-token-for-tests' } });
      expect(after.text).toMatch(/^task_event_streams 0$/m);
      expect(after.text).toMatch(/^task_event_streams_ended_total\{face="rest",reason="client"\} 1$/m);
    } finally {
      await observed.close();
    }
  });
});

/** How many stream places the user holds, across instances. */
async function countPlaces(userId: string): Promise<number> {
  const [row] = await api.database.prisma.$queryRaw<
    { n: number }[]
  >`SELECT count(*)::int AS n FROM task_event_streams WHERE user_id = ${userId}`;
  return row?.n ?? -1;
}

/** The payloads of the change log's wake-ups, heard on a connection of the test's own. */
async function listenForWakeUps(source: ListenSource): Promise<string[] & { stop(): Promise<void> }> {
  const heard = Object.assign([] as string[], { stop: async () => {} });
  if (source.kind === 'local') {
    const unlisten = await source.listen('task_events', (payload) => heard.push(payload));
    heard.stop = unlisten;
  } else if (source.kind === 'postgres') {
    const client = new pg.Client({ connectionString: source.url });
    await client.connect();
    client.on('notification', (message) => heard.push(message.payload ?? ''));
    await client.query('LISTEN task_events');
    heard.stop = () => client.end();
  } else {
    throw new Error('this database cannot LISTEN');
  }
  return heard;
}

describe('subscription taskEvents (GraphQL over SSE)', () => {
  const subscribe = (token: string, after?: string) =>
    fetchSse(`${origin}/graphql`, token, {
      query: 'subscription ($after: String) { taskEvents(after: $after) { cursor kind task { id title completed version } } }',
      variables: after === undefined ? {} : { after },
    });

  test('the same events from the same log, and `after` resumes', async () => {
    const ida = await api.user('ida');
    const stream = await subscribe(ida.token);
    try {
      expect(stream.status).toBe(200);
      const created = await ida.request('POST', '/api/tasks', { body: { title: 'via graphql' } });
      await ida.request('PATCH', `/api/tasks/${created.body.id}`, { body: { completed: true } });
      const first = JSON.parse(((await stream.next()) as SseEvent).data);
      const second = JSON.parse(((await stream.next()) as SseEvent).data);
      expect(first.data.taskEvents).toMatchObject({
        kind: 'CREATED',
        task: { id: created.body.id, title: 'via graphql', completed: false, version: 1 },
      });
      expect(second.data.taskEvents).toMatchObject({ kind: 'UPDATED', task: { completed: true, version: 2 } });
      stream.close();

      const resumed = await subscribe(ida.token, first.data.taskEvents.cursor);
      expect(JSON.parse(((await resumed.next()) as SseEvent).data).data.taskEvents.cursor).toBe(second.data.taskEvents.cursor);
      resumed.close();
    } finally {
      stream.close();
    }
  });

  test('needs a token, and counts against MAX_STREAMS_PER_USER with the REST streams', async () => {
    const jack = await api.user('jack');
    const unauthenticated = await fetch(`${origin}/graphql`, {
      method: 'POST',
      headers: { accept: 'text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'subscription { taskEvents { cursor } }' }),
    });
    expect(unauthenticated.status).toBe(401);
    const open = await Promise.all([events()(jack.token), events()(jack.token), subscribe(jack.token)]);
    const fourth = await subscribe(jack.token);
    const refused = JSON.parse(((await fourth.next()) as SseEvent).data);
    expect(refused.errors[0].extensions.code).toBe('RATE_LIMITED');
    for (const stream of [...open, fourth]) stream.close();
  });
});

async function fetchSse(url: string, token: string, body: unknown) {
  return openSse(url, { ...auth(token), 'content-type': 'application/json' }, { method: 'POST', body: JSON.stringify(body) });
}

describe('streams are per user (fast-check)', () => {
  test('over random users and writes, each stream gets exactly its own user’s changes, in order', async () => {
    const fc = (await import('fast-check')).default;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ user: fc.integer({ min: 0, max: 2 }), action: fc.constantFrom('create', 'toggle', 'delete') }), {
          minLength: 1,
          maxLength: 12,
        }),
        async (writes) => {
          const users = await Promise.all([0, 1, 2].map(() => api.user('prop')));
          const streams = await Promise.all(users.map((u) => events()(u.token)));
          try {
            const own: string[][] = [[], [], []];
            const tasksOf: string[][] = [[], [], []];
            for (const { user, action } of writes) {
              const u = users[user];
              if (!u) continue;
              const mine = tasksOf[user] ?? [];
              const target = mine.at(-1);
              if (action === 'create' || target === undefined) {
                const created = await u.request('POST', '/api/tasks', { body: { title: `u${user}` } });
                mine.push(created.body.id as string);
                own[user]?.push(`task.created ${created.body.id}`);
              } else if (action === 'toggle') {
                await u.request('PATCH', `/api/tasks/${target}`, { body: { completed: true } });
                own[user]?.push(`task.updated ${target}`);
              } else {
                await u.request('DELETE', `/api/tasks/${target}`);
                mine.pop();
                own[user]?.push(`task.deleted ${target}`);
              }
            }
            for (const [index, stream] of streams.entries()) {
              const expected = own[index] ?? [];
              const received: string[] = [];
              for (let i = 0; i < expected.length; i++) {
                const event = (await stream.next(5_000)) as SseEvent;
                received.push(`${event.event} ${String(tasks(event).id)}`);
                expect(tasks(event).user_id).toBe(users[index]?.id);
              }
              expect(received).toEqual(expected);
              await expect(stream.next(100)).rejects.toThrow('no event in time');
            }
          } finally {
            for (const stream of streams) stream.close();
          }
        },
      ),
      { numRuns: 15 },
    );
  });
});
