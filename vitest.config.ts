import { defineConfig } from 'vitest/config';

const postgresUrl = process.env.TEST_DATABASE_URL;

export default defineConfig({
  // Node resolves `graphql` to its CommonJS build for every importer; Vite would pick index.mjs for our
  // source, and two copies of graphql reject each other's types.
  resolve: { alias: { graphql: 'graphql/index.js' } },
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Every suite runs on the embedded database, and again on PostgreSQL when TEST_DATABASE_URL is set;
    // *.pglite.test.ts are about the embedded database only, *.postgres.test.ts about PostgreSQL only.
    projects: [
      {
        extends: true as const,
        test: { name: 'pglite', env: { TEST_DB: 'pglite' }, exclude: ['tests/**/*.postgres.test.ts'] },
      },
      ...(postgresUrl
        ? [
            {
              extends: true as const,
              test: {
                name: 'postgres',
                env: { TEST_DB: 'postgres' },
                exclude: ['tests/**/*.pglite.test.ts'],
                globalSetup: ['tests/support/postgres-setup.ts'],
              },
            },
          ]
        : []),
    ],
  },
});
