import { openDatabase } from '/work/main/dist/db/client.js';
import { createApp } from '/work/main/dist/yoga.js';
import { createLogger } from '/work/main/dist/logger.js';
import { SignJWT } from 'jose';
const secret = 'bench-secret-bench-secret-bench-secret-1234';
const db = await openDatabase({ url: 'postgresql://postgres@127.0.0.1:5432/bench_quick' });
const app = createApp({ prisma: db.prisma, auth: { hs256: { secret } }, logger: createLogger('warn') });
const token = await new SignJWT({ sub: 'u1' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode(secret));
const h = { authorization: `Bearer ${token}` };
const tasks = await db.prisma.task.findMany({ where: { userId: 'u1' } });
const id = tasks[0].id;
async function bench(name, fn, n = 4000) {
  for (let i = 0; i < 500; i++) await fn();
  const c0 = process.cpuUsage(); const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: 20 }, async () => { while (next++ < n) await fn(); }));
  const c = process.cpuUsage(c0); const wall = performance.now() - t0;
  console.log(name.padEnd(44), ((c.user + c.system) / n).toFixed(0).padStart(5), 'µs CPU/op', (n / wall * 1000).toFixed(0).padStart(6), 'op/s');
}
const which = process.argv[2] ?? 'all';
if (which === 'all' || which === 'prisma') await bench('prisma findUnique', () => db.prisma.task.findUnique({ where: { id, userId: 'u1' } }));
if (which === 'all' || which === 'get') await bench('app.fetch GET /api/tasks/:id', () => Promise.resolve(app.fetch(`http://x/api/tasks/${id}`, { headers: h })).then((r) => r.text()));
if (which === 'all' || which === 'bad') await bench('app.fetch GET /api/tasks/abc (400, no db)', () => Promise.resolve(app.fetch(`http://x/api/tasks/abc`, { headers: h })).then((r) => r.text()));
if (which === 'all') await bench('app.fetch GET /healthz', () => Promise.resolve(app.fetch(`http://x/healthz`)).then((r) => r.text()));
if (which === 'all' || which === 'gql') await bench('app.fetch POST /graphql task(id)', () => Promise.resolve(app.fetch(`http://x/graphql`, { method: 'POST', headers: { ...h, 'content-type': 'application/json' }, body: JSON.stringify({ query: `{ task(id: "${id}") { id title completed userId createdAt updatedAt } }` }) })).then((r) => r.text()));
await db.close();
