/**
 * The benchmark suite on a real social graph (issue 6): graph-load, fanout-throughput, celebrity,
 * reads, heaviest-reader. Each scenario starts its own Rivulet in this process on a fresh temp
 * directory, drives it over HTTP from a load-generator thread, measures its baselines in the same
 * run, writes `bench/results/<scenario>-<timestamp>.json` and regenerates `bench/results/SUMMARY.md`
 * and `bench/results/chart.svg`. See bench/README.md for what every figure means.
 *
 * Scenarios only use Rivulet's HTTP API, its config (`parseConfig`), `createRivulet` and
 * `rivulet.store.ports.intents.pendingCount()`, plus reads of the database file from a second connection, so they
 * keep measuring the same things when the fan-out strategy changes (hybrid push/pull): "visible"
 * is what a reader's HTTP read returns, "applied" is an empty outbox.
 */
import { idToSortKey, timeOfId } from '../src/core/activities/activity-id.js';
import { findPostgres, httpCeiling, postgresPull, storeCeiling, type EntryRows, type PullData } from './baselines.js';
import { drawWorkload, GRAPHS, loadGraph, percentile, Rng, type Graph, type GraphName, type Workload } from './graph.js';
import {
  activityBody,
  api,
  followRequests,
  intOption,
  loadGraphThroughApi,
  log,
  measureDb,
  openDb,
  option,
  outboxEmpty,
  postRequests,
  profiled,
  round,
  secondServer,
  startServer,
  timelineFeed,
  userFeed,
  VALUE_OPTIONS,
  type DbSize,
  type Server,
} from './harness.js';
import { Load, type CannonResult, type HttpReq } from './load.js';
import { writeResult, writeSummary } from './report.js';

// ---------------------------------------------------------------------------------------------
// Options

export function graphOption(): GraphName {
  const v = (option('graph') ?? 'wiki-vote').toLowerCase().replace(/^soc-/, '');
  const alias: Record<string, GraphName> = { 'wiki-vote': 'wiki-vote', wikivote: 'wiki-vote', wiki: 'wiki-vote', slashdot: 'slashdot', slashdot0902: 'slashdot', facebook: 'facebook' };
  const name = alias[v];
  if (!name) throw new Error(`unknown --graph ${v}; choose from ${Object.keys(GRAPHS).join(', ')}`);
  return name;
}

export const SEED = () => intOption('seed', 42);
/** Activities posted by the graph workload. */
export const ACTIVITIES = () => intOption('activities', 5000);
/** Seconds per HTTP load run, and connections for the reads. */
export const DURATION = () => intOption('duration', 5);
export const CONNECTIONS = () => intOption('connections', 50);
/** Concurrent posts while the workload is written. */
const POST_CONCURRENCY = 8;
/** Posts in flight for the second end-to-end run of fanout-throughput. */
const WIDE_POST_CONCURRENCY = 64;
/** Seconds of load before each measured read run (and each ceiling), not measured. */
export const WARM_UP_S = 1;

export function graphInfo(g: Graph) {
  return { name: g.name, title: g.title, nodes: g.nodes, follows: g.edges };
}

/** Runs `fn` with a server and a load generator, closing both. */
export async function withServer<T>(opts: Parameters<typeof startServer>[0], fn: (s: Server, load: Load) => Promise<T>): Promise<T> {
  const s = await startServer(opts);
  const load = new Load();
  try {
    return await fn(s, load);
  } finally {
    await load.close();
    await s.close();
  }
}

export interface Posted {
  ids: string[];
  bodies: string[];
  t0: number;
  t1: number;
  ackMs: number[];
}

/** Posts the workload's activities (server token, `POST feed/user/<author>/`), POST_CONCURRENCY in flight. */
async function postWorkload(s: Server, load: Load, g: Graph, w: Workload, seed: number, concurrency = POST_CONCURRENCY): Promise<Posted> {
  const r = await load.batch(s.base, postRequests(s, g, w.authors, new Rng(seed + 1)), { concurrency, keepBodies: true, progress: 'posts', unit: 'activities' });
  const bodies = r.bodies!;
  return { ids: bodies.map((b) => (JSON.parse(b) as { id: string }).id), bodies, t0: r.t0, t1: r.t1, ackMs: r.ms };
}

export function stats(values: number[]) {
  const v = [...values].sort((a, b) => a - b);
  return { p50: round(percentile(v, 50), 3), p99: round(percentile(v, 99), 3), max: round(v[v.length - 1], 3) };
}

export function roundCannon(c: CannonResult): CannonResult {
  const l = c.latency_ms;
  return {
    ...c,
    duration_s: round(c.duration_s),
    requests_per_s: Math.round(c.requests_per_s),
    latency_ms: { p50: round(l.p50, 3), p90: round(l.p90, 3), p99: round(l.p99, 3), p999: round(l.p999, 3), max: round(l.max, 3), mean: round(l.mean, 3) },
    bytes_per_response: Math.round(c.bytes_per_response),
    ...(c.by_method
      ? {
          by_method: Object.fromEntries(
            Object.entries(c.by_method).map(([m, b]) => [
              m,
              { responses_2xx: b.responses_2xx, latency_ms: { p50: round(b.latency_ms.p50, 3), p90: round(b.latency_ms.p90, 3), p99: round(b.latency_ms.p99, 3), max: round(b.latency_ms.max, 3) } },
            ]),
          ),
        }
      : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// graph-load

/** Loads the whole graph through `follow_many` (2,500 follows per request, copy limit 0). */
async function graphLoad(): Promise<void> {
  const g = loadGraph(graphOption());
  log(`graph-load: ${g.title}, ${g.nodes} nodes, ${g.edges} follows`);
  await withServer({}, async (s, load) => {
    const r = await loadGraphThroughApi(s, load, g);
    const db = openDb(s.dbPath);
    const stored = db.prepare('SELECT count(*) FROM follows').pluck().get() as number;
    db.close();
    writeResult('graph-load', {
      what: 'every edge u→v of the graph as "timeline:u follows user:v", through POST follow_many/ (2,500 per request, activity_copy_limit=0, 2 requests in flight)',
      graph: graphInfo(g),
      load: r,
      stored_follows: stored,
    });
  });
}

/** Bytes per timeline entry from two checkpointed measurements around `added` new entries. */
function storageFigures(before: DbSize, after: DbSize, added: number) {
  const growth = after.file_bytes - before.file_bytes;
  const activities = after.activities_bytes - before.activities_bytes;
  const per = (x: number) => (added > 0 ? round(x / added) : null);
  return {
    entries_added: added,
    file_growth_bytes: growth,
    activities_table_growth_bytes: activities,
    /** All file growth over the entries: an upper bound (it includes the activity rows). */
    file_bytes_per_entry: per(growth),
    /** File growth less the activities table's growth: what the timeline entries cost in the file. */
    file_bytes_per_entry_excl_activities: per(growth - activities),
    /** The entries table and its index alone (dbstat). */
    entries_table_bytes_per_entry: per(after.entries_bytes - before.entries_bytes),
  };
}

// ---------------------------------------------------------------------------------------------
// fanout-throughput

/** The (feed, sort key, origin) rows a push fan-out of the posts writes, in the order it writes them. */
function fanoutRows(g: Graph, w: Workload, ids: string[], feedInts: Map<string, number>): EntryRows {
  const n = w.deliveries;
  const rows: EntryRows = { feed: new Int32Array(n), origin: new Int32Array(n), key: new Int32Array(n), keys: ids.map(idToSortKey) };
  let k = 0;
  w.authors.forEach((a, i) => {
    const origin = feedInts.get(userFeed(g, a))!;
    const feeds = Array.from(g.followers(a), (u) => feedInts.get(timelineFeed(g, u))!).sort((x, y) => x - y);
    for (const f of feeds) {
      rows.feed[k] = f;
      rows.origin[k] = origin;
      rows.key[k] = i;
      k++;
    }
  });
  return rows;
}

function feedIntegers(s: Server): Map<string, number> {
  const db = openDb(s.dbPath);
  try {
    return new Map((db.prepare('SELECT fid, id FROM feeds').all() as { fid: string; id: number }[]).map((r) => [r.fid, r.id]));
  } finally {
    db.close();
  }
}

/**
 * N activities by authors drawn ∝ followers. (a) end to end with the default settings: posts over
 * HTTP, 8 in flight, until every follower feed has them (outbox empty); (b) queued: the same posts
 * with every fan-out queued (inline_max_followers 0) and the worker held, then the time the worker
 * takes to drain the queue; (c) the store ceiling for the same rows; storage per entry.
 */
async function fanoutThroughput(): Promise<void> {
  const g = loadGraph(graphOption());
  const n = ACTIVITIES();
  const seed = SEED();
  const w = drawWorkload(g, n, seed);
  log(`fanout-throughput: ${g.title}, ${n} activities, ${w.deliveries} follower-feed deliveries`);
  // `--only queued`: the queued drain and the store ceiling alone (quick alternating pairs);
  // `--only end-to-end`: the end-to-end run (8 posts in flight) and the store ceiling alone.
  const only = option('only');
  if (only !== undefined && only !== 'queued' && only !== 'end-to-end') throw new Error(`unknown --only ${only}; choose queued or end-to-end`);
  const onlyQueued = only === 'queued';
  const onlyEndToEnd = only === 'end-to-end';

  const endToEnd = onlyQueued ? null : await withServer({}, async (s, load) => {
    const graphLoad = await loadGraphThroughApi(s, load, g);
    const before = measureDb(s.dbPath);
    const { posted, done } = await profiled('fanout-end-to-end', async () => {
      const posted = await postWorkload(s, load, g, w, seed);
      return { posted, done: await outboxEmpty(s) };
    });
    const after = measureDb(s.dbPath);
    const ms = done - posted.t0;
    log(`  end to end: ${Math.round(w.deliveries / (ms / 1000))} inserts/s`);
    const added = after.entries_rows - before.entries_rows;
    return {
      graph_load: graphLoad,
      rows: fanoutRows(g, w, posted.ids, feedIntegers(s)),
      result: {
        post_concurrency: POST_CONCURRENCY,
        posts_ms: round(posted.t1 - posted.t0),
        posts_per_s: Math.round(n / ((posted.t1 - posted.t0) / 1000)),
        ack_ms: stats(posted.ackMs),
        all_applied_ms: round(ms),
        inserts_per_s: Math.round(w.deliveries / (ms / 1000)),
        entries_written: added,
      },
      storage: storageFigures(before, after, added),
    };
  });

  // The same posts with more writers at once: concurrent posts share a commit (group commit).
  const wide = onlyQueued || onlyEndToEnd ? null : await withServer({}, async (s, load) => {
    await loadGraphThroughApi(s, load, g);
    const posted = await postWorkload(s, load, g, w, seed, WIDE_POST_CONCURRENCY);
    const done = await outboxEmpty(s);
    const ms = done - posted.t0;
    log(`  end to end, ${WIDE_POST_CONCURRENCY} posts in flight: ${Math.round(w.deliveries / (ms / 1000))} inserts/s`);
    return {
      post_concurrency: WIDE_POST_CONCURRENCY,
      posts_per_s: Math.round(n / ((posted.t1 - posted.t0) / 1000)),
      ack_ms: stats(posted.ackMs),
      all_applied_ms: round(ms),
      inserts_per_s: Math.round(w.deliveries / (ms / 1000)),
    };
  });

  const queued = onlyEndToEnd ? null : await withServer({ fanout: { inline_max_followers: 0 }, worker: 'manual' }, async (s, load) => {
    await loadGraphThroughApi(s, load, g);
    // A 'manual' worker is still woken by every enqueue (services.onJobsEnqueued → wake()); a
    // stopped one is not, and drainAll() still drains. So: stop, post everything, then drain.
    const worker = s.rivulet.worker;
    const held = worker !== null && typeof worker.drainAll === 'function';
    if (held) await worker.stop();
    const posted = await postWorkload(s, load, g, w, seed);
    const queuedJobs = await s.rivulet.store.ports.intents.pendingCount();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await profiled('fanout-queued-drain', async () => {
      if (held) await worker.drainAll();
      else {
        worker?.start();
        await outboxEmpty(s);
      }
    });
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    // Every thread of the process (a writer thread's too): what the drain costs, whatever else runs on the machine.
    const cpuMs = (cpu.user + cpu.system) / 1000;
    if ((await s.rivulet.store.ports.intents.pendingCount()) !== 0) throw new Error('queue not drained');
    log(`  queued drain: ${Math.round(w.deliveries / (ms / 1000))} inserts/s, ${Math.round(cpuMs)} ms of CPU (${Math.round(cpu.system / 1000)} system)`);
    return {
      rows: onlyQueued ? fanoutRows(g, w, posted.ids, feedIntegers(s)) : null,
      posts_ms: round(posted.t1 - posted.t0),
      ack_ms: stats(posted.ackMs),
      jobs_queued: queuedJobs,
      drain_ms: round(ms),
      drain_cpu_ms: round(cpuMs),
      inserts_per_s: Math.round(w.deliveries / (ms / 1000)),
    };
  });

  const ceiling = storeCeiling(endToEnd?.rows ?? queued!.rows!);
  log(`  store ceiling: ${ceiling.inserts_per_s} inserts/s (commit ${ceiling.commit_ms} ms of ${ceiling.ms}, ${ceiling.cpu_ms} ms of CPU (${ceiling.cpu_system_ms} system), ${ceiling.gc_ms} ms of GC)`);
  const { rows: _rows, ...queuedResult } = queued ?? { rows: null };
  writeResult(onlyQueued ? 'fanout-queued' : onlyEndToEnd ? 'fanout-end-to-end' : 'fanout-throughput', {
    what: 'activities by authors drawn ∝ followers (seeded), posted to user:<author>; every follower timeline gets each one',
    graph: graphInfo(g),
    ...(endToEnd ? { graph_load: endToEnd.graph_load } : {}),
    activities: n,
    seed,
    deliveries: w.deliveries,
    mean_followers_per_post: round(w.deliveries / n),
    ...(endToEnd ? { end_to_end: { ...endToEnd.result, vs_store_ceiling: round(endToEnd.result.inserts_per_s / ceiling.inserts_per_s, 3) } } : {}),
    ...(wide ? { end_to_end_wide: { ...wide, vs_store_ceiling: round(wide.inserts_per_s / ceiling.inserts_per_s, 3) } } : {}),
    ...(queued ? { queued: { ...queuedResult, vs_store_ceiling: round(queued.inserts_per_s / ceiling.inserts_per_s, 3) } } : {}),
    store_ceiling: ceiling,
    ...(endToEnd ? { storage: { ...endToEnd.storage, store_ceiling_bytes_per_row: ceiling.bytes_per_row } } : {}),
  });
}

// ---------------------------------------------------------------------------------------------
// celebrity

/**
 * One author with `--followers` (default 1,000,000) synthetic followers `timeline:c<i>`. Three
 * readers (the first, middle and last follower) and a control feed `timeline:plain` also follow
 * `user:normal`, who posts 25 activities first, so every read below returns a full page of 25.
 */
async function celebrity(): Promise<void> {
  const followers = intOption('followers', 1_000_000);
  const posts = intOption('posts', 3);
  const duration = DURATION();
  const pullMin = option('pull-min-followers');
  log(`celebrity: ${followers} followers, ${posts} posts${pullMin ? `, pull_min_followers ${pullMin}` : ''}`);
  await withServer(pullMin ? { fanout: { pull_min_followers: Number(pullMin) } } : {}, async (s, load) => {
    const pairs = function* (): Generator<[string, string]> {
      for (let i = 0; i < followers; i++) yield [`timeline:c${i}`, 'user:celebrity'];
    };
    const { requests } = followRequests(s, pairs());
    const setup = await load.batch(s.base, requests, { concurrency: 2 });
    const setupMs = setup.t1 - setup.t0;
    log(`  ${followers} follows in ${Math.round(setupMs)} ms`);
    const readerIds = [...new Set([0, Math.floor(followers / 2), followers - 1])].map((i) => `c${i}`);
    const readerNames = ['first', 'middle', 'last'].slice(-readerIds.length);
    await load.batch(s.base, followRequests(s, [...readerIds, 'plain'].map((u): [string, string] => [`timeline:${u}`, 'user:normal'])).requests);
    const rng = new Rng(SEED());
    await load.batch(
      s.base,
      Array.from({ length: 25 }, (_, i) => api('POST', 'feed/user/normal/', s.serverToken, { actor: 'SU:normal', verb: 'post', object: `o:n${i}`, text: `normal post ${i}`, popularity: 1 + rng.int(100) })),
    );
    const readReq = (u: string): HttpReq => api('GET', `feed/timeline/${u}/?limit=25`, s.userToken(u));
    const before = measureDb(s.dbPath);
    const runs = [];
    for (let k = 0; k < posts; k++) {
      const post = api('POST', 'feed/user/celebrity/', s.serverToken, { actor: 'SU:celebrity', verb: 'post', object: `o:c${k}`, text: `celebrity post ${k}`, popularity: 50 });
      const { wr, applied } = await profiled(`celebrity-post-${k}`, async () => {
        const wr = await load.watch(s.base, post, readerIds.map(readReq));
        return { wr, applied: await outboxEmpty(s) };
      });
      const run = {
        ack_ms: round(wr.ack - wr.start, 3),
        visible_after_ack_ms: Object.fromEntries(readerNames.map((name, i) => [name, round(wr.seen[i]! - wr.ack, 1)])),
        reads_until_visible: Object.fromEntries(readerNames.map((name, i) => [name, wr.reads[i]])),
        all_applied_ms: round(Math.max(applied, wr.ack) - wr.start, 1),
        polls: wr.polls,
      };
      log(`  post ${k}: ${JSON.stringify(run)}`);
      runs.push(run);
    }
    const after = measureDb(s.dbPath);
    // Read cost once everything is applied: the last follower's page against the control page.
    const last = readerIds[readerIds.length - 1];
    const reader = roundCannon(await load.cannon(s.base, [readReq(last)], 10, duration));
    const plain = roundCannon(await load.cannon(s.base, [readReq('plain')], 10, duration));
    const acks = runs.map((r) => r.ack_ms).sort((a, b) => a - b);
    const lastVisible = runs.map((r) => r.visible_after_ack_ms[readerNames[readerNames.length - 1]]).sort((a, b) => a - b);
    const added = after.entries_rows - before.entries_rows;
    writeResult('celebrity', {
      what: `user:celebrity with ${followers} followers (timeline:c0…) posts ${posts} times; ack = HTTP answer to the post; visible = the reader's HTTP read returns it`,
      followers,
      posts,
      fanout_config: pullMin ? { pull_min_followers: Number(pullMin) } : 'defaults',
      follow_setup: { ms: round(setupMs), requests: requests.length, follows_per_s: Math.round(followers / (setupMs / 1000)) },
      runs,
      ack_ms: { median: acks[Math.floor(acks.length / 2)], max: acks[acks.length - 1] },
      last_follower_visible_after_ack_ms: { median: lastVisible[Math.floor(lastVisible.length / 2)], max: lastVisible[lastVisible.length - 1] },
      visible_at_once: runs.every((r) => Object.values(r.reads_until_visible).every((x) => x === 1)),
      read_cost: {
        what: `timeline:${last} (follows the celebrity and user:normal) against timeline:plain (follows user:normal only), 25 per page, 10 connections, ${duration} s each`,
        reader,
        plain,
        cost_ratio_rps: round(plain.requests_per_s / reader.requests_per_s, 3),
        cost_ratio_p50: round(reader.latency_ms.p50 / plain.latency_ms.p50, 3),
      },
      // Pull-served (hybrid fan-out): no per-follower entries, so no per-entry figure.
      storage: { ...storageFigures(before, after, added), follower_entries_written: added >= followers * posts },
    });
  });
}

// ---------------------------------------------------------------------------------------------
// reads

export interface ReadWorkload {
  readers: number[];
  posted: Posted;
}

/**
 * Builds the read workload on a server: the graph; for `readerCount` readers (drawn among the users
 * whose timeline will hold posts of ≥ 25 different authors) their notification feed follows the
 * same feeds as their timeline; user objects for every node; the posts; a collection object per
 * post (`SO:post:p<i>`); reactions (likes and comments by followers) on the newest 1,500 posts.
 */
export async function buildReadWorkload(s: Server, load: Load, g: Graph, n: number, seed: number, readerCount: number): Promise<ReadWorkload> {
  const w = drawWorkload(g, n, seed);
  await loadGraphThroughApi(s, load, g);
  // Distinct authors per would-be reader.
  const authorsOf = new Map<number, Set<number>>();
  for (const a of new Set(w.authors)) {
    for (const u of g.followers(a)) {
      let set = authorsOf.get(u);
      if (!set) authorsOf.set(u, (set = new Set()));
      set.add(a);
    }
  }
  const candidates = [...authorsOf.entries()].filter(([, set]) => set.size >= 25).map(([u]) => u).sort((a, b) => a - b);
  const rng = new Rng(seed + 2);
  const readers = rng.sample(candidates, readerCount);
  log(`  ${candidates.length} users with ≥ 25 authors in their timeline; ${readers.length} readers`);
  const notif = function* (): Generator<[string, string]> {
    for (const u of readers) for (const v of g.following(u)) yield [`notification:${g.label[u]}`, userFeed(g, v)];
  };
  await load.batch(s.base, followRequests(s, notif()).requests, { concurrency: 2 });
  const users: HttpReq[] = [];
  for (let i = 0; i < g.nodes; i += 1000) {
    const batch = g.label.slice(i, i + 1000).map((id) => ({ id, data: { name: `User ${id}`, avatar: `https://example.com/a/${id}.png`, bio: 'Wikipedia editor' } }));
    users.push(api('POST', 'users/', s.serverToken, { users: batch }));
  }
  await load.batch(s.base, users, { concurrency: 2 });
  const posted = await postWorkload(s, load, g, w, seed);
  const objects: HttpReq[] = [];
  for (let i = 0; i < n; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({ id: `p${i + k}`, title: `Post ${i + k}`, url: `https://example.com/p/${i + k}`, width: 640, height: 480 }));
    objects.push(api('POST', 'collections/', s.serverToken, { data: { post: batch } }));
  }
  await load.batch(s.base, objects, { concurrency: 2 });
  const reactions: HttpReq[] = [];
  for (let i = Math.max(0, n - 1500); i < n; i++) {
    const fans = g.followers(w.authors[i]);
    const likes = rng.int(4);
    for (let k = 0; k < likes; k++) reactions.push(api('POST', 'reaction/', s.serverToken, { kind: 'like', activity_id: posted.ids[i], user_id: g.label[fans[rng.int(fans.length)]] }));
    if (rng.next() < 0.4) {
      reactions.push(api('POST', 'reaction/', s.serverToken, { kind: 'comment', activity_id: posted.ids[i], user_id: g.label[fans[rng.int(fans.length)]], data: { text: 'nice one, thanks for sharing' } }));
    }
  }
  await load.batch(s.base, reactions, { concurrency: 4 });
  await outboxEmpty(s);
  log(`  workload: ${n} posts, ${g.nodes} users, ${n} objects, ${reactions.length} reactions`);
  return { readers, posted };
}

export const ENRICH_FLAGS = 'withRecentReactions=true&withOwnReactions=true&withReactionCounts=true';

/** 25-item pages over HTTP at 50 connections (autocannon) for four kinds of feed, each beside its HTTP ceiling. */
async function reads(): Promise<void> {
  const g = loadGraph(graphOption());
  const n = ACTIVITIES();
  const seed = SEED();
  const connections = CONNECTIONS();
  const duration = DURATION();
  const readerCount = intOption('readers', 100);
  log(`reads: ${g.title}, ${n} activities, ${connections} connections, ${duration} s per run`);
  await withServer({}, async (s, load) => {
    const { readers } = await buildReadWorkload(s, load, g, n, seed, readerCount);
    const kinds: Record<string, (u: string) => HttpReq> = {
      flat: (u) => api('GET', `feed/timeline/${u}/?limit=25`, s.userToken(u)),
      notification: (u) => api('GET', `feed/notification/${u}/?limit=25`, s.userToken(u)),
      ranked: (u) => api('GET', `feed/timeline/${u}/?limit=25&ranking=popular`, s.userToken(u)),
      enriched: (u) => api('GET', `enrich/feed/timeline/${u}/?limit=25&${ENRICH_FLAGS}`, s.userToken(u)),
    };
    const out: Record<string, unknown> = {};
    const ceilings: Record<string, number> = {};
    for (const [kind, req] of Object.entries(kinds)) {
      const requests = readers.map((u) => req(g.label[u]));
      // One read of each reader: page sizes, and the body the ceiling serves (the one nearest the mean size).
      const probe = await load.batch(s.base, requests, { concurrency: 4, keepBodies: true });
      const bodies = probe.bodies!;
      const sizes = bodies.map((b) => Buffer.byteLength(b));
      const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
      const items = bodies.map((b) => (JSON.parse(b) as { results: unknown[] }).results.length);
      const nearest = sizes.reduce((best, sz, i) => (Math.abs(sz - mean) < Math.abs(sizes[best] - mean) ? i : best), 0);
      await load.cannon(s.base, requests, connections, WARM_UP_S); // JIT and caches warm, not measured
      const read = roundCannon(await profiled(`reads-${kind}`, () => load.cannon(s.base, requests, connections, duration)));
      const ceiling = roundCannon(await httpCeiling(load, bodies[nearest], connections, duration));
      ceilings[kind] = ceiling.requests_per_s;
      log(`  ${kind}: ${read.requests_per_s} req/s p99 ${read.latency_ms.p99} ms; ceiling ${ceiling.requests_per_s} req/s`);
      out[kind] = {
        path: requests[0].path.replace(/api_key=\w+/, 'api_key=…'),
        mean_body_bytes: Math.round(mean),
        items_per_page: { min: Math.min(...items), max: Math.max(...items) },
        read,
        ceiling: { ...ceiling, body_bytes: Buffer.byteLength(bodies[nearest]) },
        vs_ceiling: round(read.requests_per_s / ceiling.requests_per_s, 3),
      };
    }
    // The same reads with the read cache off: a second server over the same database file
    // (every read builds its page), beside the same ceilings.
    const uncached = await secondServer(s, 0);
    try {
      for (const kind of ['flat', 'enriched'] as const) {
        const requests = readers.map((u) => kinds[kind](g.label[u]));
        await load.cannon(uncached.base, requests, connections, WARM_UP_S); // warmed alike
        const read = roundCannon(await profiled(`reads-${kind}-uncached`, () => load.cannon(uncached.base, requests, connections, duration)));
        const o = out[kind] as { ceiling: CannonResult };
        log(`  ${kind}, read cache off: ${read.requests_per_s} req/s p99 ${read.latency_ms.p99} ms`);
        out[`${kind}_uncached`] = { read, vs_ceiling: round(read.requests_per_s / o.ceiling.requests_per_s, 3) };
      }
    } finally {
      await uncached.close();
    }
    const enriched = out.enriched as { read: CannonResult };
    writeResult('reads', {
      what: `25-item pages of ${readers.length} readers' feeds (user tokens; each connection cycles through the readers) over HTTP, autocannon ${connections} connections, ${duration} s per run; each read kind beside a bare Fastify route serving a real body of that kind's mean size`,
      graph: graphInfo(g),
      activities: n,
      seed,
      readers: readers.length,
      connections,
      duration_s: duration,
      ...out,
      enriched_vs_flat_ceiling: round(enriched.read.requests_per_s / ceilings.flat, 3),
    });
  });
}

// ---------------------------------------------------------------------------------------------
// heaviest-reader

/**
 * The user following the most feeds: their timeline read over HTTP against PostgreSQL's pull
 * query, at two history sizes: after the workload's `--activities` posts (default 5,000), and after
 * more posts by authors drawn the same way up to `--history` (default 50,000), posted in per-author
 * batches of up to 100 to save time. A pull query's cost grows with the history of the followed
 * feeds; a materialized timeline read does not.
 */
async function heaviestReader(): Promise<void> {
  const g = loadGraph(graphOption());
  const n = ACTIVITIES();
  const history = Math.max(n, intOption('history', 50_000));
  const seed = SEED();
  const duration = DURATION();
  const h = g.heaviestReader();
  const w = drawWorkload(g, n, seed);
  log(`heaviest-reader: ${g.title}, node ${g.label[h]} follows ${g.outDegree(h)}, ${n} then ${history} activities`);
  const pgFound = await findPostgres();
  if (pgFound.target === null) console.warn(`  NOTICE: PostgreSQL baseline skipped: ${pgFound.tried.join('; ')}`);
  await withServer({}, async (s, load) => {
    await loadGraphThroughApi(s, load, g);
    const posted = await postWorkload(s, load, g, w, seed);
    await outboxEmpty(s);
    const authors: number[] = Array.from(w.authors);
    const ids = posted.ids;
    const bodies = posted.bodies;
    const uid = g.label[h];
    const req = api('GET', `feed/timeline/${uid}/?limit=25`, s.userToken(uid));
    const followed = new Set(g.following(h));
    const edges = { src: [] as number[], dst: [] as number[] };
    for (const [u, v] of g.edgeList()) {
      edges.src.push(u);
      edges.dst.push(v);
    }

    const measure = async () => {
      const page = await load.batch(s.base, [req], { keepBodies: true });
      const pageIds = (JSON.parse(page.bodies![0]) as { results: { id: string }[] }).results.map((a) => a.id);
      // Rivulet's page is the 25 newest posts of the followed authors (by sort key)?
      const expected = ids
        .filter((_, i) => followed.has(authors[i]))
        .sort((a, b) => Buffer.compare(idToSortKey(b), idToSortKey(a)))
        .slice(0, 25);
      const samePage = expected.length === pageIds.length && expected.every((id, i) => id === pageIds[i]);
      await load.cannon(s.base, [req], 1, WARM_UP_S); // warm-up, as PostgreSQL's 200 queries
      const serial = roundCannon(await profiled(`heaviest-reader-${ids.length}`, () => load.cannon(s.base, [req], 1, duration)));
      const loaded = roundCannon(await load.cannon(s.base, [req], CONNECTIONS(), duration));
      log(`  ${ids.length} activities: HTTP 1 connection p50 ${serial.latency_ms.p50} p99 ${serial.latency_ms.p99} ms; ${CONNECTIONS()} connections ${loaded.requests_per_s} req/s`);
      // The same serial reads with the read cache off (a second server over the same data).
      const uncached = await secondServer(s, 0);
      let serialUncached: CannonResult;
      try {
        await load.cannon(uncached.base, [req], 1, WARM_UP_S);
        serialUncached = roundCannon(await load.cannon(uncached.base, [req], 1, duration));
      } finally {
        await uncached.close();
      }
      log(`  read cache off: HTTP 1 connection p50 ${serialUncached.latency_ms.p50} p99 ${serialUncached.latency_ms.p99} ms`);
      let postgres: unknown = { skipped: `PostgreSQL not reachable; tried ${pgFound.tried.join('; ')}` };
      let ratio: number | null = null;
      let ratioUncached: number | null = null;
      if (pgFound.target !== null) {
        const data: PullData = {
          source: Int32Array.from(edges.src),
          target: Int32Array.from(edges.dst),
          author: Int32Array.from(authors),
          timeUs: Float64Array.from(ids.map(timeOfId)),
          body: bodies,
        };
        const pull = await postgresPull(pgFound.target, data, h, duration);
        ratio = round(pull.latency_ms.p99 / serial.latency_ms.p99, 2);
        ratioUncached = round(pull.latency_ms.p99 / serialUncached.latency_ms.p99, 2);
        postgres = pull;
        log(`  PostgreSQL pull: p50 ${pull.latency_ms.p50} p99 ${pull.latency_ms.p99} ms; p99 ratio ${ratio}`);
      }
      return {
        activities: ids.length,
        timeline_entries: authors.filter((a) => followed.has(a)).length,
        http_serial: serial,
        http_loaded: loaded,
        http_serial_uncached: serialUncached,
        postgres,
        postgres_p99_over_http_p99: ratio,
        postgres_p99_over_uncached_p99: ratioUncached,
        rivulet_page_is_newest_25: samePage,
      };
    };

    const sizes = [await measure()];
    if (history > n) {
      // More history: authors drawn the same way, posted 100 at a time per author.
      const more = drawWorkload(g, history - n, seed + 1000);
      const rng = new Rng(seed + 1001);
      const byAuthor = new Map<number, number[]>();
      more.authors.forEach((a, i) => {
        const list = byAuthor.get(a);
        if (list) list.push(n + i);
        else byAuthor.set(a, [n + i]);
      });
      const requests: HttpReq[] = [];
      const order: number[] = [];
      for (const [a, list] of byAuthor) {
        for (let i = 0; i < list.length; i += 100) {
          const chunk = list.slice(i, i + 100);
          requests.push(api('POST', `feed/user/${g.label[a]}/`, s.serverToken, `{"activities":[${chunk.map((k) => activityBody(g, k, a, rng)).join(',')}]}`));
          for (const _ of chunk) order.push(a);
        }
      }
      const t0 = performance.now();
      const r = await load.batch(s.base, requests, { concurrency: 4, keepBodies: true });
      await outboxEmpty(s);
      log(`  ${history - n} more activities in ${requests.length} requests, ${Math.round(performance.now() - t0)} ms`);
      let k = 0;
      for (const body of r.bodies!) {
        for (const act of (JSON.parse(body) as { activities: { id: string }[] }).activities) {
          ids.push(act.id);
          bodies.push(JSON.stringify(act));
          authors.push(order[k++]);
        }
      }
      sizes.push(await measure());
    }
    writeResult('heaviest-reader', {
      what: 'the user following the most feeds reads 25 of their timeline; Rivulet over HTTP (1 connection, serial) against PostgreSQL running the pull query (1 connection, serial), at two history sizes',
      graph: graphInfo(g),
      seed,
      reader: { id: uid, following: g.outDegree(h) },
      timeline_max_length: 10_000,
      sizes,
    });
  });
}

// ---------------------------------------------------------------------------------------------

export const suite: Record<string, () => Promise<void>> = {
  'graph-load': graphLoad,
  'fanout-throughput': fanoutThroughput,
  celebrity,
  reads,
  'heaviest-reader': heaviestReader,
  /** Regenerates SUMMARY.md and chart.svg from the newest result files. */
  report: async () => writeSummary(),
};

/** Scenario names among command-line arguments: options and their values dropped, `all` = every scenario. */
export function scenarioArgs(args: readonly string[]): string[] {
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.startsWith('--')) {
      if (VALUE_OPTIONS.includes(a.slice(2))) i++;
      continue;
    }
    if (a.startsWith('-') || a === 'all') continue;
    names.push(a);
  }
  return names;
}
