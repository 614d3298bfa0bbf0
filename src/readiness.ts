/**
 * Whether this instance should receive traffic (`/readyz`): not shutting down, the database answers, and
 * every migration in prisma/migrations is applied. Checked on demand, remembered for a second so that
 * frequent probes stay cheap, and bounded in time so that a stuck database makes it "not ready", not slow.
 */
import type { PrismaClient } from './db/client.js';
import { migrationNames } from './db/migrate.js';

export interface ReadinessReport {
  ready: boolean;
  /** Why not, for operators (never details of the failure). */
  reason?: string;
}

/** An error and its causes as one string, to look for a code in. */
function describe(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    parts.push(String((e as { message?: unknown }).message), JSON.stringify((e as { meta?: unknown }).meta ?? null));
    e = (e as { cause?: unknown }).cause;
  }
  return parts.join(' ');
}

export class Readiness {
  shuttingDown = false;
  private migrated = false;
  private last: { at: number; report: ReadinessReport } | undefined;
  private pending: Promise<ReadinessReport> | undefined;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: { timeoutMs?: number; cacheMs?: number } = {},
  ) {}

  /** Called when this process applied (or found applied) every migration. */
  markMigrated(): void {
    this.migrated = true;
    this.last = undefined;
  }

  async check(): Promise<ReadinessReport> {
    if (this.shuttingDown) return { ready: false, reason: 'shutting down' };
    if (this.last && Date.now() - this.last.at < (this.options.cacheMs ?? 1_000)) return this.last.report;
    this.pending ??= this.probe().then((report) => {
      this.last = { at: Date.now(), report };
      this.pending = undefined;
      return report;
    });
    return this.pending;
  }

  private async probe(): Promise<ReadinessReport> {
    const timeoutMs = this.options.timeoutMs ?? 2_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<ReadinessReport>((resolve) => {
      timer = setTimeout(() => resolve({ ready: false, reason: 'database did not answer in time' }), timeoutMs);
    });
    const probe = (async (): Promise<ReadinessReport> => {
      try {
        if (this.migrated) {
          await this.prisma.$queryRaw`SELECT 1`;
          return { ready: true };
        }
        const applied = await this.prisma.$queryRaw<{ migration_name: string }[]>`
          SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`;
        const done = new Set(applied.map((row) => row.migration_name));
        const missing = (await migrationNames()).filter((name) => !done.has(name));
        if (missing.length > 0) return { ready: false, reason: 'migrations not applied' };
        this.migrated = true;
        return { ready: true };
      } catch (error) {
        // Before any migration the table itself is missing (SQLSTATE 42P01).
        return { ready: false, reason: /42P01|does not exist/.test(describe(error)) ? 'migrations not applied' : 'database unavailable' };
      }
    })();
    try {
      return await Promise.race([probe, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
