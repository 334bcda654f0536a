/**
 * Benchmarks, run on demand: `npm run bench [-- <scenario> ...]` (scenarios: fanout, read, realtime, workers, audit, signals, sweep, cluster, transfer, and
 * the suite of bench/suite.ts; default or `all`: every one). Each run writes
 * `bench/results/<scenario>-<timestamp>.json` and prints a summary. Figures are only comparable
 * within one run on one machine; nothing here is asserted.
 */
import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { connect } from 'getstream';
import { parseConfig } from '../src/config/config.js';
import { createRivulet, type Rivulet } from '../src/main.js';
import { mixed } from './mixed.js';
import { readCpu } from './read-cpu.js';
import { scenarioArgs, suite } from './suite.js';
import { realtime } from './realtime.js';
import { workers } from './workers.js';
import { signals } from './signals.js';
import { metrics } from './metrics.js';
import { audit } from './audit.js';
import { personalization } from './personalization.js';
import { personalizedRead } from './personalized-read.js';
import { personalizationT7 } from './personalization-t7.js';
import { sweep } from './sweep.js';
import { cluster } from './cluster.js';
import { transfer } from './transfer.js';
import { writeResult } from './report.js';


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
            {
              name: 'user',
              type: 'flat',
              ranking: { popular: { score: 'decay_linear(time) * popularity ^ 0.5', defaults: { popularity: 1 } } },
            },
            { name: 'timeline', type: 'flat' },
            { name: 'notification', type: 'notification', aggregation_format: '{{ verb }}_{{ object }}' },
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
      while ((await env.rivulet.store.ports.intents.pendingCount()) > 0) await new Promise((res) => setImmediate(res));
      runs.push({ ackMs, doneMs: performance.now() - start });
    }
    const best = [...runs].sort((a, b) => a.doneMs - b.doneMs)[Math.floor(runs.length / 2)];
    writeResult('fanout', {
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

async function hammer(env: Env, path: string, token: string) {
  const url = `${env.base}/api/v1.0/${path}${path.includes('?') ? '&' : '?'}api_key=${env.apiKey}`;
  const res = await autocannon({ url, connections: 10, duration: 5, headers: { authorization: token, 'stream-auth-type': 'jwt' } });
  return {
    requests_per_s: Math.round(res.requests.average),
    latency_ms: { p50: res.latency.p50, p90: res.latency.p90, p99: res.latency.p99, max: res.latency.max },
    bytes_per_response: Math.round(res.throughput.average / Math.max(1, res.requests.average)),
    errors: res.errors + res.non2xx,
  };
}

/**
 * 25-item pages over HTTP (autocannon, 10 connections, 5 s each), measured in one run so they
 * compare: a flat feed of 1,000 activities; the same feed ranked by
 * `decay_linear(time) * popularity ^ 0.5` over its 1,000-entry window; a notification feed of
 * 1,000 activities in 250 groups of 4.
 */
async function read(): Promise<void> {
  const env = await start();
  try {
    const feed = env.client.feed('user', 'reader');
    const notif = env.client.feed('notification', 'reader');
    for (let i = 0; i < 1000; i += 100) {
      const acts = [];
      for (let j = i; j < i + 100; j++) {
        acts.push({ actor: `SU:a${j % 7}`, verb: 'post', object: `o:${j % 250}`, text: `post number ${j}`, tags: ['a', 'b'], popularity: (j * 7919) % 100 });
      }
      await feed.addActivities(acts);
      await notif.addActivities(acts);
    }
    const flat = await hammer(env, 'feed/user/reader/?limit=25', feed.token);
    const ranked = await hammer(env, 'feed/user/reader/?limit=25&ranking=popular', feed.token);
    const grouped = await hammer(env, 'feed/notification/reader/?limit=25', notif.token);

    // Enriched: 25 activities, each by a user object, about a collection object, with 10
    // reactions of 3 kinds; read with every enrichment flag, next to the plain read of them.
    const rich = env.client.feed('user', 'rich');
    for (let u = 0; u < 10; u++) await env.client.user(`u${u}`).getOrCreate({ name: `User ${u}` });
    for (let i = 0; i < 25; i++) await env.client.collections.upsert('food', [{ id: `f${i}`, name: `Dish ${i}`, price: i }]);
    const kinds = ['like', 'comment', 'clap'];
    for (let i = 0; i < 25; i++) {
      const a = await rich.addActivity({ actor: `SU:u${i % 10}`, verb: 'eat', object: `SO:food:f${i}` });
      for (let r = 0; r < 10; r++) {
        await env.client.reactions.add(kinds[r % 3], a.id, { text: `reaction ${r}` }, { userId: `u${r}` });
      }
    }
    const plainRich = await hammer(env, 'feed/user/rich/?limit=25', rich.token);
    const flags = 'withRecentReactions=true&withOwnReactions=true&withReactionCounts=true&user_id=u1';
    const enriched = await hammer(env, `enrich/feed/user/rich/?limit=25&${flags}`, rich.token);
    writeResult('read', {
      what: '25-item pages over HTTP, 10 connections, 5 s each; 1,000 activities per feed',
      flat,
      ranked_1000_window: { ...ranked, vs_flat: round(ranked.requests_per_s / flat.requests_per_s) },
      notification_250_groups: { ...grouped, vs_flat: round(grouped.requests_per_s / flat.requests_per_s) },
      plain_25_with_references: plainRich,
      enriched_25_users_objects_10_reactions: { ...enriched, vs_plain: round(enriched.requests_per_s / plainRich.requests_per_s) },
    });
  } finally {
    await stop(env);
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

const scenarios: Record<string, () => Promise<void>> = { fanout, read, realtime, workers, metrics, audit, signals, sweep, personalization, 'personalization-t7': personalizationT7, 'personalized-read': personalizedRead, cluster, transfer, ...suite, mixed, 'read-cpu': readCpu };
const wanted = scenarioArgs(process.argv.slice(2));
for (const name of wanted.length > 0 ? wanted : Object.keys(scenarios)) {
  const fn = scenarios[name];
  if (!fn) {
    console.error(`unknown scenario "${name}"; choose from ${Object.keys(scenarios).join(', ')}`);
    process.exit(2);
  }
  await fn();
}
