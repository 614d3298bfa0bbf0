/**
 * The source's layers, bottom to top: a module imports only from its own layer or the ones below it, and
 * nothing imports in a circle (type-only imports count). `npm run lint` checks it.
 */
const layers = [
  ['base', ['^src/(logger|metrics|version|paths|tracing|redis)\\.ts$', '^src/generated/']],
  ['errors', ['^src/(errors|database-errors)\\.ts$']],
  ['db', ['^src/db/']],
  ['core', ['^src/auth/', '^src/events/', '^src/(idempotency|readiness|per-user-limit)\\.ts$']],
  ['resolvers', ['^src/resolvers/', '^src/context\\.ts$']],
  ['schema', ['^src/schema/']],
  ['http', ['^src/http/']],
  ['graphql', ['^src/graphql/']],
  ['rest', ['^src/rest/']],
  ['app', ['^src/app\\.ts$']],
  ['env', ['^src/env\\.ts$']],
  ['entry', ['^src/(server|cluster)\\.ts$', '^src/commands/']],
];

const upward = layers.slice(0, -1).map(([name, paths], index) => ({
  name: `no-upward-from-${name}`,
  comment: `${name} is below ${layers
    .slice(index + 1)
    .map(([above]) => above)
    .join(', ')}: it may not import from them`,
  severity: 'error',
  from: { path: paths },
  to: { path: layers.slice(index + 1).flatMap(([, above]) => above) },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules that import each other, directly or not',
      from: {},
      to: { circular: true },
    },
    {
      name: 'every-module-in-a-layer',
      severity: 'error',
      comment: 'A new file in src/ needs a layer in .dependency-cruiser.cjs',
      from: { path: '^src/', pathNot: layers.flatMap(([, paths]) => paths) },
      to: {},
    },
    ...upward,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/generated/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
