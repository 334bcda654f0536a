// Builds the demo's browser app into dist/: web/app.jsx and everything it imports (React,
// react-activity-feed and its stylesheet, the getstream client) bundled by esbuild.
// `node build.mjs` from this folder, or `build()` from the demo and the browser tests.
import { build as esbuild } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Builds the app into `outDir` (default dist/ beside this file) and returns that folder. */
export async function build(outDir = join(here, 'dist')) {
  mkdirSync(outDir, { recursive: true });
  await esbuild({
    entryPoints: { app: join(here, 'web', 'app.jsx') },
    outdir: outDir,
    bundle: true,
    minify: true,
    sourcemap: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome100', 'firefox100', 'safari15'],
    jsx: 'automatic',
    loader: { '.svg': 'dataurl', '.png': 'dataurl', '.woff': 'dataurl', '.woff2': 'dataurl', '.ttf': 'dataurl', '.eot': 'dataurl' },
    define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis' },
    logLevel: 'warning',
  });
  copyFileSync(join(here, 'web', 'index.html'), join(outDir, 'index.html'));
  return outDir;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const out = await build();
  process.stdout.write(`built the demo app into ${out}\n`);
}
