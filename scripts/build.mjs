/**
 * `npm run build` (and `npm start` before it serves): src/ → dist/ with esbuild, each file on its own as
 * tsc would emit it but in well under a second (types are `npm run typecheck`'s job, which CI runs), and
 * the web page into web/dist with Vite, only when a file it is built from is newer than the last build.
 * `node scripts/build.mjs server` or `web` builds one; `--force` rebuilds the page whatever the dates.
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
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

async function buildServer() {
  const { build } = await import('esbuild');
  // Emptied first, so a file deleted from src/ does not live on in dist/.
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  await build({
    entryPoints: filesIn('src').filter((path) => path.endsWith('.ts')).map((path) => join(root, path)),
    outdir: join(root, 'dist'),
    outbase: join(root, 'src'),
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
  });
}

async function buildWeb() {
  const page = 'web/dist/index.html';
  const inputs = ['web/index.html', 'web/vite.config.ts', 'package-lock.json', ...filesIn('web/src'), ...filesIn('web/public')];
  let builtAt = 0;
  try {
    builtAt = statSync(join(root, page)).mtimeMs;
  } catch {
    // Never built.
  }
  if (!force && builtAt > newest(inputs)) return;
  const { build } = await import('vite');
  await build({ configFile: join(root, 'web/vite.config.ts'), logLevel: 'warn' });
}

if (wanted('server')) await buildServer();
if (wanted('web')) await buildWeb();
