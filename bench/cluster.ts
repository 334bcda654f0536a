/**
 * `npm run bench -- cluster`: the Redis Cluster timeline store against raw ioredis on the same
 * cluster, in one run (needs `redis-server` and `redis-cli`; starts and stops its own clusters).
 *
 * For 1, 2 and 3 masters (no replicas, durability `fast`):
 * - fan-out: one activity into N follower feeds, in pages of 1,000 feeds, through
 *   `RedisTimelineStore.apply` (one Lua script per feed: idempotent add, trim to max length),
 *   against the ceiling of raw pipelined `ZADD`s of the same members into fresh keys;
 * - reads: 25-entry scans of one feed each, 50 at a time, latency percentiles (store level, no HTTP);
 * - memory: `used_memory` growth over every master per timeline entry, for feeds of 500 entries,
 *   with Redis's default sorted-set encoding and with `zset-max-listpack-entries 1024`.
 * - capacity (3 masters, through `RedisStore`): memory per activity and per follow edge, and
 *   commands per activity write, per follow and per flat 25-entry read with bodies (from
 *   `INFO commandstats`: every command, those run inside scripts included, and the scripts).
 */
import { activityId } from '../src/core/activities/activity-id.js';
import type { ActivityStore } from '../src/ports/activity-store.js';
import { RedisConnection } from '../src/adapters/redis/connection.js';
import { RedisStore } from '../src/adapters/redis/redis-store.js';
import { RedisActivityHolds } from '../src/adapters/redis/redis-activity-holds.js';
import { RedisTimelineStore } from '../src/adapters/redis/redis-timeline-store.js';
import { REDIS_SKIP, startRedisCluster } from '../test/support/redis-cluster.js';
import { writeResult } from './report.js';

const FEEDS = 20_000;
const PAGE = 1_000;

const noBodies: ActivityStore = { getActivities: async () => new Map(), idsByForeignId: async () => [] };

async function usedMemory(r: RedisConnection): Promise<number> {
  let total = 0;
  for (const node of r.cluster.nodes('master')) total += Number(/used_memory:(\d+)/.exec(await node.info('memory'))?.[1] ?? 0);
  return total;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
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
    let mem = await usedMemory(r);
    let calls = await commandCalls(r);
    for (let i = 0; i < N; i += 100) {
      await Promise.all(acts.slice(i, i + 100).map((a) => store.ports.intents.commit('cap', [{ activity: a, intents: [{ kind: 'fanout.add', source: a.home, ids: [a.id], mode: 'inline' }] }]).then(([s]) => store.ports.intents.complete(s.intents.map((x) => x.id)))));
    }
    const perActivity = { bytes: Math.round(((await usedMemory(r)) - mem) / N), body_bytes: acts[0].body.length };
    let after = await commandCalls(r);
    const activityCmds = { all: +((after.all - calls.all) / N).toFixed(1), scripts: +((after.scripts - calls.scripts) / N).toFixed(1) };
    mem = await usedMemory(r);
    calls = after;
    for (let i = 0; i < N; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, k) => store.ports.intents.commit('cap', [{ follow: { source: `timeline:f${i + k}`, target: `user:u${(i + k) % 50}`, createdUs: i + k, grouped: false, since: null } }])),
      );
    }
    const perFollow = Math.round(((await usedMemory(r)) - mem) / N);
    after = await commandCalls(r);
    const followCmds = { all: +((after.all - calls.all) / N).toFixed(1), scripts: +((after.scripts - calls.scripts) / N).toFixed(1) };
    // Flat reads with bodies: 25 entries of a feed of 100.
    await store.ports.timelines.apply('cap', Array.from({ length: 50 }, (_, f) => ({ kind: 'add' as const, feed: `timeline:r${f}`, entries: acts.slice(f * 100, f * 100 + 100).map((a) => ({ id: a.id, origin: a.home })), maxLength: 1000 })));
    calls = await commandCalls(r);
    const READS = 1000;
    for (let i = 0; i < READS; i += 50) await Promise.all(Array.from({ length: 50 }, (_, k) => store.ports.timelines.scan('cap', { feed: `timeline:r${(i + k) % 50}`, limit: 25, bodies: true })));
    after = await commandCalls(r);
    const readCmds = { all: +((after.all - calls.all) / READS).toFixed(1), scripts: +((after.scripts - calls.scripts) / READS).toFixed(1) };
    return { memory_bytes: { per_activity: perActivity, per_follow: perFollow }, commands: { per_activity_write: activityCmds, per_follow: followCmds, per_flat_read_25: readCmds } };
  } finally {
    await store.close();
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

    // Alternate rounds so both see the same machine load.
    let rawMs = 0;
    let storeMs = 0;
    for (let round = 0; round < 2; round++) {
      let t = performance.now();
      for (let i = 0; i < FEEDS; i += PAGE) {
        const page: Promise<unknown>[] = [];
        for (let j = i; j < i + PAGE; j++) page.push(r.cluster.zadd(r.keys.feed(`raw${round}`, `timeline:f${j}`, 'tl'), 0, member));
        await Promise.all(page);
      }
      rawMs += performance.now() - t;
      t = performance.now();
      for (let i = 0; i < FEEDS; i += PAGE) {
        const ops = [];
        for (let j = i; j < i + PAGE; j++) ops.push({ kind: 'add' as const, feed: `timeline:f${j}`, entries: [{ id, origin: 'user:star' }], maxLength: 1000 });
        await store.apply(`app${round}`, ops);
      }
      storeMs += performance.now() - t;
    }
    const rawPerS = Math.round((2 * FEEDS) / (rawMs / 1000));
    const storePerS = Math.round((2 * FEEDS) / (storeMs / 1000));

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
      fanout: { feeds_per_round: FEEDS, raw_zadd_per_s: rawPerS, store_apply_per_s: storePerS, share_of_ceiling: Math.round((storePerS / rawPerS) * 100) / 100 },
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
  for (const masters of [1, 2, 3]) {
    const res = await onCluster(masters);
    console.log(JSON.stringify(res));
    runs.push(res);
  }
  writeResult('cluster', { runs });
}
