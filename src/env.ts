/**
 * The environment, parsed once at start-up into one section per part of the program (http, database,
 * auth, graphql, observability). Every default lives here. A wrong value stops the process with a
 * readable message instead of surfacing later as a confusing runtime error.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import type { AppConfig } from './app.js';
import { ASYMMETRIC_ALGORITHMS, type AuthConfig } from './auth/bearer.js';
import type { DatabaseConfig } from './db/client.js';
import { httpLimits } from './http/node-server.js';

const MIN_SECRET_BYTES = 32;

const emptyAsUnset = (value: unknown) => (value === '' ? undefined : value);
const optional = <T extends z.ZodType>(schema: T) => z.preprocess(emptyAsUnset, schema.optional());
const withDefault = <T extends z.ZodType>(schema: T, value: z.output<T>) => z.preprocess(emptyAsUnset, schema.default(value as never));
const commaList = (value: unknown) =>
  typeof value === 'string' && value.trim() !== ''
    ? value
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean)
    : undefined;
const origin = z.url({ protocol: /^https?$/ }).refine((url) => URL.canParse(url) && new URL(url).origin === url, {
  error: 'must be an origin: scheme://host[:port], no path or trailing slash',
});
const postgresUrl = z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgresql:// connection string' });
const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number({ error: 'must be a whole number' })
    .int({ error: 'must be a whole number' })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` });

/** Seconds, or a number with s, m, h or d (`24h`), from 1 s to 366 days; in milliseconds. */
const duration = z.string().transform((value, ctx) => {
  const match = /^(\d+)\s*(s|m|h|d)?$/.exec(value.trim());
  const ms = match
    ? Number(match[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(match[2] ?? 's') as 's' | 'm' | 'h' | 'd']
    : 0;
  if (ms >= 1_000 && ms <= 366 * 86_400_000) return ms;
  ctx.addIssue({ code: 'custom', message: 'must be a duration from 1 s to 366 d: seconds, or a number with s, m, h or d (24h)' });
  return z.NEVER;
});

const envSchema = z.object({
  NODE_ENV: withDefault(z.enum(['development', 'production', 'test']), 'development'),
  HOST: withDefault(z.string(), '127.0.0.1'),
  PORT: withDefault(int(0, 65535), 8000),
  DATABASE_URL: optional(postgresUrl),
  DATABASE_POOL_SIZE: withDefault(int(1, 1000), 10),
  UNPAGED_LIST_CONCURRENCY: withDefault(int(1, 1000), 2),
  MAX_TASKS_PER_USER: withDefault(int(1, 2_000_000_000), 100_000),
  REQUIRE_IF_MATCH: withDefault(z.stringbool(), false),
  IDEMPOTENCY_KEY_TTL: withDefault(duration, 86_400_000),
  TASK_EVENTS_RETENTION: withDefault(duration, 86_400_000),
  TASK_EVENTS_POLL_MS: optional(
    z.coerce
      .number()
      .int()
      .refine((ms) => ms === 0 || ms >= 10, { error: 'must be 0 (LISTEN) or at least 10' }),
  ),
  DATABASE_LISTEN_URL: optional(postgresUrl),
  MAX_STREAMS_PER_USER: withDefault(int(1, 1_000), 10),
  MAX_STREAMS: withDefault(int(1, 1_000_000), 1_000),
  RATE_LIMIT_PER_SECOND: withDefault(z.coerce.number().min(0), 50),
  RATE_LIMIT_BURST: withDefault(int(1, 1_000_000), 100),
  REDIS_URL: optional(z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' })),
  DATABASE_CONNECT_TIMEOUT_MS: withDefault(int(100), 5_000),
  DATABASE_STATEMENT_TIMEOUT_MS: withDefault(
    z.coerce
      .number()
      .int()
      .refine((ms) => ms === 0 || ms >= 100, { error: 'must be 0 (off) or at least 100' }),
    10_000,
  ),
  DATABASE_MIGRATION_URL: optional(postgresUrl),
  DATABASE_REPLICA_URLS: z.preprocess(commaList, z.array(postgresUrl).default([])),
  REPLICA_MAX_LAG_MS: withDefault(int(0, 3_600_000), 1_000),
  SHUTDOWN_GRACE_MS: withDefault(z.coerce.number().int().min(100, 'must be at least 100 (ms)'), 10_000),
  SHUTDOWN_DELAY_MS: optional(int(0, 600_000)),
  SEND_TIMEOUT_MS: withDefault(int(1_000, 3_600_000), 30_000),
  COMPRESSION: withDefault(z.stringbool(), true),
  METRICS_TOKEN: optional(z.string().min(16, { error: 'must be at least 16 characters' })),
  PGLITE_DATA_DIR: withDefault(z.string(), '.data/pglite'),
  MIGRATE_ON_START: withDefault(z.stringbool(), true),
  WEB_CONCURRENCY: optional(int(1, 256)),
  TRUST_PROXY: z.preprocess(
    (value) => (typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : commaList(value)),
    z.union([int(1, 100), z.array(z.string())]).optional(),
  ),
  BETTER_AUTH_SECRET: optional(
    z.string().refine((s) => Buffer.byteLength(s) >= MIN_SECRET_BYTES, {
      error: `must be at least ${MIN_SECRET_BYTES} bytes (generate one with: openssl rand -base64 32)`,
    }),
  ),
  AUTH_JWKS_URL: optional(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })),
  AUTH_JWT_ALGORITHMS: z.preprocess(commaList, z.array(z.enum(ASYMMETRIC_ALGORITHMS)).min(1).default(['EdDSA'])),
  AUTH_ISSUER: optional(z.string()),
  AUTH_AUDIENCE: optional(z.string()),
  AUTH_TOKEN_TYPE: optional(z.string()),
  AUTH_ACCEPT_HS256: optional(z.stringbool()),
  CORS_ORIGINS: z.preprocess(commaList, z.array(origin).default([])),
  GRAPHQL_INTROSPECTION: optional(z.stringbool()),
  LOG_LEVEL: withDefault(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info'),
  // OpenTelemetry's own names; the exporter reads the rest of OTEL_EXPORTER_OTLP_* (headers, timeout, compression) itself.
  OTEL_EXPORTER_OTLP_ENDPOINT: optional(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optional(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })),
  OTEL_SERVICE_NAME: withDefault(z.string(), 'task-gateway'),
  OTEL_SDK_DISABLED: withDefault(z.stringbool(), false),
  OTEL_TRACES_SAMPLER_ARG: withDefault(
    z.coerce
      .number({ error: 'must be a number from 0 to 1' })
      .min(0, { error: 'must be a number from 0 to 1' })
      .max(1, { error: 'must be a number from 0 to 1' }),
    1,
  ),
});

/** The application's sections (each typed by the layer that uses it: ./app.ts composes them), and the process's own. */
export interface Env extends AppConfig {
  nodeEnv: 'development' | 'production' | 'test';
  database: DatabaseConfig;
  /** The HS256 shared secret when that path is on: `BETTER_AUTH_SECRET`, or outside production a generated one kept in `.data/`. */
  authSecret: string | undefined;
  /** Processes `npm run start:cluster` starts (default: one per core). */
  webConcurrency: number | undefined;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

export class EnvError extends Error {
  override name = 'EnvError';

  /** One line however many variables are wrong, saying where to fix them. */
  constructor(problems: string | string[]) {
    super(`Invalid environment: ${[problems].flat().join('; ')} (set in the environment or .env; .env.example lists every variable)`);
  }
}

/** Where a development secret lives when `BETTER_AUTH_SECRET` is not set (never used in production). */
const DEV_SECRET_FILE = '.data/dev-auth-secret';

export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    throw new EnvError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const env = parsed.data;
  const production = env.NODE_ENV === 'production';
  const pins = { issuer: env.AUTH_ISSUER, audience: env.AUTH_AUDIENCE, type: env.AUTH_TOKEN_TYPE };

  // The shared-secret path is on by default only when there is no JWKS: Better Auth's own HS256 tokens
  // (session cookies, e-mail links) are signed with the same secret and must not pass for access tokens.
  const acceptHs256 = env.AUTH_ACCEPT_HS256 ?? env.AUTH_JWKS_URL === undefined;
  let authSecret: string | undefined;
  if (acceptHs256) {
    if (env.BETTER_AUTH_SECRET) authSecret = env.BETTER_AUTH_SECRET;
    else if (production) {
      throw new EnvError('BETTER_AUTH_SECRET: required in production (or set AUTH_JWKS_URL to verify Better Auth JWTs by public key)');
    } else authSecret = readOrCreateDevSecret();
  }

  let jwks: AuthConfig['jwks'];
  if (env.AUTH_JWKS_URL) {
    const url = new URL(env.AUTH_JWKS_URL);
    // Whoever can answer for the key set can sign any token: over plain http that is anyone on the way.
    if (production && url.protocol === 'http:' && !LOOPBACK.has(url.hostname)) {
      throw new EnvError('AUTH_JWKS_URL: must be https in production (http only for localhost)');
    }
    // Better Auth's JWT plugin sets iss and aud to its base URL, which serves /api/auth/jwks.
    jwks = { ...pins, url, algorithms: env.AUTH_JWT_ALGORITHMS, issuer: pins.issuer ?? url.origin, audience: pins.audience ?? url.origin };
  }
  if (!authSecret && !jwks) {
    throw new EnvError('AUTH_ACCEPT_HS256: false leaves no way to verify tokens (set AUTH_JWKS_URL)');
  }
  return {
    nodeEnv: env.NODE_ENV,
    http: {
      host: env.HOST,
      port: env.PORT,
      corsOrigins: env.CORS_ORIGINS,
      trustProxy: env.TRUST_PROXY ?? false,
      limits: { ...httpLimits, sendTimeoutMs: env.SEND_TIMEOUT_MS },
      shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
      // Behind a balancer in production; a developer's Ctrl+C should not wait.
      shutdownDelayMs: env.SHUTDOWN_DELAY_MS ?? (production ? 5_000 : 0),
      compression: env.COMPRESSION,
    },
    database: {
      url: env.DATABASE_URL,
      migrationUrl: env.DATABASE_MIGRATION_URL,
      listenUrl: env.DATABASE_LISTEN_URL,
      poolSize: env.DATABASE_POOL_SIZE,
      connectTimeoutMs: env.DATABASE_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: env.DATABASE_STATEMENT_TIMEOUT_MS,
      pgliteDataDir: env.PGLITE_DATA_DIR,
      migrateOnStart: env.MIGRATE_ON_START,
      replicaUrls: env.DATABASE_REPLICA_URLS,
      replicaMaxLagMs: env.REPLICA_MAX_LAG_MS,
    },
    auth: { hs256: authSecret === undefined ? undefined : { ...pins, secret: authSecret }, jwks },
    authSecret,
    graphql: { introspection: env.GRAPHQL_INTROSPECTION ?? !production, hideSuggestions: production },
    tasks: {
      unpagedListConcurrency: env.UNPAGED_LIST_CONCURRENCY,
      maxTasksPerUser: env.MAX_TASKS_PER_USER,
      requireIfMatch: env.REQUIRE_IF_MATCH,
      idempotencyKeyTtlMs: env.IDEMPOTENCY_KEY_TTL,
    },
    rateLimit: { perSecond: env.RATE_LIMIT_PER_SECOND, burst: env.RATE_LIMIT_BURST, redisUrl: env.REDIS_URL },
    events: {
      retentionMs: env.TASK_EVENTS_RETENTION,
      pollMs: env.TASK_EVENTS_POLL_MS,
      maxStreamsPerUser: env.MAX_STREAMS_PER_USER,
      maxStreams: env.MAX_STREAMS,
    },
    observability: {
      logLevel: env.LOG_LEVEL,
      metricsToken: env.METRICS_TOKEN,
      tracing: {
        endpoint: env.OTEL_SDK_DISABLED ? undefined : (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT),
        serviceName: env.OTEL_SERVICE_NAME,
        sampleRatio: env.OTEL_TRACES_SAMPLER_ARG,
      },
    },
    webConcurrency: env.WEB_CONCURRENCY,
  };
}

/**
 * The one way a program of this project reads its settings: `.env` (if any) under the environment, then
 * `loadEnv`; a wrong value prints its message and exits 1.
 */
export function loadEnvOrExit(): Env {
  loadDotEnvFile();
  try {
    return loadEnv();
  } catch (error) {
    if (!(error instanceof EnvError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

/** Loads `.env` from the working directory when there is one; variables already set win. */
function loadDotEnvFile(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}

function readOrCreateDevSecret(): string {
  const file = resolve(DEV_SECRET_FILE);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = randomBytes(MIN_SECRET_BYTES).toString('base64url');
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    // Another process created it first: use theirs.
    if (code === 'EEXIST') return readFileSync(file, 'utf8').trim();
    throw new EnvError(`BETTER_AUTH_SECRET: not set, and no development secret can be kept in ${file} (${code}): set it`);
  }
}
