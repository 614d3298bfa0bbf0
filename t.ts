import { openDatabase } from './src/db/client.js';
import { createApp } from './src/yoga.js';
import { createLogger } from './src/logger.js';
import { SignJWT } from 'jose';
import pg from 'pg';
const secret = 'bench-secret-bench-secret-bench-secret-1234';
const db = await openDatabase({ url: 'postgresql://postgres@127.0.0.1:5432/bench_quick' });
const app = createApp({ prisma: db.prisma, auth: { hs256: { secret } }, logger: createLogger('warn') });
const token = await new SignJWT({ sub: 'u1' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode(secret));
const h = { authorization: `Bearer ${token}` };
const tasks = await db.prisma.task.findMany({ where: { userId: 'u1' } });
const id = tasks[0]!.id;
const pool = new pg.Pool({ connectionString: 'postgresql://postgres@127.0.0.1:5432/bench_quick' });
async function bench(name: string, fn: () => Promise<unknown>, n = 3000) {
  for (let i = 0; i < 300; i++) await fn();
  const c0 = process.cpuUsage(); const t0 = performance.now();
  // 20 in flight, like a loaded server
  let next = 0;
  await Promise.all(Array.from({ length: 20 }, async () => { while (next++ < n) await fn(); }));
  const c = process.cpuUsage(c0); const wall = performance.now() - t0;
  console.log(name.padEnd(44), ((c.user + c.system) / n).toFixed(0).padStart(5), 'µs CPU/op', (n / wall * 1000).toFixed(0).padStart(6), 'op/s');
}
await bench('pg query (raw)', () => pool.query('SELECT id, user_id, title, completed, created_at, updated_at FROM tasks WHERE id = $1 AND user_id = $2', [id, 'u1']));
await bench('prisma findUnique', () => db.prisma.task.findUnique({ where: { id, userId: 'u1' } }));
await bench('app.fetch GET /api/tasks/:id', () => Promise.resolve(app.fetch(`http://x/api/tasks/${id}`, { headers: h })).then((r) => r.text()));
await bench('app.fetch GET /api/tasks/abc (400, no db)', () => Promise.resolve(app.fetch(`http://x/api/tasks/abc`, { headers: h })).then((r) => r.text()));
await bench('app.fetch GET /healthz', () => Promise.resolve(app.fetch(`http://x/healthz`)).then((r) => r.text()));
await bench('app.fetch POST /graphql task(id)', () => Promise.resolve(app.fetch(`http://x/graphql`, { method: 'POST', headers: { ...h, 'content-type': 'application/json' }, body: JSON.stringify({ query: `{ task(id: "${id}") { id title completed userId createdAt updatedAt } }` }) })).then((r) => r.text()));
await db.close(); await pool.end();
