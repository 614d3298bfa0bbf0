/**
 * The Pothos builder and its plugins. Types and fields live beside their domain in this folder.
 */
import SchemaBuilder from '@pothos/core';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import type { Context, SignedInContext } from '../resolvers/context.js';
import type { PrismaClient } from '../db/client.js';
import { UnauthenticatedError } from '../errors.js';
import { DateTime } from './date-time.js';
import type GeneratedPrismaTypes from '../generated/pothos-types.js';
import { getDatamodel } from '../generated/pothos-types.js';
import type { TaskRow } from '../resolvers/task.js';

/** As generated, but a Task's timestamps may also be ISO text (a list's rows, see TaskRow). */
type PrismaTypes = Omit<GeneratedPrismaTypes, 'Task'> & { Task: Omit<GeneratedPrismaTypes['Task'], 'Shape'> & { Shape: TaskRow } };

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  AuthScopes: { signedIn: boolean };
  AuthContexts: { signedIn: SignedInContext };
  Scalars: { DateTime: { Input: Date; Output: Date | string } };
  DefaultFieldNullability: false;
}>({
  plugins: [ScopeAuthPlugin, RelayPlugin, PrismaPlugin],
  defaultFieldNullability: false,
  relay: {
    // Tasks keep their plain UUIDs; no global `node` lookups.
    nodeQueryOptions: false,
    nodesQueryOptions: false,
  },
  scopeAuth: {
    authScopes: (ctx) => ({ signedIn: ctx.userId !== null }),
    unauthorizedError: () => new UnauthenticatedError(),
  },
  prisma: {
    // A transaction's client (an Idempotency-Key's) has every model method the plugin's loaders call.
    client: (ctx) => ctx.prisma as PrismaClient,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    onUnusedQuery: process.env.NODE_ENV === 'production' ? null : 'error',
  },
});

// Serialised as an ISO string here rather than left a Date for JSON.stringify: six times faster to encode.
builder.addScalarType('DateTime', DateTime);
builder.queryType();
builder.mutationType();
builder.subscriptionType();
