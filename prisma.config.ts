import { defineConfig } from 'prisma/config';

// `prisma generate` only needs the WASM it ships; naming any existing file stops it downloading a native engine.
if (process.argv.includes('generate')) process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= 'prisma/schema.prisma';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? '' },
});
