import { describe, expect, test } from 'vitest';
import { EnvError, loadEnv } from '../src/env.js';

const SECRET = 'a-shared-secret-that-is-32-bytes!';

describe('the environment', () => {
  test('the defaults serve on 127.0.0.1:8000 with the embedded database and migrations on start', () => {
    const env = loadEnv({ BETTER_AUTH_SECRET: SECRET });

    expect(env).toMatchObject({
      http: { host: '127.0.0.1', port: 8000 },
      database: { pgliteDataDir: '.data/pglite', migrateOnStart: true },
    });
    expect(env.database.url).toBeUndefined();
    expect(env.auth).toEqual({ hs256: { secret: SECRET, issuer: undefined, audience: undefined, type: undefined }, jwks: undefined });
  });

  test('AUTH_JWKS_URL turns on the public-key path pinned to its origin, and the shared-secret path off', () => {
    const env = loadEnv({ AUTH_JWKS_URL: 'https://auth.example.com/api/auth/jwks', BETTER_AUTH_SECRET: SECRET });

    expect(env.auth.hs256).toBeUndefined();
    expect(env.auth.jwks).toMatchObject({
      algorithms: ['EdDSA'],
      issuer: 'https://auth.example.com',
      audience: 'https://auth.example.com',
    });
    expect(env.auth.jwks?.url.href).toBe('https://auth.example.com/api/auth/jwks');
  });

  test('both paths can be on, each with its own algorithms, sharing the pins', () => {
    const env = loadEnv({
      AUTH_JWKS_URL: 'https://auth.example.com/api/auth/jwks',
      AUTH_JWT_ALGORITHMS: 'EdDSA, ES256',
      AUTH_ISSUER: 'https://id.example.com',
      AUTH_AUDIENCE: 'task-api',
      AUTH_ACCEPT_HS256: 'true',
      BETTER_AUTH_SECRET: SECRET,
    });

    expect(env.auth.jwks).toMatchObject({ algorithms: ['EdDSA', 'ES256'], issuer: 'https://id.example.com', audience: 'task-api' });
    expect(env.auth.hs256).toMatchObject({ secret: SECRET, issuer: 'https://id.example.com', audience: 'task-api' });
  });

  test.for([
    [
      'a symmetric algorithm on the public-key path',
      { AUTH_JWKS_URL: 'https://a.example/jwks', AUTH_JWT_ALGORITHMS: 'HS256' },
      'AUTH_JWT_ALGORITHMS',
    ],
    ['"none" on the public-key path', { AUTH_JWKS_URL: 'https://a.example/jwks', AUTH_JWT_ALGORITHMS: 'none' }, 'AUTH_JWT_ALGORITHMS'],
    ['a secret of 31 bytes', { BETTER_AUTH_SECRET: 'x'.repeat(31) }, 'BETTER_AUTH_SECRET: must be at least 32 bytes'],
    ['production without any way to verify tokens', { NODE_ENV: 'production' }, 'BETTER_AUTH_SECRET: required in production'],
    [
      'production with the shared-secret path on but no secret',
      { NODE_ENV: 'production', AUTH_JWKS_URL: 'https://a.example/jwks', AUTH_ACCEPT_HS256: 'true' },
      'BETTER_AUTH_SECRET',
    ],
    ['a JWKS URL that is not http(s)', { AUTH_JWKS_URL: 'file:///etc/passwd' }, 'AUTH_JWKS_URL'],
    [
      'a plain-http JWKS URL in production',
      { NODE_ENV: 'production', AUTH_JWKS_URL: 'http://auth.example.com/api/auth/jwks' },
      'AUTH_JWKS_URL: must be https in production',
    ],
    [
      'the shared-secret path off with no JWKS URL',
      { BETTER_AUTH_SECRET: SECRET, AUTH_ACCEPT_HS256: 'false' },
      'AUTH_ACCEPT_HS256: false leaves no way to verify tokens',
    ],
    ['a shutdown grace of 0', { BETTER_AUTH_SECRET: SECRET, SHUTDOWN_GRACE_MS: '0' }, 'SHUTDOWN_GRACE_MS: must be at least 100'],
    ['a CORS origin with a path', { BETTER_AUTH_SECRET: SECRET, CORS_ORIGINS: 'https://app.example.com/' }, 'CORS_ORIGINS'],
    ['a wildcard CORS origin', { BETTER_AUTH_SECRET: SECRET, CORS_ORIGINS: '*' }, 'CORS_ORIGINS'],
    ['a port that is not a number', { BETTER_AUTH_SECRET: SECRET, PORT: 'http' }, 'PORT'],
    ['a database URL that is not PostgreSQL', { BETTER_AUTH_SECRET: SECRET, DATABASE_URL: 'mysql://localhost/db' }, 'DATABASE_URL'],
    [
      'a replica URL that is not PostgreSQL',
      { BETTER_AUTH_SECRET: SECRET, DATABASE_REPLICA_URLS: 'postgresql://r1/db, mysql://r2/db' },
      'DATABASE_REPLICA_URLS.1: must be a postgresql:// connection string',
    ],
    ['a negative replica lag', { BETTER_AUTH_SECRET: SECRET, REPLICA_MAX_LAG_MS: '-1' }, 'REPLICA_MAX_LAG_MS'],
  ] as const)('refuses %s, naming the variable', ([, source, message]) => {
    expect(() => loadEnv(source)).toThrow(EnvError);
    expect(() => loadEnv(source)).toThrow(message);
  });

  test('a secret is measured in bytes: 11 euro signs are 33 bytes', () => {
    expect(loadEnv({ BETTER_AUTH_SECRET: '€'.repeat(11) }).authSecret).toBe('€'.repeat(11));
  });

  test('a plain-http JWKS URL is fine in development, and for localhost in production', () => {
    expect(loadEnv({ AUTH_JWKS_URL: 'http://auth.internal:3000/api/auth/jwks' }).auth.jwks?.url.href).toBe(
      'http://auth.internal:3000/api/auth/jwks',
    );
    for (const host of ['localhost', '127.0.0.1', '[::1]']) {
      expect(loadEnv({ NODE_ENV: 'production', AUTH_JWKS_URL: `http://${host}:3000/api/auth/jwks` }).auth.jwks?.url.hostname).toBe(host);
    }
  });

  test('production accepts the public-key path alone', () => {
    const env = loadEnv({ NODE_ENV: 'production', AUTH_JWKS_URL: 'https://auth.example.com/api/auth/jwks' });

    expect(env.auth.hs256).toBeUndefined();
    expect(env.authSecret).toBeUndefined();
  });

  test('introspection is on in development, off in production, and either can be overridden', () => {
    expect(loadEnv({ BETTER_AUTH_SECRET: SECRET }).graphql.introspection).toBe(true);
    expect(loadEnv({ BETTER_AUTH_SECRET: SECRET, NODE_ENV: 'production' }).graphql.introspection).toBe(false);
    expect(loadEnv({ BETTER_AUTH_SECRET: SECRET, NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'true' }).graphql.introspection).toBe(true);
    expect(loadEnv({ BETTER_AUTH_SECRET: SECRET, GRAPHQL_INTROSPECTION: 'false' }).graphql.introspection).toBe(false);
  });

  test('DATABASE_REPLICA_URLS is a comma-separated list, none by default; REPLICA_MAX_LAG_MS 1000 by default', () => {
    expect(loadEnv({ BETTER_AUTH_SECRET: SECRET }).database).toMatchObject({ replicaUrls: [], replicaMaxLagMs: 1_000 });
    const env = loadEnv({
      BETTER_AUTH_SECRET: SECRET,
      DATABASE_REPLICA_URLS: 'postgresql://app@replica-1/tasks, postgresql://app@replica-2/tasks',
      REPLICA_MAX_LAG_MS: '250',
    });
    expect(env.database).toMatchObject({
      replicaUrls: ['postgresql://app@replica-1/tasks', 'postgresql://app@replica-2/tasks'],
      replicaMaxLagMs: 250,
    });
  });

  test('CORS_ORIGINS is a comma-separated allowlist', () => {
    const env = loadEnv({ BETTER_AUTH_SECRET: SECRET, CORS_ORIGINS: 'https://app.example.com, http://localhost:3000' });

    expect(env.http.corsOrigins).toEqual(['https://app.example.com', 'http://localhost:3000']);
  });
});
