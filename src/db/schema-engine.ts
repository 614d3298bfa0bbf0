/**
 * Prisma's schema engine (the one behind `prisma migrate`) as WebAssembly, so migrations run offline and on
 * the embedded database. We instantiate the .wasm ourselves rather than importing the package's entry
 * point, which would need Node's --experimental-wasm-modules flag on Node 20.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import type * as Engine from '@prisma/schema-engine-wasm';

export type SchemaEngine = Engine.SchemaEngine;
export type { MigrationList, SchemaFilter } from '@prisma/schema-engine-wasm';

let bindings: Promise<typeof Engine> | undefined;

function loadBindings(): Promise<typeof Engine> {
  bindings ??= (async () => {
    const require = createRequire(import.meta.url);
    const gluePath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const glue = (await import(gluePath)) as typeof Engine & { __wbg_set_wasm(exports: WebAssembly.Exports): void };
    const bytes = await readFile(gluePath.replace(/\.js$/, '.wasm'));
    const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': glue });
    glue.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return glue;
  })();
  return bindings;
}

export const noFilters: Engine.SchemaFilter = { externalTables: [], externalEnums: [] };

/**
 * Runs `use` with a schema engine connected through a Prisma driver adapter, then frees the engine and
 * closes every connection it opened. Closing matters: the engine takes PostgreSQL's session-level
 * migration lock and never releases it, so the lock lasts as long as the connection.
 */
export async function withSchemaEngine<T>(
  adapterFactory: SqlMigrationAwareDriverAdapterFactory,
  use: (engine: SchemaEngine) => Promise<T>,
  datamodel?: { path: string; content: string },
): Promise<T> {
  const { SchemaEngine } = await loadBindings();
  const opened: SqlDriverAdapter[] = [];
  const tracked: SqlMigrationAwareDriverAdapterFactory = {
    provider: adapterFactory.provider,
    adapterName: adapterFactory.adapterName,
    connect: async () => remember(await adapterFactory.connect()),
    connectToShadowDb: async () => remember(await adapterFactory.connectToShadowDb()),
  };
  function remember(adapter: SqlDriverAdapter) {
    opened.push(adapter);
    return adapter;
  }
  const bound = bindMigrationAwareSqlAdapterFactory(tracked);
  let engine: SchemaEngine | undefined;
  try {
    // Starting the engine connects too: its errors are the driver's as much as those of the work.
    engine = await SchemaEngine.new({ datamodels: datamodel ? [[datamodel.path, datamodel.content]] : undefined }, () => {}, bound);
    return await use(engine);
  } catch (error) {
    // The engine names a driver's error only as "External error id#N"; the driver's own (a lost connection,
    // say) is kept in the registry, and is what tells a database that is away from a migration that fails.
    const id = /External error id#(\d+)/.exec((error as Error | null)?.message ?? '')?.[1];
    const original =
      id === undefined ? undefined : (bound.errorRegistry.consumeError(Number(id)) as { error?: unknown } | undefined)?.error;
    if (original !== undefined)
      throw Object.assign(
        new Error(`${(error as Error).message}: ${original instanceof Error ? original.message : JSON.stringify(original)}`),
        { cause: original },
      );
    throw error;
  } finally {
    engine?.free();
    await Promise.all(opened.map((adapter) => adapter.dispose()));
  }
}
