/**
 * CPU per request inside the app (no sockets), against BENCH_DATABASE_URL after `npm run bench` seeded it:
 * `npm run build:server && node bench/micro.mjs [get|list|bad|health|gql|prisma]`. For profiling:
 * `node --cpu-prof bench/micro.mjs get`.
 */
import { SignJWT } from 'jose';
import { openDatabase } from '../dist/db/client.js';
import { createLogger } from '../dist/logger.js';
import { createApp } from '../dist/yoga.js';

const secret = 'bench-secret-that-is-at-least-32-bytes-long';
const database = await openDatabase({ url: process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/task_bench' });
const app = createApp({ prisma: database.prisma, auth: { hs256: { secret } }, logger: createLogger('warn'), production: true });
const token = await new SignJWT({ sub: 'user001' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode(secret));
const headers = { authorization: `Bearer ${token}` };
const [task] = await database.prisma.task.findMany({ where: { userId: 'user001' }, take: 1 });

async function measure(name, fn, n = 5000) {
  for (let i = 0; i < 500; i++) await fn();
  const cpu = process.cpuUsage();
  const started = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: 20 }, async () => {
    while (next++ < n) await fn();
  }));
  const used = process.cpuUsage(cpu);
  const perOp = (used.user + used.system) / n;
  console.log(`${name.padEnd(36)} ${perOp.toFixed(0).padStart(5)} µs CPU per request  ${Math.round((n / (performance.now() - started)) * 1000)} req/s`);
}

const text = (response) => Promise.resolve(response).then((r) => r.text());
const cases = {
  prisma: ['Prisma findUnique alone', () => database.prisma.task.findUnique({ where: { id: task.id, userId: 'user001' } })],
  health: ['GET /healthz', () => text(app.fetch('http://x/healthz'))],
  bad: ['GET /api/tasks/abc (400)', () => text(app.fetch('http://x/api/tasks/abc', { headers }))],
  get: ['GET /api/tasks/:id', () => text(app.fetch(`http://x/api/tasks/${task.id}`, { headers }))],
  list: ['GET /api/tasks (100)', () => text(app.fetch('http://x/api/tasks', { headers }))],
  gql: ['POST /graphql task(id)', () =>
    text(app.fetch('http://x/graphql', {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ task(id: "${task.id}") { id title completed userId createdAt updatedAt } }` }),
    }))],
};
for (const key of process.argv[2] ? [process.argv[2]] : Object.keys(cases)) await measure(...cases[key]);
await database.close();
// MICRO_MEMORY=1: the process's memory afterwards (how much of the heap is garbage V8 has not collected yet).
if (process.env.MICRO_MEMORY) {
  const m = process.memoryUsage();
  console.log(Object.fromEntries(Object.entries(m).map(([k, v]) => [k, `${Math.round(v / 1e6)} MB`])));
}
