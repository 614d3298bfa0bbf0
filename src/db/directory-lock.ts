/**
 * One process at a time per embedded-database directory: PGlite does not lock its files, and two servers
 * writing the same directory would corrupt it. The lock is a file holding the owner's pid, so a lock left
 * by a killed process is recognised as stale at once (a time-based lock would refuse a quick restart).
 */
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';

export class DirectoryInUseError extends Error {
  override name = 'DirectoryInUseError';
}

/** Takes the lock for `dir`; returns the function that releases it. */
export function lockDirectory(dir: string): () => void {
  const lockFile = `${dir}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockFile, `${process.pid}\n`, { flag: 'wx' });
      const release = () => {
        process.removeListener('exit', release);
        try {
          if (readFileSync(lockFile, 'utf8').trim() === String(process.pid)) unlinkSync(lockFile);
        } catch {
          // Already gone.
        }
      };
      process.once('exit', release);
      return release;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(readFileSync(lockFile, 'utf8'), 10);
      if (owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new DirectoryInUseError(
          `${dir} is in use by process ${owner}: the embedded database serves one process at a time (use DATABASE_URL for several)`,
        );
      }
      unlinkSync(lockFile); // stale: its owner is gone
    }
  }
  throw new DirectoryInUseError(`could not lock ${dir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
