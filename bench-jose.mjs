import { SignJWT, jwtVerify } from 'jose';
import { createHmac, timingSafeEqual } from 'node:crypto';
const secret = new TextEncoder().encode('bench-secret-bench-secret-bench-secret-1234');
const key = await crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify', 'sign']);
const token = await new SignJWT({ sub: 'u1' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(secret);
async function bench(name, fn, n = 20000) {
  for (let i = 0; i < 1000; i++) await fn();
  const c0 = process.cpuUsage(); const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: 20 }, async () => { while (next++ < n) await fn(); }));
  const c = process.cpuUsage(c0);
  console.log(name.padEnd(40), ((c.user + c.system) / n).toFixed(1), 'µs CPU/op', (n / (performance.now() - t0) * 1000).toFixed(0), 'op/s');
}
await bench('jwtVerify(raw bytes)', () => jwtVerify(token, secret, { algorithms: ['HS256'] }));
await bench('jwtVerify(CryptoKey)', () => jwtVerify(token, key, { algorithms: ['HS256'] }));
const [h, p, s] = token.split('.');
const data = new TextEncoder().encode(`${h}.${p}`);
const sig = Buffer.from(s, 'base64url');
await bench('subtle.verify HMAC', () => crypto.subtle.verify('HMAC', key, sig, data));
await bench('node createHmac', async () => timingSafeEqual(createHmac('sha256', secret).update(`${h}.${p}`).digest(), sig));
