import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread on the module `entry` (a name without extension) that sits next to the
 * caller, whose `import.meta.url` is `callerUrl`. Compiled code runs the `.js` module directly.
 * From TypeScript sources (tests, benchmarks) a thread does not inherit the main thread's
 * TypeScript loader, and loading one in each thread costs about a second: the entry and its
 * imports are bundled with esbuild once per process, into a file named by the bundle's hash under
 * `node_modules/.cache/rivulet-threads/` (inside the project, so that the bundle's package imports
 * resolve from its `node_modules`).
 */
export async function startThread(callerUrl: string, entry: string, options?: WorkerOptions): Promise<Worker> {
  if (callerUrl.endsWith('.js')) return new Worker(new URL(`./${entry}.js`, callerUrl), options);
  const source = new URL(`./${entry}.ts`, callerUrl).href;
  let bundle = bundles.get(source);
  if (bundle === undefined) {
    bundle = bundleEntry(source);
    bundles.set(source, bundle);
  }
  return new Worker(await bundle, options);
}

/** Bundles built in this process, by entry module. */
const bundles = new Map<string, Promise<URL>>();

async function bundleEntry(source: string): Promise<URL> {
  const { build } = await import('esbuild');
  const out = await build({
    entryPoints: [fileURLToPath(source)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    target: 'node20',
    write: false,
  });
  const text = out.outputFiles[0].text;
  const dir = new URL('../../node_modules/.cache/rivulet-threads/', import.meta.url);
  const file = new URL(`${createHash('sha256').update(text).digest('hex').slice(0, 16)}.mjs`, dir);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, text);
  }
  return file;
}
