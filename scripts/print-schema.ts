/** `npm run codegen` step one: prints the Pothos schema to schema.graphql (committed; a test keeps it current). */
import { writeFile } from 'node:fs/promises';
import { printSchema } from 'graphql';
import { schema } from '../src/schema/index.js';

export const schemaFile = new URL('../schema.graphql', import.meta.url);

await writeFile(schemaFile, `${printSchema(schema)}\n`);
console.log('wrote schema.graphql');
