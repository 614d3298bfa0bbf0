/** Runs the real server (and `npm run token`) as child processes, as a new user would. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { serverDatabaseEnv, testDatabaseKind } from './database.js';

export const root = resolve(import.meta.dirname, '../..');
export const tsx = join(root, 'node_modules/.bin/tsx');
/**
 * How to run a TypeScript entry point as one process: node with tsx's loader (the tsx CLI would put a
 * wrapper process in front, and a kill -9 would stop only the wrapper).
 */
export const nodeWithTsx = (entry: string, nodeArgs: readonly string[] = []) => ({
  command: process.execPath,
  // A compiled entry point (dist/…js) runs as it would in production, without the loader.
  args: [...nodeArgs, ...(entry.endsWith('.ts') ? ['--import', import.meta.resolve('tsx')] : []), join(root, entry)],
});
/** A scratch working directory, like a fresh checkout's, for the processes of one test file. */
export function makeWorkDir(): string {
  return mkdtempSync(join(tmpdir(), 'task-gateway-'));
}

/** A clean environment for a child process; on the postgres project it points at TEST_DATABASE_URL. */
export function baseEnv(extra: Record<string, string> = {}, { embedded = false } = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'info', ...extra };
  return testDatabaseKind === 'postgres' && !embedded ? { ...env, ...serverDatabaseEnv() } : env;
}

export interface RunningServer {
  url: string;
  child: ChildProcess;
  output: () => string;
  /** The exit code once the process has exited (null if a signal killed it). */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts the server on a port of its choosing (PORT=0, so parallel tests never race for one) and, unless
 * told not to, waits until /readyz says it is ready.
 */
export async function startServer(
  workDir: string,
  env: NodeJS.ProcessEnv,
  {
    waitReady = true,
    entry = 'src/server.ts',
    /** In a process group of its own, to be signalled as a terminal's Ctrl+C would (`process.kill(-pid)`). */
    detached = false,
    /** Node's own options, before the entry point (`npm start` passes some). */
    nodeArgs = [] as readonly string[],
  } = {},
): Promise<RunningServer> {
  const { command, args } = nodeWithTsx(entry, nodeArgs);
  const child = spawn(command, args, { cwd: workDir, env: { ...env, PORT: '0' }, detached });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  const started = Date.now();
  let url: string | undefined;
  while (url === undefined) {
    if (child.exitCode !== null || Date.now() - started > 30_000) throw new Error(`server did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
    url = /"url":"(http:\/\/[^"]+)","database".*"msg":"task gateway listening"/.exec(output)?.[1];
  }
  while (waitReady) {
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) break;
    if (child.exitCode !== null || Date.now() - started > 60_000) throw new Error(`server did not get ready:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    child,
    output: () => output,
    exited,
    stop(signal = 'SIGTERM') {
      child.kill(signal);
      return exited;
    },
  };
}

export function mintToken(workDir: string, userId: string, env: NodeJS.ProcessEnv): string {
  const result = spawnSync(tsx, [join(root, 'scripts/token.ts'), userId], { cwd: workDir, env, encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout.trim();
}

/** Runs the server expecting it to refuse to start; returns its exit code and output (PORT 0 unless `env` names one). */
export function runServerToExit(workDir: string, env: NodeJS.ProcessEnv) {
  const { command, args } = nodeWithTsx('src/server.ts');
  return spawnSync(command, args, { cwd: workDir, env: { PORT: '0', ...env }, encoding: 'utf8', timeout: 30_000 });
}
