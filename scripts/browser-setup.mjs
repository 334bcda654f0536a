#!/usr/bin/env node
// Setup of the browser tests (test/browser/): Debian's Chromium, installed with apt-get when it is
// missing, and the demo app (examples/social: its own dependencies and build). `npm test` runs
// this once before the tests when browser tests are among them; the tests' harness calls it too,
// so a browser test file also runs on its own. Browser downloads are not used: Playwright drives
// the system's Chromium (playwright-core, no bundled browser).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { ensureDemoApp, newest, withLock } = await import(pathToFileURL(join(root, 'examples', 'social', 'setup.mjs')).href);

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The Chromium to drive: RIVULET_CHROMIUM, else the first system one found; null when none. */
export function findChromium() {
  const paths = process.env.RIVULET_CHROMIUM ? [process.env.RIVULET_CHROMIUM] : CANDIDATES;
  for (const p of paths) {
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Chromium's path, installing Debian's `chromium` package when it is missing and this process may
 * (root, apt-get present). Returns `{ path }`, or `{ skip }` with the reason it cannot be had.
 */
export async function ensureChromium(log = (line) => process.stderr.write(line + '\n')) {
  const found = findChromium();
  if (found) return { path: found };
  if (process.env.RIVULET_CHROMIUM) return { skip: `RIVULET_CHROMIUM=${process.env.RIVULET_CHROMIUM} is not an executable` };
  if (process.platform !== 'linux' || !has('apt-get')) {
    return { skip: 'Chromium is not installed and apt-get is not available: install Chromium and set RIVULET_CHROMIUM to its path' };
  }
  if (process.getuid?.() !== 0) {
    return { skip: 'Chromium is not installed and installing it needs root: run `sudo apt-get install -y chromium`' };
  }
  return withLock('chromium', async () => {
    const again = findChromium();
    if (again) return { path: again };
    log('browser tests: installing Debian\'s chromium (apt-get update && apt-get install -y --no-install-recommends chromium)…');
    const out = join(mkdtempSync(join(tmpdir(), 'rivulet-apt-')), 'apt.log');
    const script =
      'export DEBIAN_FRONTEND=noninteractive; ' +
      'apt-get -o DPkg::Lock::Timeout=300 update -q && ' +
      'apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends chromium';
    const t0 = Date.now();
    const r = spawnSync('sh', ['-c', `(${script}) > ${out} 2>&1`], { stdio: 'ignore' });
    const path = findChromium();
    if (r.status === 0 && path) {
      log(`browser tests: chromium installed in ${Math.round((Date.now() - t0) / 1000)} s`);
      return { path };
    }
    const tail = readFileSync(out, 'utf8').trim().split('\n').slice(-5).join(' | ');
    return { skip: `installing chromium with apt-get failed (exit ${r.status}): ${tail}` };
  });
}

/** Compiles the dashboard's scripts (as `npm ci` does) when a source is newer than the build. */
export async function ensureDashboard(log = (line) => process.stderr.write(line + '\n')) {
  const out = join(root, 'dist', 'dashboard', 'main.js');
  const built = existsSync(out) ? statSync(out).mtimeMs : 0;
  if (built >= newest(join(root, 'dashboard', 'src'))) return;
  await withLock('dashboard', async () => {
    log('browser tests: compiling the dashboard (tsc -p dashboard/tsconfig.json)…');
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'dashboard', 'tsconfig.json')], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('compiling the dashboard failed');
  });
}

/** Chromium, the demo app and the dashboard, ready for the browser tests. */
export async function browserSetup(log) {
  const chromium = await ensureChromium(log);
  const appDir = await ensureDemoApp(log);
  await ensureDashboard(log);
  return { chromium, appDir };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { chromium, appDir } = await browserSetup();
  if (chromium.skip) process.stderr.write(`browser tests will be SKIPPED: ${chromium.skip}\n`);
  else process.stderr.write(`browser tests: chromium at ${chromium.path}, demo app in ${appDir}\n`);
}
