import { createRequire } from 'node:module';

/** The package version, for the OpenAPI document. */
export const { version } = createRequire(import.meta.url)('../package.json') as { version: string };
