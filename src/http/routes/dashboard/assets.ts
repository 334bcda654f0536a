import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The dashboard's files, read once when the server starts: the page and stylesheet from
 * `dashboard/`, its scripts as compiled by `npm ci` (tsc, into `dist/dashboard/`), and the few
 * browser modules it imports from `node_modules` (Preact, uPlot). Served by Rivulet itself; the
 * page loads nothing from anywhere else.
 */
export interface DashboardAssets {
  /** Files by their path under `/dashboard/`. */
  readonly files: ReadonlyMap<string, { readonly type: string; readonly body: Buffer }>;
  /** The Content-Security-Policy of the page (the inline import map is allowed by its hash). */
  readonly csp: string;
  /** Why the dashboard cannot be served, when it cannot (scripts not built). */
  readonly missing: string | null;
}

/** Browser modules from packages: served path → [package, file in the package]. */
const VENDOR: Readonly<Record<string, readonly [string, string]>> = {
  'vendor/preact.js': ['preact', 'dist/preact.module.js'],
  'vendor/preact-hooks.js': ['preact', 'hooks/dist/hooks.module.js'],
  'vendor/preact-jsx-runtime.js': ['preact', 'jsx-runtime/dist/jsxRuntime.module.js'],
  'vendor/uplot.js': ['uplot', 'dist/uPlot.esm.js'],
  'vendor/uplot.css': ['uplot', 'dist/uPlot.min.css'],
};

/** What the page's import map maps bare specifiers to. */
export const IMPORT_MAP = {
  imports: {
    preact: '/dashboard/vendor/preact.js',
    'preact/hooks': '/dashboard/vendor/preact-hooks.js',
    'preact/jsx-runtime': '/dashboard/vendor/preact-jsx-runtime.js',
    uplot: '/dashboard/vendor/uplot.js',
  },
};

const TYPES: Readonly<Record<string, string>> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  html: 'text/html; charset=utf-8',
  svg: 'image/svg+xml',
  map: 'application/json',
};

/** The repository (or installed package) root: the nearest folder up from here with Rivulet's package.json. */
export function packageRoot(from = import.meta.dirname): string {
  for (let d = from; ; d = dirname(d)) {
    const pkg = join(d, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'rivulet') return d;
    if (dirname(d) === d) throw new Error(`no rivulet package.json above ${from}`);
  }
}

function typeOf(name: string): string {
  return TYPES[name.slice(name.lastIndexOf('.') + 1)] ?? 'application/octet-stream';
}

export function loadDashboardAssets(root = packageRoot()): DashboardAssets {
  const files = new Map<string, { type: string; body: Buffer }>();
  const require = createRequire(join(root, 'package.json'));
  for (const [path, [pkg, file]] of Object.entries(VENDOR)) {
    files.set(path, { type: typeOf(path), body: readFileSync(join(dirname(require.resolve(`${pkg}/package.json`)), file)) });
  }
  const source = join(root, 'dashboard');
  for (const name of ['style.css', 'favicon.svg']) {
    const p = join(source, name);
    if (existsSync(p)) files.set(name, { type: typeOf(name), body: readFileSync(p) });
  }
  const built = join(root, 'dist', 'dashboard');
  let missing: string | null = null;
  if (existsSync(join(built, 'main.js'))) {
    for (const name of readdirSync(built)) if (/\.(js|js\.map)$/.test(name)) files.set(`app/${name}`, { type: typeOf(name), body: readFileSync(join(built, name)) });
  } else {
    missing = `the dashboard's scripts are not built (${built}/main.js is missing): run \`npm run build\``;
  }
  const importMap = JSON.stringify(IMPORT_MAP);
  const page = join(source, 'index.html');
  if (existsSync(page)) {
    const html = readFileSync(page, 'utf8').replace('<!--IMPORT_MAP-->', `<script type="importmap">${importMap}</script>`);
    files.set('', { type: typeOf('index.html'), body: Buffer.from(html) });
  } else {
    missing = `the dashboard's page is missing (${page})`;
  }
  const mapHash = createHash('sha256').update(importMap).digest('base64');
  const csp = [
    "default-src 'self'",
    `script-src 'self' 'sha256-${mapHash}'`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; ');
  return { files, csp, missing };
}
