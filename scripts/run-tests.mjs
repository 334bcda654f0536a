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
// The API suite on Redis Cluster: a quick subset of test/api/ runs again with the store switch set
// to Redis (each test file starts its own cluster; test/support/store.ts), on a full run only. The
// whole API suite on Redis: `RIVULET_TEST_STORE=redis npm test -- test/api/` (docs/scaling.md).
const REDIS_SUBSET = ['smoke', 'activities', 'follows', 'reactions', 'users', 'collections', 'enrichment', 'read-cache-exact', 'activity-retention', 'security-shutdown'].map((n) => join('test', 'api', `${n}.test.ts`));
let redisStatus = 0;
if (filter.length === 0 && process.env.RIVULET_TEST_STORE === undefined) {
  if (spawnSync('sh', ['-c', 'command -v redis-server && command -v redis-cli'], { stdio: 'ignore' }).status !== 0) {
    process.stderr.write('\nAPI TESTS ON REDIS CLUSTER SKIPPED: redis-server is not installed (install it with: apt-get install -y redis-server)\n\n');
  } else {
    process.stderr.write(`\nAPI tests on Redis Cluster (RIVULET_TEST_STORE=redis): ${REDIS_SUBSET.join(' ')}\n`);
    const redis = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=600000', '--test-force-exit', ...REDIS_SUBSET], {
      stdio: 'inherit',
      env: { ...process.env, RIVULET_TEST_STORE: 'redis' },
    });
    redisStatus = redis.status ?? 1;
  }
}
process.exit((r.status ?? 1) || redisStatus);
