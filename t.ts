import { openDatabase } from './src/db/client.js';
import { startTcpProxy } from './tests/support/tcp-proxy.js';
const proxy = await startTcpProxy('127.0.0.1', 5432);
const db = await openDatabase({ url: proxy.url('postgresql://postgres@127.0.0.1:5432/test'), connectTimeoutMs: 500, statementTimeoutMs: 800, poolSize: 2, onPoolError: (e) => console.log('POOLERR', e.message) });
const show = (e: any) => { const out: string[] = []; for (let c = e; c; c = c.cause) out.push(`${c.constructor?.name} code=${c.code} kind=${c.kind ?? c.meta?.driverAdapterError?.cause?.kind} msg=${String(c.message).slice(0, 120).replace(/\n/g, ' ')}`); return out.join(' <- '); };
const q = async (label: string) => { const t = performance.now(); try { await db.prisma.task.count(); console.log(label, 'ok', Math.round(performance.now() - t)); } catch (e) { console.log(label, 'ERR', Math.round(performance.now() - t), 'ms', show(e)); } };
await q('up');
proxy.setMode('cut'); await q('cut'); await q('cut2');
proxy.setMode('stall'); await q('stall');
proxy.setMode('up'); await q('restored'); await q('restored2');
// exhaustion
proxy.delayMs = 1500; proxy.setMode('slow');
await Promise.all([1,2,3,4].map((i) => q('slow' + i)));
proxy.setMode('up');
await db.close(); await proxy.close();
