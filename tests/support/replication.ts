/**
 * A PostgreSQL primary and one streaming replica of its own, built from the machine's PostgreSQL binaries
 * (`initdb`, `pg_basebackup`, `pg_ctl`) in a scratch directory, on free loopback ports: the machine's own
 * cluster on 5432 does not allow replication connections. As root, the clusters run as the `postgres` user,
 * as PostgreSQL insists. The replica's apply delay (`recovery_min_apply_delay`) can be changed while it runs,
 * to make it lag on purpose; it can be stopped and started again.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

function binDir(): string | undefined {
  const fromPgConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const dirs = [fromPgConfig.status === 0 ? fromPgConfig.stdout.trim() : '', '/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/16/bin'];
  return dirs.find((dir) => dir !== '' && ['initdb', 'pg_basebackup', 'pg_ctl'].every((tool) => existsSync(join(dir, tool))));
}

/** Where initdb, pg_basebackup and pg_ctl are, or undefined when they are not installed. */
export const POSTGRES_BIN = binDir();

export interface ReplicatedCluster {
  /** URLs of `database` on the primary and on the replica. */
  primaryUrl(database?: string): string;
  replicaUrl(database?: string): string;
  /** Sets the replica's `recovery_min_apply_delay` (0 for none) and waits until it has taken it. */
  setApplyDelay(ms: number): Promise<void>;
  stopReplica(): void;
  startReplica(): void;
  stop(): void;
}

export async function startReplicatedCluster(): Promise<ReplicatedCluster> {
  if (!POSTGRES_BIN) throw new Error("PostgreSQL's server binaries (initdb, pg_basebackup, pg_ctl) are not installed");
  const bin = POSTGRES_BIN;
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'replication-'));
  chmodSync(dir, 0o755);
  if (asRoot) execFileSync('chown', ['postgres', dir]);
  const run = (tool: string, args: string[]) =>
    execFileSync(asRoot ? 'runuser' : join(bin, tool), asRoot ? ['-u', 'postgres', '--', join(bin, tool), ...args] : args, {
      stdio: 'pipe',
      encoding: 'utf8',
    });
  const [primaryPort, replicaPort] = [await freePort(), await freePort()];
  const primaryDir = join(dir, 'primary');
  const replicaDir = join(dir, 'replica');
  const settings = (port: number) =>
    [
      `port = ${port}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${dir}'`,
      // Scratch clusters: durability is not what is tested.
      'fsync = off',
      'synchronous_commit = on',
      'full_page_writes = off',
      'max_connections = 200',
      'shared_buffers = 32MB',
      'hot_standby = on',
      'hot_standby_feedback = on',
      // A standby cancels a query that conflicts with replay only after this long.
      'max_standby_streaming_delay = 30s',
      '',
    ].join('\n');
  run('initdb', ['-D', primaryDir, '-U', 'postgres', '--auth=trust', '--no-sync']);
  appendFileSync(join(primaryDir, 'postgresql.conf'), settings(primaryPort));
  appendFileSync(join(primaryDir, 'pg_hba.conf'), 'host replication all 127.0.0.1/32 trust\n');
  run('pg_ctl', ['-D', primaryDir, '-l', join(dir, 'primary.log'), '-w', 'start']);
  try {
    run('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primaryPort), '-U', 'postgres', '-D', replicaDir, '-R', '-X', 'stream']);
    // The copy carries the primary's settings; the replica's own come after them, so they win.
    appendFileSync(join(replicaDir, 'postgresql.conf'), `${settings(replicaPort)}include_if_exists = 'delay.conf'\n`);
    run('pg_ctl', ['-D', replicaDir, '-l', join(dir, 'replica.log'), '-w', 'start']);
  } catch (error) {
    run('pg_ctl', ['-D', primaryDir, '-m', 'immediate', 'stop']);
    throw error;
  }
  const url = (port: number, database = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${database}`;
  const replicaSql = (sql: string) =>
    execFileSync(join(bin, 'psql'), ['-h', '127.0.0.1', '-p', String(replicaPort), '-U', 'postgres', '-d', 'postgres', '-tAc', sql], {
      encoding: 'utf8',
    }).trim();
  let replicaRunning = true;
  return {
    primaryUrl: (database) => url(primaryPort, database),
    replicaUrl: (database) => url(replicaPort, database),
    async setApplyDelay(ms) {
      // A standby's ALTER SYSTEM is refused (read-only): the setting goes in its file, then a reload.
      writeFileSync(join(replicaDir, 'delay.conf'), `recovery_min_apply_delay = '${ms}ms'\n`);
      if (asRoot) execFileSync('chown', ['postgres', join(replicaDir, 'delay.conf')]);
      run('pg_ctl', ['-D', replicaDir, 'reload']);
      for (let i = 0; replicaSql("SELECT setting FROM pg_settings WHERE name = 'recovery_min_apply_delay'") !== String(ms); i++) {
        if (i > 100) throw new Error('the replica did not take its new apply delay');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    stopReplica() {
      run('pg_ctl', ['-D', replicaDir, '-m', 'immediate', 'stop']);
      replicaRunning = false;
    },
    startReplica() {
      run('pg_ctl', ['-D', replicaDir, '-l', join(dir, 'replica.log'), '-w', 'start']);
      replicaRunning = true;
    },
    stop() {
      // Whatever state they are in: a failed stop (one already down) is not this one's concern.
      const stopNow = (data: string) => {
        try {
          run('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
        } catch {
          // already stopped
        }
      };
      if (replicaRunning) stopNow(replicaDir);
      stopNow(primaryDir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
