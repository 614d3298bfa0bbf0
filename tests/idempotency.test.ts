/**
 * Idempotency-Key (issue 12) on REST and GraphQL: a retry of the same request gets the first answer byte
 * for byte (Idempotent-Replayed: true) and writes nothing; another request with the key is 422; one while
 * the first runs is 409; keys are per user; the answer is stored with the write, so it survives kill -9;
 * and a property test of random retries and interleavings finds every acknowledged effect exactly once.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll } from 'vitest';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { GraphQLBoolean, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';
import type { Context, ContextDependencies } from '../src/resolvers/context.js';
import { BadUserInputError } from '../src/errors.js';
import { useGraphQL } from '../src/graphql/route.js';
import { pruneIdempotencyKeys, runIdempotent } from '../src/idempotency.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { createPerUserLimit } from '../src/per-user-limit.js';
import { createTask } from '../src/resolvers/task.js';
import { createTestApp, describe, expect, test, type ApiResponse, type TestApp, type TestUser } from './support/fixtures.js';
import { baseEnv, makeWorkDir, mintToken, startServer } from './support/server-process.js';

let api: TestApp;
beforeAll(async () => {
  api = await createTestApp();
});
afterAll(() => api.close());

const keyed = (key: string, headers: Record<string, string> = {}) => ({ 'idempotency-key': key, ...headers });
const countTasks = (user: TestUser) => api.database.prisma.task.count({ where: { userId: user.id } });
/** What a client can see of an answer, but the headers that differ per request. */
const visible = (r: ApiResponse) => ({
  status: r.status,
  text: r.text,
  etag: r.headers.get('etag'),
  location: r.headers.get('location'),
  type: r.headers.get('content-type'),
});

describe('Idempotency-Key on REST', () => {
  test('a retried POST gets the first 201 back, byte for byte, marked replayed, and creates nothing', async () => {
    const alice = await api.user('alice');
    const key = randomUUID();
    const first = await alice.request('POST', '/api/tasks', { body: { title: 'once' }, headers: keyed(key) });
    const retry = await alice.request('POST', '/api/tasks', { body: { title: 'once' }, headers: keyed(key) });

    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(visible(retry)).toEqual(visible(first));
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await countTasks(alice)).toBe(1);
  });

  test('the same key for a different request is 422; keys are per user', async () => {
    const [alice, bob] = await Promise.all([api.user('alice'), api.user('bob')]);
    const key = 'shared-key';
    const first = await alice.request('POST', '/api/tasks', { body: { title: 'first' }, headers: keyed(key) });

    for (const other of [
      () => alice.request('POST', '/api/tasks', { body: { title: 'second' }, headers: keyed(key) }),
      () =>
        alice.request('POST', '/api/tasks', { rawBody: '{"title": "first"}', headers: keyed(key, { 'content-type': 'application/json' }) }),
      () => alice.request('PATCH', `/api/tasks/${first.body.id}`, { body: { completed: true }, headers: keyed(key) }),
    ]) {
      const refused = await other();
      expect(refused.status).toBe(422);
      expect(refused.body).toEqual({ detail: 'Idempotency-Key was used for a different request', code: 'IDEMPOTENCY_KEY_REUSED' });
    }
    const bobs = await bob.request('POST', '/api/tasks', { body: { title: 'first' }, headers: keyed(key) });
    expect(bobs.status).toBe(201);
    expect(bobs.headers.get('idempotent-replayed')).toBeNull();
    expect(bobs.body.id).not.toBe(first.body.id);
    expect(await countTasks(alice)).toBe(1);
    expect((await alice.request('GET', `/api/tasks/${first.body.id}`)).body.completed).toBe(false);
  });

  test('PATCH, PUT and DELETE replay too: a retried DELETE is its 204, a retried conditional PATCH its 200', async () => {
    const alice = await api.user('alice');
    const created = await alice.request('POST', '/api/tasks', { body: { title: 'x' } });
    const path = `/api/tasks/${created.body.id}`;
    const etag = created.headers.get('etag') ?? '';

    const patch = () => alice.request('PATCH', path, { body: { completed: true }, headers: keyed('p', { 'if-match': etag }) });
    const patched = await patch();
    expect(patched.status).toBe(200);
    const repatched = await patch();
    expect(visible(repatched)).toEqual(visible(patched));
    expect(repatched.headers.get('idempotent-replayed')).toBe('true');

    const put = () => alice.request('PUT', path, { body: { title: 'renamed' }, headers: keyed('r') });
    expect(visible(await put())).toEqual(visible(await put()));
    expect((await alice.request('GET', path)).headers.get('etag')).toBe('"v3"');

    const del = () => alice.request('DELETE', path, { headers: keyed('d') });
    const deleted = await del();
    const redeleted = await del();
    expect(deleted.status).toBe(204);
    expect(redeleted.status).toBe(204);
    expect(redeleted.text).toBe('');
    expect(redeleted.headers.get('idempotent-replayed')).toBe('true');
  });

  test('an error is not stored: the key stays free, and nothing was written', async () => {
    const alice = await api.user('alice');
    const refused = await alice.request('POST', '/api/tasks', { body: { title: '  ' }, headers: keyed('k') });
    expect(refused.status).toBe(400);
    expect((await alice.request('POST', '/api/tasks', { body: { title: '  ' }, headers: keyed('k') })).status).toBe(400);
    expect(await countTasks(alice)).toBe(0);

    const fixed = await alice.request('POST', '/api/tasks', { body: { title: 'fixed' }, headers: keyed('k') });
    expect(fixed.status).toBe(201);
    expect(fixed.headers.get('idempotent-replayed')).toBeNull();
  });

  test.for([
    ['empty', ''],
    ['256 characters', 'k'.repeat(256)],
    ['a space', 'a b'],
    ['non-ASCII', 'clé'],
    ['a control character', 'a\tb'],
  ] as const)('a key with %s is 400 and nothing is written', async ([, key]) => {
    const alice = await api.user('alice');
    const response = await alice.request('POST', '/api/tasks', { body: { title: 'x' }, headers: keyed(key) });
    expect(response.status).toBe(400);
    expect(response.body.detail).toMatch(/Idempotency-Key must be 1 to 255 visible ASCII characters/);
    expect(await countTasks(alice)).toBe(0);
  });

  test('a 255-character key of any visible ASCII works', async () => {
    const alice = await api.user('alice');
    const key = `"!~${'x'.repeat(252)}`;
    expect((await alice.request('POST', '/api/tasks', { body: { title: 'x' }, headers: keyed(key) })).status).toBe(201);
    expect(
      (await alice.request('POST', '/api/tasks', { body: { title: 'x' }, headers: keyed(key) })).headers.get('idempotent-replayed'),
    ).toBe('true');
  });

  test('20 concurrent POSTs with one key: exactly one task; every answer is that 201 or 409 "in progress"', async () => {
    const alice = await api.user('alice');
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => alice.request('POST', '/api/tasks', { body: { title: 'raced' }, headers: keyed('race') })),
    );

    expect(await countTasks(alice)).toBe(1);
    const created = answers.filter((a) => a.status === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    for (const answer of created) expect(visible(answer)).toEqual(visible(created[0] as ApiResponse));
    for (const answer of answers.filter((a) => a.status !== 201)) {
      expect(answer.status).toBe(409);
      expect(answer.body).toEqual({ detail: 'A request with this Idempotency-Key is in progress', code: 'IDEMPOTENCY_KEY_IN_PROGRESS' });
    }
  });

  test('after IDEMPOTENCY_KEY_TTL a key is new again, and pruning deletes what expired', async () => {
    const short = await createTestApp({ database: api.database, env: { IDEMPOTENCY_KEY_TTL: '1s' } });
    try {
      const carol = await short.user('carol');
      const first = await carol.request('POST', '/api/tasks', { body: { title: 'x' }, headers: keyed('ttl') });
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const later = await carol.request('POST', '/api/tasks', { body: { title: 'x' }, headers: keyed('ttl') });

      expect(later.status).toBe(201);
      expect(later.headers.get('idempotent-replayed')).toBeNull();
      expect(later.body.id).not.toBe(first.body.id);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      expect(await pruneIdempotencyKeys(api.database.prisma, 1_000)).toBeGreaterThanOrEqual(1);
      expect(await api.database.prisma.idempotencyKey.count({ where: { userId: carol.id } })).toBe(0);
    } finally {
      await short.close();
    }
  });
});

describe('storing an answer', () => {
  test('a live answer found at the store (stored after the lookup) is never written over: the run is rolled back and run again', async () => {
    const request = { userId: `store-${randomUUID()}`, key: 'k', fingerprint: 'f', ttlMs: 60_000 };
    let runs = 0;
    const result = await runIdempotent(api.database.prisma, request, async (transaction) => {
      runs += 1;
      // The first run finds, at its store, a live answer that its lookup did not see (as when another run
      // released the key between this run's snapshot and its lock); the retry does not.
      if (runs === 1) {
        await transaction.$executeRaw`
          INSERT INTO idempotency_keys (user_id, key, fingerprint, status, headers, body, created_at)
          VALUES (${request.userId}, ${request.key}, 'other', 201, '{}'::jsonb, 'theirs', now())`;
      }
      return { response: { status: 200, headers: { 'content-type': 'text/plain' }, body: `run ${runs}` }, store: true };
    });

    expect(runs).toBe(2);
    expect(result).toEqual({ response: { status: 200, headers: { 'content-type': 'text/plain' }, body: 'run 2' }, replayed: false });
    const rows = await api.database.prisma.idempotencyKey.findMany({ where: { userId: request.userId } });
    expect(rows.map(({ fingerprint, status, body }) => ({ fingerprint, status, body }))).toEqual([
      { fingerprint: 'f', status: 200, body: 'run 2' },
    ]);
  });
});

describe('Idempotency-Key on GraphQL', () => {
  const post = (user: TestUser, query: string, key: string) => user.request('POST', '/graphql', { body: { query }, headers: keyed(key) });

  test('a retried mutation gets the first answer, replayed, and writes nothing', async () => {
    const alice = await api.user('alice');
    const mutation = 'mutation { createTask(title: "via graphql") { id title version } }';
    const first = await post(alice, mutation, 'g1');
    const retry = await post(alice, mutation, 'g1');

    expect(first.status).toBe(200);
    expect(first.body.data.createTask.title).toBe('via graphql');
    expect(retry.text).toBe(first.text);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await countTasks(alice)).toBe(1);
  });

  test('another request with the key is IDEMPOTENCY_KEY_REUSED (422), also across faces', async () => {
    const alice = await api.user('alice');
    await post(alice, 'mutation { createTask(title: "a") { id } }', 'g2');
    const other = await post(alice, 'mutation { createTask(title: "b") { id } }', 'g2');
    const viaRest = await alice.request('POST', '/api/tasks', { body: { title: 'a' }, headers: keyed('g2') });

    expect(other.status).toBe(422);
    expect(other.body).toEqual({
      errors: [{ message: 'Idempotency-Key was used for a different request', extensions: { code: 'IDEMPOTENCY_KEY_REUSED' } }],
    });
    expect(viaRest.status).toBe(422);
    expect(await countTasks(alice)).toBe(1);
  });

  test('a mutation that failed is not stored; a query with a key is answered and stores nothing', async () => {
    const alice = await api.user('alice');
    const failed = await post(alice, 'mutation { createTask(title: "") { id } }', 'g3');
    expect(failed.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    const ok = await post(alice, 'mutation { createTask(title: "now") { id } }', 'g3');
    expect(ok.body.data.createTask.id).toEqual(expect.any(String));

    const query = await post(alice, '{ tasks { id } }', 'g4');
    expect(query.body.data.tasks).toHaveLength(1);
    expect(await api.database.prisma.idempotencyKey.count({ where: { userId: alice.id, key: 'g4' } })).toBe(0);
  });

  test('a keyed mutation whose second field fails answers without data, and its first field is rolled back', async () => {
    const alice = await api.user('alice');
    const mutation = 'mutation { a: createTask(title: "first") { id } b: setTaskCompleted(id: "not-a-uuid", completed: true) { id } }';
    const failed = await post(alice, mutation, 'g6');

    expect(failed.body.data).toBeNull();
    expect(failed.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(await countTasks(alice)).toBe(0);
    // Nothing stored either: the retry runs again (and fails again, writing nothing).
    expect((await post(alice, mutation, 'g6')).body.data).toBeNull();
    expect(await countTasks(alice)).toBe(0);
  });

  test('a keyed mutation asked for as an event stream is refused, and nothing is written', async () => {
    const alice = await api.user('alice');
    const response = await alice.request('POST', '/graphql', {
      body: { query: 'mutation { createTask(title: "streamed") { id } }' },
      headers: keyed('g7', { accept: 'text/event-stream' }),
    });

    expect(response.status).toBe(400);
    expect(response.body.errors[0].message).toMatch(/answered as JSON/);
    expect(await countTasks(alice)).toBe(0);
  });

  test('20 concurrent keyed mutations: one task; every answer identical or IDEMPOTENCY_KEY_IN_PROGRESS (409)', async () => {
    const alice = await api.user('alice');
    const answers = await Promise.all(Array.from({ length: 20 }, () => post(alice, 'mutation { createTask(title: "r") { id } }', 'g5')));

    expect(await countTasks(alice)).toBe(1);
    const done = answers.filter((a) => a.status === 200);
    for (const answer of done) expect(answer.text).toBe(done[0]?.text);
    for (const answer of answers.filter((a) => a.status !== 200)) {
      expect(answer.status).toBe(409);
      expect(answer.body.errors[0].extensions.code).toBe('IDEMPOTENCY_KEY_IN_PROGRESS');
    }
  });
});

describe('Idempotency-Key on GraphQL: what a key covers', () => {
  const post = (user: TestUser, query: string, key: string, headers: Record<string, string> = {}) =>
    user.request('POST', '/graphql', { body: { query }, headers: keyed(key, headers) });

  test("a key is a mutation's: a query with it runs live every time, before and after the mutation; another mutation is 422", async () => {
    const alice = await api.user('alice');
    const query = '{ tasks { title } }';
    const before = await post(alice, query, 'q1');
    const mutation = await post(alice, 'mutation { createTask(title: "keyed") { id } }', 'q1');
    const after = [await post(alice, query, 'q1'), await post(alice, query, 'q1')];

    expect(before.body).toEqual({ data: { tasks: [] } });
    // The query before stored nothing: the mutation is the key's first use, and runs.
    expect(mutation.status).toBe(200);
    expect(mutation.headers.get('idempotent-replayed')).toBeNull();
    for (const live of after) {
      expect(live.status).toBe(200);
      expect(live.headers.get('idempotent-replayed')).toBeNull();
      expect(live.body).toEqual({ data: { tasks: [{ title: 'keyed' }] } });
    }
    const other = await post(alice, 'mutation { createTask(title: "other") { id } }', 'q1');
    expect(other.status).toBe(422);
    expect(other.body.errors[0].extensions.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await countTasks(alice)).toBe(1);
  });

  test.for([
    ['application/graphql-response+json', 'application/json'],
    ['application/json', 'application/graphql-response+json'],
  ] as const)('a replay has the stored type (%s) whatever the retry accepts (%s)', async ([first, retry]) => {
    const alice = await api.user('alice');
    const mutation = 'mutation { createTask(title: "typed") { id } }';
    const original = await post(alice, mutation, 't1', { accept: first });
    const replayed = await post(alice, mutation, 't1', { accept: retry });

    expect(original.headers.get('content-type')).toMatch(new RegExp(`^${first.replace('+', '\\+')}`));
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.headers.get('content-type')).toBe(original.headers.get('content-type'));
    expect(replayed.text).toBe(original.text);
    expect(await countTasks(alice)).toBe(1);
  });

  test('a keyed mutation whose first field wrote and whose second failed (data null) stores nothing and undoes the write', async () => {
    const alice = await api.user('alice');
    const mutation = 'mutation { a: createTask(title: "undone") { id } b: createTask(title: "") { id } }';
    const failed = await post(alice, mutation, 'm1');

    expect(failed.status).toBe(200);
    expect(failed.body.data).toBeNull();
    expect(failed.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(await countTasks(alice)).toBe(0);
    expect(await api.database.prisma.idempotencyKey.count({ where: { userId: alice.id, key: 'm1' } })).toBe(0);
  });

  /**
   * Every field of this schema's mutations is non-null, so one failing field leaves no data at all. On a
   * schema with nullable fields, the rule shows whole: any field not null means something was done.
   */
  describe('on a schema whose mutation fields are nullable', () => {
    let gateway: FastifyInstance;
    beforeAll(async () => {
      const schema = new GraphQLSchema({
        query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLBoolean, resolve: () => true } } }),
        mutation: new GraphQLObjectType<unknown, Context>({
          name: 'Mutation',
          fields: {
            create: {
              type: GraphQLString,
              args: { title: { type: new GraphQLNonNull(GraphQLString) } },
              resolve: async (_root, { title }: { title: string }, context) =>
                (await createTask({ ...context, userId: context.userId ?? '', maxTasksPerUser: 100 }, { title })).title,
            },
            createThenFail: {
              type: GraphQLString,
              args: { title: { type: new GraphQLNonNull(GraphQLString) } },
              resolve: async (_root, { title }: { title: string }, context) => {
                await createTask({ ...context, userId: context.userId ?? '', maxTasksPerUser: 100 }, { title });
                throw new BadUserInputError('wrote, then failed');
              },
            },
            fail: {
              type: GraphQLString,
              resolve: () => {
                throw new BadUserInputError('failed on purpose');
              },
            },
          },
        }),
      });
      gateway = Fastify();
      gateway.decorateRequest('userId', null);
      gateway.decorateRequest('rawBody', null);
      const asUser = (request: FastifyRequest) => {
        request.userId = String(request.headers['x-user']);
        return Promise.resolve();
      };
      await useGraphQL(gateway, {
        schema,
        config: { introspection: false, hideSuggestions: true },
        authenticate: Object.assign(asUser, { allowingAnonymous: asUser }),
        contextDependencies: {
          prisma: api.database.prisma,
          idempotencyKeyTtlMs: 60_000,
          unpagedLists: createPerUserLimit(1),
          maxTasksPerUser: 100,
          requireIfMatch: false,
          events: {} as ContextDependencies['events'],
        },
        logger: createLogger('silent'),
        metrics: createMetrics(),
        maxBodyBytes: 100_000,
      });
    });
    afterAll(() => gateway.close());

    const mutate = (userId: string, query: string, key: string) =>
      gateway.inject({
        method: 'POST',
        url: '/graphql',
        headers: { 'x-user': userId, 'content-type': 'application/json', 'idempotency-key': key },
        payload: { query },
      });

    test('a field that wrote and one that failed: stored with the error, the write kept, the retry replayed', async () => {
      const userId = `partial-${randomUUID()}`;
      const mutation = 'mutation { create(title: "kept") fail }';
      const first = await mutate(userId, mutation, 'p1');
      const retry = await mutate(userId, mutation, 'p1');

      expect(first.statusCode).toBe(200);
      expect(first.json()).toEqual({
        data: { create: 'kept', fail: null },
        errors: [expect.objectContaining({ message: 'failed on purpose' })],
      });
      expect(retry.headers['idempotent-replayed']).toBe('true');
      expect(retry.body).toBe(first.body);
      expect(await api.database.prisma.task.count({ where: { userId } })).toBe(1);
    });

    test('a field that wrote, then failed, and one that failed: every field null, so nothing stored and the write undone', async () => {
      const userId = `partial-${randomUUID()}`;
      const mutation = 'mutation { createThenFail(title: "undone") fail }';
      await mutate(userId, 'mutation { create(title: "before") }', 'other');
      const first = await mutate(userId, mutation, 'p2');
      const retry = await mutate(userId, mutation, 'p2');

      expect(first.json()).toEqual({ data: { createThenFail: null, fail: null }, errors: expect.any(Array) });
      expect(retry.headers['idempotent-replayed']).toBeUndefined();
      expect(await api.database.prisma.task.count({ where: { userId } })).toBe(1);
      expect(await api.database.prisma.idempotencyKey.count({ where: { userId, key: 'p2' } })).toBe(0);
    });
  });
});

describe('retries and interleavings (fast-check)', () => {
  test('every acknowledged keyed create and rename happens exactly once, whatever is retried and how requests interleave', async () => {
    await fc.assert(
      fc.asyncProperty(
        // Requests: a create or a rename of the first task, each with its own key, each sent 1–3 times; all
        // sent in a random interleaving, some at once.
        fc.array(fc.record({ create: fc.boolean(), title: fc.stringMatching(/^[a-z]{1,8}$/), copies: fc.integer({ min: 1, max: 3 }) }), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.array(fc.nat(), { minLength: 24, maxLength: 24 }),
        async (requests, order) => {
          const user = await api.user('prop');
          const base = await user.request('POST', '/api/tasks', { body: { title: 'base' } });
          const sends = requests.flatMap((request, index) =>
            Array.from({ length: request.copies }, () => ({ index, request, key: `k${index}` })),
          );
          // A random permutation, sent in two concurrent waves.
          const shuffled = sends.map((send, i) => ({ send, rank: order[i % order.length] ?? 0 })).sort((a, b) => a.rank - b.rank);
          const half = Math.ceil(shuffled.length / 2);
          const run = ({ send }: (typeof shuffled)[number]) =>
            send.request.create
              ? user
                  .request('POST', '/api/tasks', { body: { title: send.request.title }, headers: keyed(send.key) })
                  .then((r) => ({ send, r }))
              : user
                  .request('PUT', `/api/tasks/${base.body.id}`, { body: { title: send.request.title }, headers: keyed(send.key) })
                  .then((r) => ({ send, r }));
          const answers = [...(await Promise.all(shuffled.slice(0, half).map(run))), ...(await Promise.all(shuffled.slice(half).map(run)))];

          // Each request's successful answers are one answer; any other is "in progress".
          const acknowledged = new Map<number, string>();
          for (const { send, r } of answers) {
            if (r.status === 409) continue;
            expect([200, 201]).toContain(r.status);
            const seen = acknowledged.get(send.index);
            if (seen !== undefined) expect(r.text).toBe(seen);
            acknowledged.set(send.index, r.text);
          }
          // Exactly once: one task per acknowledged create, and the base task's version moved once per acknowledged rename.
          const creates = [...acknowledged.keys()].filter((i) => requests[i]?.create).length;
          const renames = [...acknowledged.keys()].filter((i) => !requests[i]?.create).length;
          expect(await countTasks(user)).toBe(1 + creates);
          const baseNow = await user.request('GET', `/api/tasks/${base.body.id}`);
          expect(baseNow.headers.get('etag')).toBe(`"v${1 + renames}"`);
          // And a retry of anything now gets what was acknowledged.
          for (const [index, text] of acknowledged) {
            const request = requests[index];
            if (!request) continue;
            const again = request.create
              ? await user.request('POST', '/api/tasks', { body: { title: request.title }, headers: keyed(`k${index}`) })
              : await user.request('PUT', `/api/tasks/${base.body.id}`, { body: { title: request.title }, headers: keyed(`k${index}`) });
            expect(again.text).toBe(text);
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('a crash right after a keyed write commits', () => {
  const workDir = makeWorkDir();

  test('kill -9, restart: the retry is answered with the original 201 and there is one task', async () => {
    const env = baseEnv({ PGLITE_DATA_DIR: join(workDir, 'crash') });
    const userId = `crash-${randomUUID()}`;
    const headers = {
      authorization: `Bearer ${mintToken(workDir, userId, env)}`,
      'content-type': 'application/json',
      'idempotency-key': 'crash-key',
    };
    const post = (url: string) => fetch(`${url}/api/tasks`, { method: 'POST', headers, body: '{"title":"survives"}' });

    const victim = await startServer(workDir, env);
    const first = await post(victim.url);
    const firstText = await first.text();
    await victim.stop('SIGKILL');
    expect(first.status).toBe(201);

    const revived = await startServer(workDir, env);
    try {
      const retry = await post(revived.url);
      expect(retry.status).toBe(201);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
      expect(retry.headers.get('location')).toBe(first.headers.get('location'));
      expect(await retry.text()).toBe(firstText);
      const list = await fetch(`${revived.url}/api/tasks`, { headers });
      expect(((await list.json()) as unknown[]).length).toBe(1);
    } finally {
      expect(await revived.stop(), revived.output()).toBe(0);
    }
  });
});
