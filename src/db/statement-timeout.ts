/**
 * The server-side statement timeout behind a pooler. A transaction-mode pooler (PgBouncer, Neon's pooled
 * endpoint) refuses a `statement_timeout` start-up parameter and cannot keep a SET, so when migrations
 * connect elsewhere (DATABASE_MIGRATION_URL: the direct endpoint) the timeout is the role's own setting in
 * its database, `ALTER ROLE … IN DATABASE … SET statement_timeout`, applied over the direct URL with the
 * migrations, and read back through the pooled URL at start-up: every session the pooler opens then starts
 * with it, and no request pays a statement for it. Without a separate migration URL the pool sends it as
 * a start-up parameter (./client.ts), as a direct connection allows.
 */
import pg from 'pg';
import { timeoutOnRole, type DatabaseConfig, type PrismaClient } from './client.js';

/** The timeout to keep on the role, and the direct URL to set it over; undefined where the pool sends it itself. */
export function roleTimeout(config: DatabaseConfig): { url: string; ms: number } | undefined {
  const { migrationUrl, statementTimeoutMs } = config;
  return migrationUrl !== undefined && statementTimeoutMs > 0 && timeoutOnRole(config)
    ? { url: migrationUrl, ms: statementTimeoutMs }
    : undefined;
}

const CURRENT_TIMEOUT = `SELECT setting::int AS ms FROM pg_settings WHERE name = 'statement_timeout'`;

/**
 * Makes `ms` the statement timeout of every new session of the connecting role in its database, over `url`
 * (a direct connection). Returns whether it had to change it.
 */
export async function setRoleStatementTimeout({ url, ms }: { url: string; ms: number }, connectTimeoutMs: number): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs });
  await client.connect();
  try {
    // A new session starts with the role's setting: already right, nothing to write.
    if ((await client.query<{ ms: number }>(CURRENT_TIMEOUT)).rows[0]?.ms === ms) return false;
    // Role and database names are identifiers, not parameters: quoted by the server (format's %I).
    await client.query(
      `DO $$ BEGIN EXECUTE format('ALTER ROLE %I IN DATABASE %I SET statement_timeout = %L', current_user, current_database(), '${Math.trunc(ms)}ms'); END $$`,
    );
    return true;
  } finally {
    await client.end().catch(() => {});
  }
}

/** The statement timeout, in ms, of a session of the app's pool (through the pooler, if there is one). */
export async function pooledStatementTimeout(prisma: PrismaClient): Promise<number> {
  const [row] = await prisma.$queryRawUnsafe<{ ms: number }[]>(CURRENT_TIMEOUT);
  return row?.ms ?? 0;
}
