import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

const postgresUrl = process.env.TEST_DATABASE_URL;
/**
 * With PostgreSQL and Debian's pgbouncer, the suites that matter behind a pooler run a third time through
 * a real PgBouncer in transaction mode (tests/support/pgbouncer-setup.ts), as behind Neon's pooled endpoint.
 */
const pgbouncer = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].some((path) => existsSync(path));
const ALL_SUITES = ['tests/**/*.test.ts'];
const POOLED_SUITES = [
  'tests/rest-tasks.test.ts',
  'tests/idempotency.test.ts',
  'tests/conditional-requests.test.ts',
  'tests/events.test.ts',
  'tests/events.postgres.test.ts',
  'tests/quotas.test.ts',
  'tests/*.pgbouncer.test.ts',
];
if (postgresUrl && !pgbouncer)
  console.warn('pgbouncer is not installed (apt-get install pgbouncer): the tests behind a transaction-mode pooler are skipped');

export default defineConfig({
  // Node resolves `graphql` to its CommonJS build for every importer; Vite would pick index.mjs for our
  // source, and two copies of graphql reject each other's types.
  resolve: { alias: { graphql: 'graphql/index.js' } },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Every suite runs on the embedded database, and again on PostgreSQL when TEST_DATABASE_URL is set;
    // *.pglite.test.ts are about the embedded database only, *.postgres.test.ts about PostgreSQL only.
    projects: [
      {
        extends: true as const,
        test: {
          name: 'pglite',
          include: ALL_SUITES,
          env: { TEST_DB: 'pglite' },
          exclude: ['tests/**/*.postgres.test.ts', 'tests/**/*.pgbouncer.test.ts'],
        },
      },
      ...(postgresUrl
        ? [
            {
              extends: true as const,
              test: {
                name: 'postgres',
                include: ALL_SUITES,
                env: { TEST_DB: 'postgres' },
                exclude: ['tests/**/*.pglite.test.ts', 'tests/**/*.pgbouncer.test.ts'],
                globalSetup: ['tests/support/postgres-setup.ts'],
              },
            },
          ]
        : []),
      ...(postgresUrl && pgbouncer
        ? [
            {
              extends: true as const,
              test: {
                name: 'pgbouncer',
                env: { TEST_DB: 'postgres', TEST_POOLER: 'pgbouncer' },
                include: POOLED_SUITES,
                globalSetup: ['tests/support/pgbouncer-setup.ts'],
              },
            },
          ]
        : []),
    ],
  },
});
