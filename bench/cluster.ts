/**
 * `npm run bench -- cluster`: the Redis Cluster timeline store against raw ioredis on the same
 * cluster, in one run (needs `redis-server` and `redis-cli`; starts and stops its own clusters).
 *
 * For 1, 2 and 3 masters (no replicas, durability `fast`):
 * - fan-out: one activity into N follower feeds, in pages of 1,000 feeds, through
 *   `RedisTimelineStore.apply` (after the activity's own feed: a plain `ZADD` per feed, and on one
 *   add in 16 a `ZCARD` after it; the feeds are fresh, so none needs a trim), against the ceiling of raw pipelined `ZADD`s of the same members into the same keys
 *   of fresh feeds: the fastest of the client's automatic pipelining, one explicit pipeline per
 *   master and pipelines of the store's chunk size per master, each round (`SAME_DATA`). Rounds
 *   alternate the four; each records wall time and the CPU time of this process and of every
 *   Redis master per insert (`--parts fanout`: this part alone);
 * - jobs: the fan-out job queue through `RedisStore`: queued intents committed with their
 *   activities, then claimed and completed by two stores standing for two workers (see {@link jobs});
 * - reads: 25-entry scans of one feed each, 50 at a time, latency percentiles (store level, no HTTP);
 * - HTTP reads: a Rivulet server on the cluster, flat 25-item pages of 100 readers' timelines over
 *   HTTP at 50 connections (autocannon), with the read cache off and on, beside the HTTP ceiling
 *   (a bare Fastify route serving a real page of the same size) in the same run;
 * - memory: `used_memory` growth over every master per timeline entry, for feeds of 500 entries,
 *   with Redis's default sorted-set encoding and with `zset-max-listpack-entries 1024`.
 * - capacity (3 masters, through `RedisStore`): memory per activity and per follow edge, and
 *   commands per activity write, per follow and per flat 25-entry read with bodies (from
 *   `INFO commandstats`: every command, those run inside scripts included, and the scripts).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { parseConfig } from '../src/config/config.js';
import { createRivulet, type Rivulet } from '../src/main.js';
import { activityId } from '../src/core/activities/activity-id.js';
import type { ActivityStore } from '../src/ports/activity-store.js';
import { PIPELINE_CHUNK, RedisConnection } from '../src/adapters/redis/connection.js';
import { RedisStore } from '../src/adapters/redis/redis-store.js';
import { RedisActivityHolds } from '../src/adapters/redis/redis-activity-holds.js';
import { LAZY_TRIM_MIN, RedisTimelineStore, TRIM_EVERY } from '../src/adapters/redis/redis-timeline-store.js';
import { REDIS_SKIP, startRedisCluster } from '../test/support/redis-cluster.js';
import { writeResult } from './report.js';
import { httpCeiling } from './baselines.js';
import { api, jwt, option } from './harness.js';
import { Load } from './load.js';
import { roundCannon } from './suite.js';

const FEEDS = 20_000;
const PAGE = 1_000;
const ROUNDS = Number(option('rounds') ?? 4);
const DURATION_S = Number(option('duration') ?? 10);
const CONNECTIONS = Number(option('connections') ?? 50);
/** `--parts fanout` (or `fanout,jobs`): the fan-out rounds alone (quick back-to-back pairs); default: everything. */
const PARTS = new Set((option('parts') ?? 'fanout,jobs,reads').split(','));

/** What the fan-out ceiling and the store each send, so that the share compares like with like. */
const SAME_DATA =
  'each way puts the same member (the 32-digit order key of one activity id followed by its origin feed, 41 bytes) ' +
  'into the same sorted-set key of each of the same 20,000 feeds (the feed\'s `tl` key), in pages of 1,000 feeds sent in ' +
  'pipelines per master; the raw ways send ZADD (automatic pipelining; one pipeline per master; pipelines of ' +
  `${PIPELINE_CHUNK} per master, as the store); the store first adds the activity to its own feed (user:star, as a ` +
  'write does before its fan-out), then per feed sends a plain ZADD of the same member (an activity with one source, a ' +
  `feed of max length ${LAZY_TRIM_MIN}), followed on the adds whose turn it is to trim (one in ${TRIM_EVERY}) by a ZCARD ` +
  'of the feed (a feed found beyond its maximum would then get a trim function; these fresh feeds never are), plus per page one script ' +
  "that records the activity's source and counts the entries holding it and one HMGET that reads the source again";

const noBodies: ActivityStore = { getActivities: async () => new Map(), idsByForeignId: async () => [] };

async function usedMemory(r: RedisConnection): Promise<number> {
  let total = 0;
  for (const node of r.cluster.nodes('master')) total += Number(/used_memory:(\d+)/.exec(await node.info('memory'))?.[1] ?? 0);
  return total;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** CPU seconds (user + system) used so far by every master. */
async function redisCpu(r: RedisConnection): Promise<number> {
  let total = 0;
  for (const node of r.cluster.nodes('master')) {
    const info = await node.info('cpu');
    total += Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0) + Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0);
  }
  return total;
}

/**
 * Flat 25-item reads over HTTP from a Rivulet server on the cluster: 100 readers whose timelines
 * follow 10 of 50 authors who posted 20 activities each (every timeline holds 200 entries), read
 * at `CONNECTIONS` connections with the read cache off and on (two servers on the same data),
 * beside the HTTP ceiling serving a page of the mean size, in the order off, ceiling, on.
 */
async function httpReads(nodes: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'rivulet-cluster-bench-'));
  const secret = randomBytes(24).toString('base64url');
  const keyPrefix = `http${randomBytes(3).toString('hex')}:`;
  const config = (cacheMb: number) =>
    parseConfig(
      {
        apps: [{ app_id: '1', api_key: 'benchkey', api_secret: secret, feed_groups: [{ name: 'user', type: 'flat' }, { name: 'timeline', type: 'flat' }] }],
        storage: { backend: 'redis', nodes, durability: 'fast', key_prefix: keyPrefix },
        read_cache: { max_mb: cacheMb },
      },
      dir,
    );
  const servers: Rivulet[] = [];
  const load = new Load();
  try {
    const open = async (cacheMb: number) => {
      const rivulet = await createRivulet({ config: config(cacheMb), logger: pino({ level: 'warn' }) });
      servers.push(rivulet);
      return rivulet.listen(0, '127.0.0.1');
    };
    const uncached = await open(0);
    const server = jwt(secret, { resource: '*', action: '*', feed_id: '*' });
    const follows = [];
    for (let u = 0; u < 100; u++) for (let k = 0; k < 10; k++) follows.push(`{"source":"timeline:r${u}","target":"user:a${(u * 7 + k * 5) % 50}"}`);
    await load.batch(uncached, [api('POST', 'follow_many/?activity_copy_limit=0', server, `[${follows.join(',')}]`)]);
    const posts = [];
    for (let i = 0; i < 1000; i++) {
      posts.push(api('POST', `feed/user/a${i % 50}/`, server, JSON.stringify({ actor: `SU:a${i % 50}`, verb: 'post', object: `SO:post:p${i}`, foreign_id: `post:p${i}`, text: 'a short post of about eighty characters, as a feed item in a timeline often is' })));
    }
    await load.batch(uncached, posts, { concurrency: 8 });
    const reads = Array.from({ length: 100 }, (_, u) => api('GET', `feed/timeline/r${u}/?limit=25`, jwt(secret, { user_id: `r${u}` })));
    const probe = await load.batch(uncached, reads, { concurrency: 4, keepBodies: true });
    const sizes = probe.bodies!.map((b) => Buffer.byteLength(b));
    const items = probe.bodies!.map((b) => (JSON.parse(b) as { results: unknown[] }).results.length);
    const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
    const nearest = sizes.reduce((best, sz, i) => (Math.abs(sz - mean) < Math.abs(sizes[best] - mean) ? i : best), 0);
    const cached = await open(64);
    await load.cannon(uncached, reads, CONNECTIONS, 1); // warm-up, not measured
    await load.cannon(cached, reads, CONNECTIONS, 1);
    // The window of the uncached run in the monotonic clock (µs), for a CPU profile of this
    // process (`node --cpu-prof`, then `bench/profile-summary.ts <file> --window from,to`).
    const offFrom = process.hrtime.bigint() / 1000n;
    const off = roundCannon(await load.cannon(uncached, reads, CONNECTIONS, DURATION_S));
    console.log(`  http reads, cache off: window ${offFrom},${process.hrtime.bigint() / 1000n} (µs, monotonic clock)`);
    const ceiling = roundCannon(await httpCeiling(load, probe.bodies![nearest], CONNECTIONS, DURATION_S));
    const on = roundCannon(await load.cannon(cached, reads, CONNECTIONS, DURATION_S));
    console.log(`  http reads: cache off ${off.requests_per_s} req/s p99 ${off.latency_ms.p99} ms; ceiling ${ceiling.requests_per_s}; cache on ${on.requests_per_s} req/s p99 ${on.latency_ms.p99} ms`);
    return {
      what: `flat 25-item pages of 100 readers' timelines (200 entries each), user tokens, ${CONNECTIONS} connections, ${DURATION_S} s per run; the server, the load generator and every Redis master on this machine`,
      mean_body_bytes: Math.round(mean),
      items_per_page: { min: Math.min(...items), max: Math.max(...items) },
      cache_off: { ...off, vs_ceiling: +(off.requests_per_s / ceiling.requests_per_s).toFixed(3) },
      cache_on: { ...on, vs_ceiling: +(on.requests_per_s / ceiling.requests_per_s).toFixed(3) },
      ceiling,
    };
  } finally {
    for (const s of servers) await s.close();
    await load.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Calls of every command on every master, and of the script commands alone. */
async function commandCalls(r: RedisConnection): Promise<{ all: number; scripts: number }> {
  let all = 0;
  let scripts = 0;
  for (const node of r.cluster.nodes('master')) {
    const info = await node.info('commandstats');
    for (const m of info.matchAll(/^cmdstat_(\w+(?:\|\w+)?):calls=(\d+)/gm)) {
      if (m[1] === 'info') continue;
      all += Number(m[2]);
      if (m[1] === 'evalsha' || m[1] === 'eval') scripts += Number(m[2]);
    }
  }
  return { all, scripts };
}

/** Memory per activity and per follow, and commands per write and per read, through the whole store. */
async function capacity(nodes: string[]) {
  const store = await RedisStore.open({ nodes, durability: 'fast', keyPrefix: 'cap:' });
  const r = store.connection;
  try {
    const N = 5000;
    const body = (id: string) => JSON.stringify({ id, actor: 'SU:user123', verb: 'post', object: 'SO:post:abc123', foreign_id: '', time: '2024-05-01T10:00:00.000000', text: 'x'.repeat(120) });
    const act = (i: number) => {
      const id = activityId(1_700_000_000_000_000 + i * 1000, `cap${i}`);
      return { id, timeUs: 1_700_000_000_000_000 + i * 1000, foreignId: '', to: [], body: body(id), home: `user:u${i % 500}` };
    };
    // Warm up (scripts loaded everywhere), not measured.
    await store.ports.intents.commit('w', [{ activity: act(-1) }]);
    await store.ports.intents.commit('w', [{ follow: { source: 'timeline:w', target: 'user:w', createdUs: 1, grouped: false, since: null } }]);
    const acts = Array.from({ length: N }, (_, i) => act(i));
    // The change-mark log keeps the newest 100,000 marks of the deployment (one per write): a
    // bounded cost, counted apart from what each record keeps.
    const logKey = `${r.keys.shared('marks', '')}log`;
    const logBytes = async () => Number((await r.cluster.call('MEMORY', 'USAGE', logKey, 'SAMPLES', '0')) ?? 0);
    let log = await logBytes();
    let mem = await usedMemory(r);
    let calls = await commandCalls(r);
    for (let i = 0; i < N; i += 100) {
      await Promise.all(acts.slice(i, i + 100).map((a) => store.ports.intents.commit('cap', [{ activity: a, intents: [{ kind: 'fanout.add', source: a.home, ids: [a.id], mode: 'inline' }] }]).then(([s]) => store.ports.intents.complete(s.intents.map((x) => x.id)))));
    }
    const activityLog = ((await logBytes()) - log) / N;
    const perActivity = { bytes: Math.round(((await usedMemory(r)) - mem) / N - activityLog), body_bytes: acts[0].body.length, change_log_bytes: Math.round(activityLog) };
    let after = await commandCalls(r);
    const activityCmds = { all: +((after.all - calls.all) / N).toFixed(1), scripts: +((after.scripts - calls.scripts) / N).toFixed(1) };
    mem = await usedMemory(r);
    log = await logBytes();
    calls = after;
    for (let i = 0; i < N; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, k) => store.ports.intents.commit('cap', [{ follow: { source: `timeline:f${i + k}`, target: `user:u${(i + k) % 50}`, createdUs: i + k, grouped: false, since: null } }])),
      );
    }
    const followLog = ((await logBytes()) - log) / N;
    const perFollow = Math.round(((await usedMemory(r)) - mem) / N - followLog);
    after = await commandCalls(r);
    const followCmds = { all: +((after.all - calls.all) / N).toFixed(1), scripts: +((after.scripts - calls.scripts) / N).toFixed(1) };
    // The same number of follows by 100 feeds of 50 each (each feed's keys shared by its follows).
    mem = await usedMemory(r);
    log = await logBytes();
    for (let i = 0; i < N; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, k) => store.ports.intents.commit('cap', [{ follow: { source: `timeline:m${(i + k) % 100}`, target: `user:t${Math.floor((i + k) / 100)}`, createdUs: i + k, grouped: false, since: null } }])),
      );
    }
    const perFollowOf50 = Math.round(((await usedMemory(r)) - mem) / N - ((await logBytes()) - log) / N);
    // Flat reads with bodies: 25 entries of a feed of 100.
    await store.ports.timelines.apply('cap', Array.from({ length: 50 }, (_, f) => ({ kind: 'add' as const, feed: `timeline:r${f}`, entries: acts.slice(f * 100, f * 100 + 100).map((a) => ({ id: a.id, origin: a.home })), maxLength: 1000 })));
    calls = await commandCalls(r);
    const READS = 1000;
    for (let i = 0; i < READS; i += 50) await Promise.all(Array.from({ length: 50 }, (_, k) => store.ports.timelines.scan('cap', { feed: `timeline:r${(i + k) % 50}`, limit: 25, bodies: true })));
    after = await commandCalls(r);
    const readCmds = { all: +((after.all - calls.all) / READS).toFixed(1), scripts: +((after.scripts - calls.scripts) / READS).toFixed(1) };
    return { memory_bytes: { per_activity: perActivity, per_follow: perFollow, per_follow_of_feeds_following_50: perFollowOf50, change_log_bytes_per_follow: Math.round(followLog) }, commands: { per_activity_write: activityCmds, per_follow: followCmds, per_flat_read_25: readCmds } };
  } finally {
    await store.close();
  }
}

/**
 * The fan-out job queue through `RedisStore` (`--parts jobs`): JOBS queued intents committed with
 * their activities (steps of 100 per call, 4 calls in flight), then drained by two worker
 * processes' stores on the same keys, each claiming up to 1,000 jobs (the worker's round) and
 * completing them, until none is left. Jobs per second for each phase; every job handed out once.
 */
async function jobs(nodes: string[]) {
  const JOBS = 20_000;
  const stores = await Promise.all([0, 1].map(() => RedisStore.open({ nodes, durability: 'fast', keyPrefix: 'jobs:' })));
  try {
    const body = (id: string) => JSON.stringify({ id, actor: 'SU:a', verb: 'post', object: 'o:1' });
    const act = (i: number) => {
      const id = activityId(1_700_000_000_000_000 + i * 1000, `job${i}`);
      return { id, timeUs: 1_700_000_000_000_000 + i * 1000, foreignId: '', to: [], body: body(id), home: `user:u${i % 500}` };
    };
    const step = (i: number) => {
      const a = act(i);
      return { activity: a, intents: [{ kind: 'fanout.add' as const, source: a.home, ids: [a.id], mode: 'queued' as const }] };
    };
    // Warm up (scripts loaded everywhere), not measured.
    const [w] = await stores[0].ports.intents.commit('w', [step(-1)]);
    for (const s of stores) await s.ports.intents.claim(1000, 30_000, Date.now());
    await stores[0].ports.intents.complete(w.intents.map((x) => x.id));
    let t = performance.now();
    for (let i = 0; i < JOBS; i += 400) {
      await Promise.all([0, 100, 200, 300].map((k) => stores[0].ports.intents.commit('jobs', Array.from({ length: 100 }, (_, j) => step(i + k + j)))));
    }
    const commitS = (performance.now() - t) / 1000;
    const seen = new Set<string>();
    let twice = 0;
    t = performance.now();
    let rounds = 0;
    await Promise.all(
      stores.map(async (s) => {
        for (;;) {
          const got = await s.ports.intents.claim(1000, 30_000, Date.now());
          if (got.length === 0) break;
          rounds++;
          for (const j of got) {
            if (seen.has(j.id)) twice++;
            seen.add(j.id);
          }
          await s.ports.intents.complete(got.map((j) => j.id));
        }
      }),
    );
    const drainS = (performance.now() - t) / 1000;
    return { jobs: JOBS, commit_per_s: Math.round(JOBS / commitS), claim_complete_per_s: Math.round(JOBS / drainS), claims: rounds, handed_out: seen.size, handed_out_twice: twice };
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
}

async function onCluster(masters: number) {
  const c = await startRedisCluster({ masters, replicas: 0, persistence: 'none' });
  const r = new RedisConnection({ nodes: c.nodes, durability: 'fast', keyPrefix: 'b:' });
  try {
    const store = new RedisTimelineStore(r, noBodies, new RedisActivityHolds(r));
    const id = activityId(1_700_000_000_000_000, 'bench');
    const member = `${id.slice(14, 18)}${id.slice(9, 13)}${id.slice(0, 8)}${id.slice(19, 23)}${id.slice(24, 36)}user:star`;
    // Warm both paths (connections, script load) on keys not measured.
    await store.apply('w', [{ kind: 'add', feed: 'timeline:w', entries: [{ id, origin: 'user:star' }], maxLength: 10 }]);
    await r.cluster.zadd('b:{w}:x', 0, member);

    // Rounds alternate the two raw ways and the store, so all three see the same machine load.
    const keysOf = (app: string, i: number) => Array.from({ length: PAGE }, (_, k) => r.keys.feed(app, `timeline:f${i + k}`, 'tl'));
    const ways = {
      raw_auto: async (round: number) => {
        for (let i = 0; i < FEEDS; i += PAGE) await Promise.all(keysOf(`auto${round}`, i).map((k) => r.cluster.zadd(k, 0, member)));
      },
      raw_per_master: async (round: number) => {
        for (let i = 0; i < FEEDS; i += PAGE) {
          const keys = keysOf(`pipe${round}`, i);
          await r.perNode(keys, (p, k) => p.zadd(keys[k], 0, member), Infinity);
        }
      },
      raw_per_master_chunked: async (round: number) => {
        for (let i = 0; i < FEEDS; i += PAGE) {
          const keys = keysOf(`chunk${round}`, i);
          await r.perNode(keys, (p, k) => p.zadd(keys[k], 0, member), PIPELINE_CHUNK);
        }
      },
      store: async (round: number) => {
        // The post's own feed first, as a write does before its fan-out (it records the activity's
        // one source, which lets the pages leave out the look for the id under another origin).
        await store.apply(`app${round}`, [{ kind: 'add', feed: 'user:star', entries: [{ id, origin: null }], maxLength: 1000 }]);
        for (let i = 0; i < FEEDS; i += PAGE) {
          const ops = [];
          for (let j = i; j < i + PAGE; j++) ops.push({ kind: 'add' as const, feed: `timeline:f${j}`, entries: [{ id, origin: 'user:star' }], maxLength: 1000 });
          await store.apply(`app${round}`, ops);
        }
      },
    };
    const totals = Object.fromEntries(Object.keys(ways).map((w) => [w, { ms: 0, node_cpu_us: 0, redis_cpu_us: 0 }])) as Record<keyof typeof ways, { ms: number; node_cpu_us: number; redis_cpu_us: number }>;
    const rounds: Record<string, number>[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const perS: Record<string, number> = {};
      for (const [name, run] of Object.entries(ways) as [keyof typeof ways, (n: number) => Promise<void>][]) {
        const redis0 = await redisCpu(r);
        const cpu0 = process.cpuUsage();
        const t = performance.now();
        await run(round);
        const ms = performance.now() - t;
        const cpu = process.cpuUsage(cpu0);
        totals[name].ms += ms;
        totals[name].node_cpu_us += cpu.user + cpu.system;
        totals[name].redis_cpu_us += ((await redisCpu(r)) - redis0) * 1e6;
        perS[name] = Math.round(FEEDS / (ms / 1000));
      }
      const ceiling = Math.max(perS.raw_auto, perS.raw_per_master, perS.raw_per_master_chunked);
      rounds.push({ ...perS, share_of_ceiling: +(perS.store / ceiling).toFixed(2) });
    }
    const inserts = ROUNDS * FEEDS;
    const perSOf = (w: keyof typeof ways) => Math.round(inserts / (totals[w].ms / 1000));
    const rawPerS = Math.max(perSOf('raw_auto'), perSOf('raw_per_master'), perSOf('raw_per_master_chunked'));
    const storePerS = perSOf('store');
    const cpuPerInsert = Object.fromEntries(
      Object.entries(totals).map(([w, t]) => [w, { node_us: +(t.node_cpu_us / inserts).toFixed(1), redis_us: +(t.redis_cpu_us / inserts).toFixed(1) }]),
    );
    const shares = rounds.map((x) => x.share_of_ceiling).sort((a, b) => a - b);
    const fanout = {
      feeds_per_round: FEEDS,
      rounds: ROUNDS,
      same_data: SAME_DATA,
      raw_zadd_auto_per_s: perSOf('raw_auto'),
      raw_zadd_per_master_per_s: perSOf('raw_per_master'),
      raw_zadd_per_master_chunked_per_s: perSOf('raw_per_master_chunked'),
      raw_zadd_per_s: rawPerS,
      store_apply_per_s: storePerS,
      share_of_ceiling: Math.round((storePerS / rawPerS) * 100) / 100,
      share_of_ceiling_median_round: shares[Math.floor(shares.length / 2)],
      per_round: rounds,
      cpu_per_insert: cpuPerInsert,
    };
    const queue = PARTS.has('jobs') ? await jobs(c.nodes) : undefined;
    if (!PARTS.has('reads')) return { masters, fanout, ...(queue ? { jobs: queue } : {}) };

    // Reads: 25-entry scans of 200 feeds of 100 entries, 50 in flight.
    const ids = Array.from({ length: 100 }, (_, i) => activityId(1_700_000_000_000_000 + i, `r${i}`));
    for (let f = 0; f < 200; f += 50) {
      await store.apply(
        'reads',
        Array.from({ length: 50 }, (_, k) => ({ kind: 'add' as const, feed: `timeline:r${f + k}`, entries: ids.map((x) => ({ id: x, origin: 'user:o' })), maxLength: 1000 })),
      );
    }
    const lat: number[] = [];
    const t0 = performance.now();
    let next = 0;
    const READS = 5000;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < READS) {
          const k = next++;
          const s = performance.now();
          await store.scan('reads', { feed: `timeline:r${k % 200}`, limit: 25 });
          lat.push(performance.now() - s);
        }
      }),
    );
    const readS = (performance.now() - t0) / 1000;
    lat.sort((a, b) => a - b);

    // Memory per entry: 200 feeds × 500 entries, origin `user:<name>`.
    const memory: Record<string, number> = {};
    for (const [label, listpack] of [['default', null], ['listpack-1024', 1024]] as const) {
      if (listpack !== null) for (const node of r.cluster.nodes('master')) await node.config('SET', 'zset-max-listpack-entries', String(listpack));
      const before = await usedMemory(r);
      const entries = Array.from({ length: 500 }, (_, i) => ({ id: activityId(1_600_000_000_000_000 + i * 7, `m${i}`), origin: `user:author${i % 50}` }));
      for (let f = 0; f < 200; f += 20) {
        await store.apply(`mem-${label}`, Array.from({ length: 20 }, (_, k) => ({ kind: 'add' as const, feed: `timeline:m${f + k}`, entries, maxLength: 1000 })));
      }
      memory[label] = Math.round(((await usedMemory(r)) - before) / (200 * 500));
    }
    return {
      masters,
      ...(masters === 3 ? { capacity: await capacity(c.nodes) } : {}),
      fanout,
      ...(queue ? { jobs: queue } : {}),
      http: await httpReads(c.nodes),
      reads: { scans: READS, per_s: Math.round(READS / readS), p50_ms: +pct(lat, 50).toFixed(2), p99_ms: +pct(lat, 99).toFixed(2) },
      memory_bytes_per_entry: memory,
    };
  } finally {
    await r.close();
    await c.stop();
  }
}

export async function cluster(): Promise<void> {
  if (REDIS_SKIP) {
    console.error(`cluster: skipped: ${REDIS_SKIP}`);
    return;
  }
  const runs = [];
  console.log(`  fan-out ceiling and store: ${SAME_DATA}`);
  const loadBefore = loadavg().map((x) => +x.toFixed(2));
  for (const masters of (option('masters') ?? '1,2,3').split(',').map(Number)) {
    const res = await onCluster(masters);
    const h = 'http' in res ? res.http : undefined;
    console.log(
      JSON.stringify({
        masters: res.masters,
        fanout: { ...res.fanout, same_data: undefined, per_round: undefined },
        ...('jobs' in res ? { jobs: res.jobs } : {}),
        ...('reads' in res ? { reads: res.reads } : {}),
        ...(h ? { http: { off: h.cache_off.requests_per_s, p99_off: h.cache_off.latency_ms.p99, on: h.cache_on.requests_per_s, p99_on: h.cache_on.latency_ms.p99, ceiling: h.ceiling.requests_per_s } } : {}),
      }),
    );
    runs.push(res);
  }
  writeResult('cluster', { load_average_before: loadBefore, load_average_after: loadavg().map((x) => +x.toFixed(2)), runs });
}
