/**
 * Prometheus metrics (served at /metrics by ./http/health.ts): requests and their latency per route and status, GraphQL
 * operations (over /graphql and through the REST routes), live change streams, database pool usage, and Node's
 * process metrics.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Operation names come from clients: past this many distinct ones, the rest are counted as "other". */
const MAX_OPERATION_NAMES = 100;

export interface Metrics {
  registry: Registry;
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  /** A request whose client hung up before its answer was sent. */
  countAborted(method: string, route: string): void;
  countOperation(source: 'graphql' | 'rest', type: string, name: string | undefined): void;
  /** Where the number of live change streams open on this instance is read from. */
  countStreamsWith(count: () => number): void;
  /** A live change stream ended: on which face, and why (client, reauth, reset, shutdown, error). */
  countStreamEnd(face: 'rest' | 'graphql', reason: string): void;
}

export function createMetrics(
  options: { poolStats?: (() => { total: number; idle: number; waiting: number }) | undefined; processMetrics?: boolean } = {},
): Metrics {
  const { poolStats, processMetrics = false } = options;
  const registry = new Registry();
  // Memory, CPU, event-loop lag, GC: once per process (the server's registry), not per app a test builds.
  if (processMetrics) collectDefaultMetrics({ register: registry });
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({ name: 'http_requests_total', help: 'HTTP requests answered', labelNames, registers: [registry] });
  const latency = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from request to response',
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const aborted = new Counter({
    name: 'http_requests_aborted_total',
    help: 'HTTP requests whose client hung up before the answer was sent (not in http_requests_total)',
    labelNames: ['method', 'route'] as const,
    registers: [registry],
  });
  const operations = new Counter({
    name: 'graphql_operations_total',
    help: 'GraphQL operations executed, over /graphql or through a REST route',
    labelNames: ['source', 'type', 'name'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'db_pool_connections',
    help: 'Connections of the PostgreSQL pool: total open, idle, and requests waiting for one',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const stats = poolStats?.();
      if (!stats) return;
      this.set({ state: 'total' }, stats.total);
      this.set({ state: 'idle' }, stats.idle);
      this.set({ state: 'waiting' }, stats.waiting);
    },
  });
  let streamCount: (() => number) | undefined;
  new Gauge({
    name: 'task_event_streams',
    help: 'Live change streams (REST and GraphQL) open on this instance',
    registers: [registry],
    collect() {
      if (streamCount) this.set(streamCount());
    },
  });
  const streamEnds = new Counter({
    name: 'task_event_streams_ended_total',
    help: 'Live change streams ended, by face and reason (client: the client left; reauth: the token expired; reset: too slow; shutdown; error)',
    labelNames: ['face', 'reason'] as const,
    registers: [registry],
  });
  const names = new Set<string>();
  // prom-client hashes a label object on every call; the series of one (method, route, status) are kept.
  const series = new Map<string, { count: () => void; observe: (seconds: number) => void }>();
  return {
    registry,
    observeRequest(method, route, status, seconds) {
      const key = `${method} ${status} ${route}`;
      let one = series.get(key);
      if (!one) {
        const labels = { method, route, status: String(status) };
        const counter = requests.labels(labels);
        const histogram = latency.labels(labels);
        one = { count: () => counter.inc(), observe: (s) => histogram.observe(s) };
        series.set(key, one);
      }
      one.count();
      one.observe(seconds);
    },
    countAborted(method, route) {
      aborted.inc({ method, route });
    },
    countOperation(source, type, name) {
      let label = name ?? 'anonymous';
      if (!names.has(label)) {
        if (names.size >= MAX_OPERATION_NAMES || !/^[A-Za-z_]\w{0,63}$/.test(label)) label = 'other';
        else names.add(label);
      }
      operations.inc({ source, type, name: label });
    },
    countStreamsWith(count) {
      streamCount = count;
    },
    countStreamEnd(face, reason) {
      streamEnds.inc({ face, reason });
    },
  };
}
