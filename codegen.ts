import type { CodegenConfig } from '@graphql-codegen/cli';

/** Typed documents and urql React hooks for the web page, from schema.graphql and web/src/graphql/*.graphql. */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: 'web/src/graphql/**/*.graphql',
  generates: {
    'web/src/generated/graphql.ts': {
      plugins: ['typescript', 'typescript-operations', 'typescript-urql'],
      config: {
        withHooks: true,
        useTypeImports: true,
        enumsAsTypes: true,
        avoidOptionals: true,
        scalars: { DateTime: 'string', ID: 'string' },
      },
    },
  },
  hooks: { afterOneFileWrite: [] },
};

export default config;
