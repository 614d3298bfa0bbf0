/**
 * The environment, parsed once at start-up. A wrong value stops the process with a readable message
 * instead of surfacing later as a confusing runtime error.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { ASYMMETRIC_ALGORITHMS, type AuthConfig } from './auth/bearer.js';

const MIN_SECRET_BYTES = 32;

const emptyAsUnset = (value: unknown) => (value === '' ? undefined : value);
const optional = <T extends z.ZodType>(schema: T) => z.preprocess(emptyAsUnset, schema.optional());
const commaList = (value: unknown) =>
  typeof value === 'string' && value.trim() !== '' ? value.split(',').map((item) => item.trim()).filter(Boolean) : undefined;
const origin = z.url({ protocol: /^https?$/ }).refine((url) => URL.canParse(url) && new URL(url).origin === url, {
  error: 'must be an origin: scheme://host[:port], no path or trailing slash',
});

const envSchema = z.object({
  NODE_ENV: z.preprocess(emptyAsUnset, z.enum(['development', 'production', 'test']).default('development')),
  HOST: z.preprocess(emptyAsUnset, z.string().default('127.0.0.1')),
  PORT: z.preprocess(emptyAsUnset, z.coerce.number().int().min(0).max(65535).default(8000)),
  DATABASE_URL: optional(
    z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgresql:// connection string' }),
  ),
  DATABASE_POOL_SIZE: z.preprocess(emptyAsUnset, z.coerce.number().int().min(1).max(1000).default(10)),
  UNPAGED_LIST_CONCURRENCY: z.preprocess(emptyAsUnset, z.coerce.number().int().min(1).max(1000).default(2)),
  DATABASE_CONNECT_TIMEOUT_MS: z.preprocess(emptyAsUnset, z.coerce.number().int().min(100).default(5_000)),
  DATABASE_STATEMENT_TIMEOUT_MS: z.preprocess(
    emptyAsUnset,
    z.coerce.number().int().refine((ms) => ms === 0 || ms >= 100, { error: 'must be 0 (off) or at least 100' }).default(10_000),
  ),
  DATABASE_MIGRATION_URL: optional(
    z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgresql:// connection string' }),
  ),
  SHUTDOWN_GRACE_MS: z.preprocess(emptyAsUnset, z.coerce.number().int().min(100, 'must be at least 100 (ms)').default(10_000)),
  METRICS_TOKEN: optional(z.string().min(16, { error: 'must be at least 16 characters' })),
  PGLITE_DATA_DIR: z.preprocess(emptyAsUnset, z.string().default('.data/pglite')),
  MIGRATE_ON_START: z.preprocess(emptyAsUnset, z.stringbool().default(true)),
  WEB_CONCURRENCY: optional(z.coerce.number().int().min(1).max(256)),
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
  LOG_LEVEL: z.preprocess(
    emptyAsUnset,
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),
});

export type Env = Omit<z.infer<typeof envSchema>, 'GRAPHQL_INTROSPECTION'> & {
  /** Schema introspection and GraphiQL: on unless production, or as GRAPHQL_INTROSPECTION says. */
  GRAPHQL_INTROSPECTION: boolean;
  /** How bearer tokens are verified. */
  auth: AuthConfig;
  /** The HS256 shared secret when that path is on: `BETTER_AUTH_SECRET`, or outside production a generated one kept in `.data/`. */
  authSecret: string | undefined;
};

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

export class EnvError extends Error {
  override name = 'EnvError';
}

/** Where a development secret lives when `BETTER_AUTH_SECRET` is not set (never used in production). */
export const DEV_SECRET_FILE = '.data/dev-auth-secret';

export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new EnvError(`Invalid environment:\n${lines.join('\n')}`);
  }
  const env = parsed.data;
  const pins = { issuer: env.AUTH_ISSUER, audience: env.AUTH_AUDIENCE, type: env.AUTH_TOKEN_TYPE };

  // The shared-secret path is on by default only when there is no JWKS: Better Auth's own HS256 tokens
  // (session cookies, e-mail links) are signed with the same secret and must not pass for access tokens.
  const acceptHs256 = env.AUTH_ACCEPT_HS256 ?? env.AUTH_JWKS_URL === undefined;
  let authSecret: string | undefined;
  if (acceptHs256) {
    if (env.BETTER_AUTH_SECRET) authSecret = env.BETTER_AUTH_SECRET;
    else if (env.NODE_ENV === 'production') {
      throw new EnvError(
        'Invalid environment:\n  BETTER_AUTH_SECRET: required in production (or set AUTH_JWKS_URL to verify Better Auth JWTs by public key)',
      );
    } else authSecret = readOrCreateDevSecret();
  }

  let jwks: AuthConfig['jwks'];
  if (env.AUTH_JWKS_URL) {
    const url = new URL(env.AUTH_JWKS_URL);
    // Whoever can answer for the key set can sign any token: over plain http that is anyone on the way.
    if (env.NODE_ENV === 'production' && url.protocol === 'http:' && !LOOPBACK.has(url.hostname)) {
      throw new EnvError('Invalid environment:\n  AUTH_JWKS_URL: must be https in production (http only for localhost)');
    }
    // Better Auth's JWT plugin sets iss and aud to its base URL, which serves /api/auth/jwks.
    jwks = { ...pins, url, algorithms: env.AUTH_JWT_ALGORITHMS, issuer: pins.issuer ?? url.origin, audience: pins.audience ?? url.origin };
  }
  if (!authSecret && !jwks) {
    throw new EnvError('Invalid environment:\n  AUTH_ACCEPT_HS256: false leaves no way to verify tokens (set AUTH_JWKS_URL)');
  }
  return {
    ...env,
    GRAPHQL_INTROSPECTION: env.GRAPHQL_INTROSPECTION ?? env.NODE_ENV !== 'production',
    authSecret,
    auth: { hs256: authSecret === undefined ? undefined : { ...pins, secret: authSecret }, jwks },
  };
}

/** Loads `.env` from the working directory when there is one; variables already set win. */
export function loadDotEnvFile(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}

function readOrCreateDevSecret(): string {
  const file = resolve(DEV_SECRET_FILE);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = randomBytes(MIN_SECRET_BYTES).toString('base64url');
  mkdirSync(dirname(file), { recursive: true });
  try {
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (error) {
    // Another process created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(file, 'utf8').trim();
    throw error;
  }
}
