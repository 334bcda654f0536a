// Installs the demo app's own dependencies (its package-lock.json, into node_modules/ beside this
// file) and builds it (build.mjs), each only when needed. Used by `npm run demo` and by the browser
// tests' setup; safe to call from several processes at once (one does the work, the others wait).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** Newest modification time of the files under `dir`. */
export function newest(dir) {
  let t = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    t = Math.max(t, s.isDirectory() ? newest(p) : s.mtimeMs);
  }
  return t;
}

/** Runs `fn` holding a lock directory beside this file; a lock left by a dead process is taken over. */
export async function withLock(name, fn) {
  const lock = join(here, `.${name}.lock`);
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      let pid = 0;
      try {
        pid = Number(readFileSync(join(lock, 'pid'), 'utf8'));
      } catch {
        /* being written */
      }
      if (pid > 0 && !alive(pid)) rmSync(lock, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** Whether node_modules matches package-lock.json (npm writes node_modules/.package-lock.json last). */
export function installed() {
  const marker = join(here, 'node_modules', '.package-lock.json');
  return existsSync(marker) && mtime(marker) >= mtime(join(here, 'package-lock.json'));
}

/** Whether dist/ is newer than every source of the app. */
export function built() {
  const out = join(here, 'dist', 'app.js');
  return existsSync(out) && mtime(out) >= Math.max(newest(join(here, 'web')), mtime(join(here, 'build.mjs')), mtime(join(here, 'package-lock.json')));
}

/**
 * Makes sure the app's dependencies are installed and the app is built; returns the folder to
 * serve. `log` receives a line before each slow step.
 */
export async function ensureDemoApp(log = (line) => process.stderr.write(line + '\n')) {
  return withLock('setup', async () => {
    if (!installed()) {
      log('demo app: installing its dependencies (npm ci in examples/social)…');
      const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
      const r = spawnSync(npm, ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: here, stdio: ['ignore', 'inherit', 'inherit'] });
      if (r.status !== 0) throw new Error(`npm ci in ${here} failed (${r.error?.message ?? `exit ${r.status}`})`);
    }
    if (!built()) {
      log('demo app: building it (esbuild)…');
      const { build } = await import(pathToFileURL(join(here, 'build.mjs')).href);
      await build();
    }
    return join(here, 'dist');
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const dir = await ensureDemoApp();
  process.stdout.write(`demo app ready in ${dir}\n`);
}
