/**
 * CPU per request inside the app (Fastify's inject(), no sockets), against BENCH_DATABASE_URL after
 * `npm run bench` seeded it: `npm run build:server && node bench/micro.mjs [health|bad|get|gql|list|toggle|create|keyed|gqltoggle|gqlkeyed|prisma …]`.
 * The cases run interleaved, ROUNDS times (default 7), and each prints its median and every round, so a
 * machine that speeds up or slows down meanwhile moves them all alike. For a profile:
 * `node --cpu-prof bench/micro.mjs get`; for a count that does not depend on the machine's speed, run it
 * under `valgrind --tool=callgrind --smc-check=all-non-file` with two values of N and take the difference.
 */
import { SignJWT } from 'jose';
import { createApp } from '../dist/app.js';
import { openDatabase } from '../dist/db/client.js';
import { loadEnv } from '../dist/env.js';
import { createLogger } from '../dist/logger.js';

const secret = 'bench-secret-that-is-at-least-32-bytes-long';
const env = loadEnv({
  NODE_ENV: 'production',
  // Rate limiting on, far above this loop's rate, unless asked otherwise (RATE_LIMIT_PER_SECOND=0: off).
  RATE_LIMIT_PER_SECOND: process.env.RATE_LIMIT_PER_SECOND ?? '1000000',
  RATE_LIMIT_BURST: '1000000',
  BETTER_AUTH_SECRET: secret,
  // What answering with compression on costs a request that does not ask for it: COMPRESSION=false to compare.
  COMPRESSION: process.env.COMPRESSION ?? 'true',
  DATABASE_URL: process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/task_bench',
});
const database = await openDatabase(env.database);
const app = await createApp({ config: env, prisma: database.prisma, logger: createLogger('warn') });
await app.ready();
const token = await new SignJWT({ sub: 'user001' })
  .setProtectedHeader({ alg: 'HS256' })
  .setExpirationTime('1h')
  .sign(new TextEncoder().encode(secret));
const headers = { authorization: `Bearer ${token}` };
const json = { ...headers, 'content-type': 'application/json' };
const [task] = await database.prisma.task.findMany({ where: { userId: 'user001' }, take: 1 });
const graphql = (query, variables) => JSON.stringify({ query, variables });
const FIELDS = 'id title completed userId createdAt updatedAt';
// Keys unique to this run; creates go to a user no list case reads.
const run = Date.now().toString(36);
let keys = 0;
const creator = await new SignJWT({ sub: 'micro-creator' })
  .setProtectedHeader({ alg: 'HS256' })
  .setExpirationTime('1h')
  .sign(new TextEncoder().encode(secret));
const createJson = { authorization: `Bearer ${creator}`, 'content-type': 'application/json' };

const cases = {
  health: () => app.inject({ method: 'GET', url: '/healthz' }),
  bad: () => app.inject({ method: 'GET', url: '/api/tasks/abc', headers }),
  get: () => app.inject({ method: 'GET', url: `/api/tasks/${task.id}`, headers }),
  gql: () =>
    app.inject({
      method: 'POST',
      url: '/graphql',
      headers: json,
      payload: graphql(`query T($id: ID!) { task(id: $id) { ${FIELDS} } }`, { id: task.id }),
    }),
  list: () => app.inject({ method: 'GET', url: '/api/tasks', headers }),
  toggle: () => app.inject({ method: 'PATCH', url: `/api/tasks/${task.id}`, headers: json, payload: '{"completed":true}' }),
  create: () => app.inject({ method: 'POST', url: '/api/tasks', headers: createJson, payload: '{"title":"micro"}' }),
  // A write with an Idempotency-Key of its own, on each face.
  keyed: () =>
    app.inject({
      method: 'PATCH',
      url: `/api/tasks/${task.id}`,
      headers: { ...json, 'idempotency-key': `micro-${run}-${++keys}` },
      payload: '{"completed":true}',
    }),
  gqltoggle: () =>
    app.inject({
      method: 'POST',
      url: '/graphql',
      headers: json,
      payload: graphql(`mutation T($id: ID!) { setTaskCompleted(id: $id, completed: true) { ${FIELDS} } }`, { id: task.id }),
    }),
  gqlkeyed: () =>
    app.inject({
      method: 'POST',
      url: '/graphql',
      headers: { ...json, 'idempotency-key': `micro-${run}-${++keys}` },
      payload: graphql(`mutation T($id: ID!) { setTaskCompleted(id: $id, completed: true) { ${FIELDS} } }`, { id: task.id }),
    }),
  prisma: () => database.prisma.task.findUnique({ where: { id: task.id, userId: 'user001' } }),
};

/** µs of CPU per call, n calls 10 at a time. */
async function measure(call, n) {
  const cpu = process.cpuUsage();
  let next = 0;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (next++ < n) {
        const response = await call();
        if (response?.statusCode >= 400) throw new Error(`${response.statusCode} ${response.body}`);
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / n;
}

const chosen = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(cases);
const rounds = Number(process.env.ROUNDS ?? 7);
const n = Number(process.env.N ?? 1000);
for (const key of chosen) await measure(cases[key], n); // warm-up
const samples = Object.fromEntries(chosen.map((key) => [key, []]));
for (let round = 0; round < rounds; round++) for (const key of chosen) samples[key].push(await measure(cases[key], n));
for (const key of chosen) {
  const sorted = [...samples[key]].sort((a, b) => a - b);
  console.log(
    `${key.padEnd(8)} median ${sorted[Math.floor(sorted.length / 2)].toFixed(0).padStart(5)} µs CPU per request   (${samples[key].map((x) => x.toFixed(0)).join(' ')})`,
  );
}
await app.close();
await database.close();
