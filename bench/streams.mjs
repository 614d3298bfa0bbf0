/**
 * How many idle change streams one instance holds within 200 MB: `npm run build:server && node
 * bench/streams.mjs` starts the compiled server (as `npm start` runs it) on BENCH_DATABASE_URL, opens
 * GET /api/tasks/events streams for distinct users in steps of STEP (default 250) up to MAX (default
 * 4,000), CONCURRENCY (default 25) at a time, and after each step prints the server's RSS; the last step under 200 MB is the answer. Then it
 * makes one write per user on a few streams and checks they arrive, so the streams counted are live.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { SignJWT } from 'jose';

const databaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/task_bench';
const step = Number(process.env.STEP ?? 250);
const max = Number(process.env.MAX ?? 4000);
/** Streams opened at once (each takes its place in the database as it opens). */
const concurrency = Number(process.env.CONCURRENCY ?? 25);
const secret = 'bench-secret-that-is-at-least-32-bytes-long';
const port = 8411;

const server = spawn(process.execPath, ['--max-semi-space-size=16', 'dist/server.js'], {
  env: {
    PATH: process.env.PATH,
    DATABASE_URL: databaseUrl,
    BETTER_AUTH_SECRET: secret,
    NODE_ENV: 'production',
    PORT: String(port),
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_SECOND: '0',
    MAX_STREAMS: String(max + 10),
    SHUTDOWN_DELAY_MS: '0',
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const token = (sub) =>
  new SignJWT({ sub }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode(secret));
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

for (let i = 0; i < 100; i++) {
  const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
    (r) => r.ok,
    () => false,
  );
  if (ready) break;
  await new Promise((resolve) => setTimeout(resolve, 200));
}
console.log(`idle RSS ${rssMb().toFixed(0)} MB`);

/** Opens one stream and resolves once its first comment arrives; keeps every chunk it gets. */
function openStream(authorization) {
  return new Promise((resolve, reject) => {
    const request = http.get(
      { host: '127.0.0.1', port, path: '/api/tasks/events', agent, headers: { authorization, accept: 'text/event-stream' } },
      (response) => {
        if (response.statusCode !== 200) return reject(new Error(`status ${response.statusCode}`));
        const stream = { response, text: '' };
        response.setEncoding('utf8');
        response.on('data', (chunk) => {
          stream.text += chunk;
          if (stream.text.length > 10_000) stream.text = stream.text.slice(-1_000);
        });
        response.once('data', () => resolve(stream));
      },
    );
    request.on('error', reject);
  });
}

const streams = [];
let within = 0;
try {
  while (streams.length < max) {
    const batch = [];
    for (let i = 0; i < step; i += concurrency) {
      batch.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(concurrency, step - i) }, async (_, j) => {
            const t = await token(`streamer${streams.length + i + j}`);
            return Object.assign(await openStream(`Bearer ${t}`), { token: t });
          }),
        )),
      );
    }
    streams.push(...batch);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const rss = rssMb();
    console.log(`${streams.length} streams open: RSS ${rss.toFixed(0)} MB`);
    if (rss <= 200) within = streams.length;
    else break;
  }
  // Live, not just open: a write for five of them arrives on their streams.
  const sample = [0, 1, 2, 3, 4].map((i) => Math.floor((i * (streams.length - 1)) / 4));
  for (const i of sample) {
    await fetch(`http://127.0.0.1:${port}/api/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${streams[i].token}`, 'content-type': 'application/json' },
      body: '{"title":"ping"}',
    });
  }
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const live = sample.filter((i) => streams[i].text.includes('event: task.created')).length;
  console.log(`${live} of ${sample.length} sampled streams received their write`);
  console.log(`within 200 MB: ${within} idle streams (steps of ${step})`);
} finally {
  for (const { response } of streams) response.destroy();
  server.kill('SIGTERM');
}
