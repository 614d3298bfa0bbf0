import pg from 'pg';
const pool = new pg.Pool({ connectionString: 'postgresql://postgres@127.0.0.1:5432/bench_quick', max: 10 });
const { rows } = await pool.query("SELECT id FROM tasks WHERE user_id = 'u1' LIMIT 1");
const id = rows[0].id;
async function bench(name, fn, n = 20000) {
  for (let i = 0; i < 1000; i++) await fn();
  const c0 = process.cpuUsage(); const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: 20 }, async () => { while (next++ < n) await fn(); }));
  const c = process.cpuUsage(c0);
  console.log(name.padEnd(40), ((c.user + c.system) / n).toFixed(1), 'µs CPU/op', (n / (performance.now() - t0) * 1000).toFixed(0), 'op/s');
}
const sql = 'SELECT id, user_id, title, completed, created_at, updated_at FROM tasks WHERE id = $1 AND user_id = $2';
await bench('pg unnamed', () => pool.query(sql, [id, 'u1']));
await bench('pg named (prepared)', () => pool.query({ name: 'get-task', text: sql, values: [id, 'u1'] }));
await pool.end();
