/**
 * /readyz for load balancers and orchestrators: 200 when this instance can serve (see ../readiness.ts),
 * else 503 with the reason. (/healthz, "the process is alive", is Yoga's own health check.) While shutting
 * down, every response also asks its client to close the connection, so keep-alive connections drain.
 */
import type { Plugin } from 'graphql-yoga';
import type { Readiness } from '../readiness.js';

export const READY_PATH = '/readyz';

export function useReadiness(readiness: Readiness): Plugin {
  return {
    async onRequest({ url, endResponse, fetchAPI }) {
      if (url.pathname !== READY_PATH) return;
      const report = await readiness.check();
      endResponse(
        report.ready
          ? fetchAPI.Response.json({ status: 'ready' })
          : fetchAPI.Response.json({ status: 'not ready', reason: report.reason }, { status: 503, headers: { 'retry-after': '5' } }),
      );
    },
    onResponse({ response }) {
      if (readiness.shuttingDown) response.headers.set('connection', 'close');
    },
  };
}
