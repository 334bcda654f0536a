#!/usr/bin/env node
// Runs every test file (unit tests beside the code, contract and API tests under test/) with
// node's test runner, TypeScript loaded through tsx.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function find(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filter = process.argv.slice(2);
let files = [...find('src', []), ...find('test', [])].sort();
if (filter.length > 0) files = files.filter((f) => filter.some((x) => f.includes(x)));
// Browser tests need Chromium and the built demo app: set up once here, before test files run in
// parallel (the harness would otherwise do it in the first test file, holding up the others).
if (files.some((f) => f.startsWith(join('test', 'browser')))) {
  const { browserSetup } = await import('./browser-setup.mjs');
  const { chromium } = await browserSetup();
  if (chromium.skip) process.stderr.write(`\nBROWSER TESTS WILL BE SKIPPED: ${chromium.skip}\n\n`);
}
// A hung test fails after 10 minutes instead of stalling CI, and the runner exits once every test
// has finished even if a test file left a handle open.
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=600000', '--test-force-exit', ...files],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
