/**
 * Probes and scrapes: /healthz ("the process is alive", for a liveness probe), /readyz (200 when this
 * instance can serve, see ../readiness.ts, else 503 with the reason: for load balancers), and /metrics
 * (Prometheus; behind `Authorization: Bearer <METRICS_TOKEN>` when one is configured). While shutting
 * down, every response also asks its client to close the connection, so keep-alive connections drain.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { ServiceUnavailableError, UnauthenticatedError } from '../errors.js';
import { HEALTH_PATH, METRICS_PATH, READY_PATH } from '../paths.js';
import type { Metrics } from '../metrics.js';
import type { Readiness } from '../readiness.js';

export function useHealthRoutes(
  app: FastifyInstance,
  options: { readiness: Readiness; metrics: Metrics; metricsToken: string | undefined },
): void {
  const { readiness, metrics, metricsToken } = options;
  const expected = metricsToken === undefined ? undefined : Buffer.from(`Bearer ${metricsToken}`);

  app.addHook('onRequest', (_request, reply, done) => {
    if (readiness.shuttingDown) reply.header('connection', 'close');
    done();
  });

  app.get(HEALTH_PATH, (_request, reply) => reply.type('application/json; charset=utf-8').send('{"message":"alive"}'));

  app.get(READY_PATH, async (_request, reply) => {
    const report = await readiness.check();
    if (!report.ready) {
      return reply.code(503).headers(new ServiceUnavailableError().headers).send({ status: 'not ready', reason: report.reason });
    }
    return { status: 'ready' };
  });

  app.get(METRICS_PATH, async (request, reply) => {
    if (expected) {
      const given = Buffer.from(request.headers.authorization ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new UnauthenticatedError();
    }
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
