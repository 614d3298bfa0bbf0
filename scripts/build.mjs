/**
 * `npm run build` (and `npm start` before it serves): src/ → dist/ with esbuild, each file on its own as
 * tsc would emit it but in about a second (types are `npm run typecheck`'s job, which CI runs), and the
 * web page into web/dist with Vite; each only when a file it is built from is newer than its last build.
 * `node scripts/build.mjs server` or `web` builds one; `--force` builds whatever the dates.
 */
import { readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const force = args.includes('--force');
const parts = args.filter((arg) => !arg.startsWith('--'));
const wanted = (part) => parts.length === 0 || parts.includes(part);

/** Every file below `dir` (relative to the project), skipping `skip`. */
function filesIn(dir, skip = []) {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .filter((path) => !skip.some((prefix) => path.startsWith(prefix)));
}

const newest = (paths) => Math.max(...paths.map((path) => statSync(join(root, path)).mtimeMs));

/** The mtime of `path`, or 0 if it does not exist. */
function builtAt(path) {
  try {
    return statSync(join(root, path)).mtimeMs;
  } catch {
    return 0;
  }
}

async function buildServer() {
  const sources = filesIn('src')
    .filter((path) => path.endsWith('.ts'))
    .sort();
  // dist/.sources lists what the last build was made from: a file added or deleted since rebuilds too.
  const stamp = 'dist/.sources';
  const list = sources.join('\n');
  if (!force && builtAt(stamp) > newest(sources) && readFileSync(join(root, stamp), 'utf8') === list) return;
  const { build } = await import('esbuild');
  // Emptied first, so a file deleted from src/ does not live on in dist/.
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  await build({
    entryPoints: sources.map((path) => join(root, path)),
    outdir: join(root, 'dist'),
    outbase: join(root, 'src'),
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
  });
  writeFileSync(join(root, stamp), list);
}

async function buildWeb() {
  const page = 'web/dist/index.html';
  const inputs = ['web/index.html', 'web/vite.config.ts', 'package-lock.json', ...filesIn('web/src'), ...filesIn('web/public')];
  if (!force && builtAt(page) > newest(inputs)) return;
  const { build } = await import('vite');
  await build({ configFile: join(root, 'web/vite.config.ts'), logLevel: 'warn' });
}

if (wanted('server')) await buildServer();
if (wanted('web')) await buildWeb();
