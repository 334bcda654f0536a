/**
 * Benchmarks, run on demand: `npm run bench [-- <scenario> ...]` (scenarios: fanout, read; default
 * all). Each run writes `bench/results/<scenario>-<timestamp>.json` and prints a summary. Figures
 * are only comparable within one run on one machine; nothing here is asserted.
 */
import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { connect } from 'getstream';
import { parseConfig } from '../src/config/config.js';
import { createRivulet, type Rivulet } from '../src/main.js';

const RESULTS = join(import.meta.dirname, 'results');

interface Env {
  rivulet: Rivulet;
  base: string;
  client: ReturnType<typeof connect>;
  apiKey: string;
  dir: string;
}

async function start(): Promise<Env> {
  const dir = mkdtempSync(join(tmpdir(), 'rivulet-bench-'));
  const apiKey = 'benchkey';
  const apiSecret = randomBytes(24).toString('base64url');
  const config = parseConfig(
    {
      apps: [
        {
          app_id: '1',
          api_key: apiKey,
          api_secret: apiSecret,
          feed_groups: [
            { name: 'user', type: 'flat' },
            { name: 'timeline', type: 'flat' },
          ],
        },
      ],
    },
    dir,
  );
  const rivulet = await createRivulet({ config, logger: pino({ level: 'warn' }) });
  const address = await rivulet.listen(0, '127.0.0.1');
  const client = connect(apiKey, apiSecret, '1', { urlOverride: { api: `${address}/api/` } });
  return { rivulet, base: address, client, apiKey, dir };
}

async function stop(env: Env): Promise<void> {
  await env.rivulet.close();
  rmSync(env.dir, { recursive: true, force: true });
}

function write(scenario: string, result: Record<string, unknown>): void {
  mkdirSync(RESULTS, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = join(RESULTS, `${scenario}-${stamp}.json`);
  const doc = { scenario, at: new Date().toISOString(), node: process.version, cpus: cpus().length, ...result };
  writeFileSync(file, JSON.stringify(doc, null, 2) + '\n');
  console.log(`${scenario}: ${JSON.stringify(result)}\n  → ${file}`);
}

/** One activity to 10,000 followers: time to acknowledge, and until every follower has it. */
async function fanout(): Promise<void> {
  const env = await start();
  try {
    const followers = 10_000;
    const t0 = performance.now();
    for (let i = 0; i < followers; i += 2500) {
      const batch = [];
      for (let j = i; j < i + 2500; j++) batch.push({ source: `timeline:f${j}`, target: 'user:star' });
      await env.client.followMany!(batch, 0);
    }
    const followMs = performance.now() - t0;
    const runs: { ackMs: number; doneMs: number }[] = [];
    for (let r = 0; r < 5; r++) {
      const start = performance.now();
      await env.client.feed('user', 'star').addActivity({ actor: 'SU:star', verb: 'post', object: `o:${r}` });
      const ackMs = performance.now() - start;
      while ((await env.rivulet.store.pendingCount()) > 0) await new Promise((res) => setImmediate(res));
      runs.push({ ackMs, doneMs: performance.now() - start });
    }
    const best = [...runs].sort((a, b) => a.doneMs - b.doneMs)[Math.floor(runs.length / 2)];
    write('fanout', {
      followers,
      follow_setup_ms: round(followMs),
      runs: runs.map((x) => ({ ack_ms: round(x.ackMs), all_delivered_ms: round(x.doneMs) })),
      median_ack_ms: round(best.ackMs),
      median_all_delivered_ms: round(best.doneMs),
      follower_inserts_per_s: Math.round(followers / (best.doneMs / 1000)),
    });
  } finally {
    await stop(env);
  }
}

/** A 25-activity page of a 1,000-activity flat feed over HTTP, 10 connections, 5 seconds. */
async function read(): Promise<void> {
  const env = await start();
  try {
    const feed = env.client.feed('user', 'reader');
    for (let i = 0; i < 1000; i += 100) {
      const acts = [];
      for (let j = i; j < i + 100; j++) acts.push({ actor: 'SU:reader', verb: 'post', object: `o:${j}`, text: `post number ${j}`, tags: ['a', 'b'] });
      await feed.addActivities(acts);
    }
    const url = `${env.base}/api/v1.0/feed/user/reader/?api_key=${env.apiKey}&limit=25`;
    const res = await autocannon({
      url,
      connections: 10,
      duration: 5,
      headers: { authorization: feed.token, 'stream-auth-type': 'jwt' },
    });
    write('read', {
      what: 'flat feed read, limit 25, 1,000 entries, HTTP, 10 connections, 5 s',
      requests_per_s: Math.round(res.requests.average),
      latency_ms: { p50: res.latency.p50, p90: res.latency.p90, p99: res.latency.p99, max: res.latency.max },
      bytes_per_response: Math.round(res.throughput.average / Math.max(1, res.requests.average)),
      errors: res.errors + res.non2xx,
    });
  } finally {
    await stop(env);
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

const scenarios: Record<string, () => Promise<void>> = { fanout, read };
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
for (const name of wanted.length > 0 ? wanted : Object.keys(scenarios)) {
  const fn = scenarios[name];
  if (!fn) {
    console.error(`unknown scenario "${name}"; choose from ${Object.keys(scenarios).join(', ')}`);
    process.exit(2);
  }
  await fn();
}
