import { createYoga, createSchema } from 'graphql-yoga';
import { createServer } from 'node:http';
const yoga = createYoga({ schema: createSchema({ typeDefs: 'type Query { hello: String! }', resolvers: { Query: { hello: () => 'world' } } }), logging: false, landingPage: false });
async function bench(name, fn, n = 20000) {
  for (let i = 0; i < 1000; i++) await fn();
  const c0 = process.cpuUsage(); const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: 20 }, async () => { while (next++ < n) await fn(); }));
  const c = process.cpuUsage(c0);
  console.log(name.padEnd(40), ((c.user + c.system) / n).toFixed(1), 'µs CPU/op', (n / (performance.now() - t0) * 1000).toFixed(0), 'op/s');
}
await bench('bare yoga POST hello', () => Promise.resolve(yoga.fetch('http://x/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ hello }"}' })).then((r) => r.text()));
await bench('bare yoga GET hello', () => Promise.resolve(yoga.fetch('http://x/graphql?query=%7Bhello%7D', { headers: { accept: 'application/json' } })).then((r) => r.text()));
