/**
 * The README's shell examples, run as a new user pastes them (issue 14): the blocks of "Try it", "The REST
 * API", "Safe retries", "Live updates" and "GraphQL", in order, in one bash, against a live server on the
 * embedded database (its port in place of 8000). Each curl line's trailing comment names the status it
 * answers; a line that answers another, a command that fails, or an example that stops matching is a failure.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { TEST_SECRET, describe, expect, test } from './support/fixtures.js';
import { baseEnv, makeWorkDir, root, startServer, type RunningServer } from './support/server-process.js';

const SECTIONS = ['Try it', 'The REST API', 'Safe retries and concurrent edits', 'Live updates', 'GraphQL'];

/** The ```sh blocks under `## heading`, up to the next heading of that level. */
function shellBlocks(readme: string, heading: string): string[] {
  const start = readme.indexOf(`\n## ${heading}\n`);
  if (start === -1) throw new Error(`README has no section "${heading}"`);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
}

/** Each command as one line (continuations joined), with the status its comment promises, if any. */
function commandsOf(script: string) {
  return script
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((line) => /\bcurl\s/.test(line))
    .map((line) => {
      const comment = /\s#\s(.*)$/.exec(line)?.[1] ?? '';
      const background = /&\s*(#.*)?$/.test(line);
      return { line, background, status: /\b([1-5]\d\d)\b/.exec(comment)?.[1] };
    });
}

const workDir = makeWorkDir();
let server: RunningServer;
beforeAll(async () => {
  server = await startServer(workDir, baseEnv({ BETTER_AUTH_SECRET: TEST_SECRET }, { embedded: true }));
});
afterAll(async () => {
  await server.stop();
  rmSync(workDir, { recursive: true, force: true });
});

describe('the README', () => {
  test('its examples, pasted in order into a fresh shell, answer what their comments say', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const script = SECTIONS.flatMap((heading) => shellBlocks(readme, heading)).join('\n');
    const commands = commandsOf(script);
    const expected = commands.filter((command) => !command.background);
    // Every curl line says what it answers (a background stream is read, not waited for).
    expect(expected.filter((command) => command.status === undefined).map((command) => command.line)).toEqual([]);
    expect(expected.length).toBeGreaterThanOrEqual(12);

    // Every curl reports its status on stderr, after whatever the example asks it to print: a curl
    // first on PATH that is the real one (exec'd, so `kill %1` stops the stream itself).
    const realCurl = spawnSync('sh', ['-c', 'command -v curl'], { encoding: 'utf8' }).stdout.trim();
    const bin = join(workDir, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'curl'), `#!/bin/sh\nexec ${realCurl} "$@" --write-out '%{stderr}HTTP %{http_code}\\n'\n`);
    chmodSync(join(bin, 'curl'), 0o755);
    const port = new URL(server.url).port;
    const result = spawnSync('bash', ['-c', `set -euo pipefail\n${script.replaceAll('localhost:8000', `localhost:${port}`)}`], {
      // A fresh shell in the checkout: npm run token signs with the same secret the server verifies with.
      cwd: root,
      env: { PATH: `${bin}:${process.env.PATH ?? ''}`, HOME: process.env.HOME, BETTER_AUTH_SECRET: TEST_SECRET },
      encoding: 'utf8',
      timeout: 90_000,
    });
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    const statuses = [...result.stderr.matchAll(/^HTTP (\d{3})$/gm)].map((match) => match[1]);
    expect(statuses.map((status, i) => `${status} ${expected[i]?.line ?? ''}`)).toEqual(expected.map((command) => `${command.status} ${command.line}`));

    // What the examples print: a task, the replay's headers, the live event, GraphQL data without errors.
    expect(result.stdout).toMatch(/"title":"Buy milk"/);
    expect(result.stdout).toMatch(/^idempotent-replayed: true/im);
    expect(result.stdout).toMatch(/^event: task\.created$/m);
    expect(result.stdout).toMatch(/"data":\{"createTask":\{"id":/);
    expect(result.stdout).not.toMatch(/"errors"/);
  }, 120_000);
});
