/**
 * The README's shell examples, run as a new user pastes them (issue 14): the blocks of the README's "Try it",
 * then those of docs/api.md's "The REST API", "Safe retries and concurrent edits", "Live updates" and
 * "GraphQL", in order, in one bash, against a live server on the embedded database (its port in place of
 * 8000). Each curl line's trailing comment names the status it answers; a line that answers another, a
 * command that fails, or an example that stops matching is a failure. A named section that is missing or
 * holds no example fails too, and so does a curl example in README.md or docs/ outside the named sections:
 * a renamed heading or a moved example cannot drop out of the run unnoticed.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { TEST_SECRET, describe, expect, test } from './support/fixtures.js';
import { baseEnv, makeWorkDir, root, startServer, type RunningServer } from './support/server-process.js';

/** Where the examples live, page by page, in the order they are pasted (paths from the checkout's root). */
const PAGES: { file: string; sections: string[] }[] = [
  { file: 'README.md', sections: ['Try it'] },
  { file: 'docs/api.md', sections: ['The REST API', 'Safe retries and concurrent edits', 'Live updates', 'GraphQL'] },
];

const SHELL_BLOCK = /```sh\n([\s\S]*?)```/g;

/** The ```sh blocks under `## heading` of a page, up to the next heading of that level; at least one. */
function shellBlocks(page: string, text: string, heading: string): string[] {
  const start = text.indexOf(`\n## ${heading}\n`);
  if (start === -1) throw new Error(`${page} has no section "${heading}"`);
  const end = text.indexOf('\n## ', start + 1);
  const section = text.slice(start, end === -1 ? undefined : end);
  const blocks = [...section.matchAll(SHELL_BLOCK)].map((match) => match[1] ?? '');
  if (blocks.length === 0) throw new Error(`${page}'s section "${heading}" holds no \`\`\`sh block`);
  return blocks;
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
    const blocks = PAGES.flatMap(({ file, sections }) => {
      const text = readFileSync(join(root, file), 'utf8');
      return sections.flatMap((heading) => shellBlocks(file, text, heading));
    });
    // Every curl example of the README and docs/ is in a section run here.
    const pages = [
      'README.md',
      ...readdirSync(join(root, 'docs'))
        .filter((name) => name.endsWith('.md'))
        .map((name) => `docs/${name}`),
    ];
    const curlBlocks = pages.flatMap((file) =>
      [...readFileSync(join(root, file), 'utf8').matchAll(SHELL_BLOCK)]
        .map((match) => match[1] ?? '')
        .filter((block) => /\bcurl\s/.test(block))
        .map((block) => ({ file, block })),
    );
    expect(curlBlocks.filter(({ block }) => !blocks.includes(block)).map(({ file, block }) => `${file}: ${block}`)).toEqual([]);
    const script = blocks.join('\n');
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
    expect(statuses.map((status, i) => `${status} ${expected[i]?.line ?? ''}`)).toEqual(
      expected.map((command) => `${command.status} ${command.line}`),
    );

    // What the examples print: a task, the replay's headers, the live event, GraphQL data without errors.
    expect(result.stdout).toMatch(/"title":"Buy milk"/);
    expect(result.stdout).toMatch(/^idempotent-replayed: true/im);
    expect(result.stdout).toMatch(/^event: task\.created$/m);
    expect(result.stdout).toMatch(/"data":\{"createTask":\{"id":/);
    expect(result.stdout).not.toMatch(/"errors"/);
  }, 120_000);
});
