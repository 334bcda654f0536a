/**
 * The `mixed` scenario (issue 12): feed reads while the data changes. The reads workload of the
 * suite (wiki-Vote by default: follows, users, posts, collection objects, reactions) is loaded;
 * then 50 connections read timelines (half flat, half enriched as `react-activity-feed` asks:
 * own reactions, recent reactions, counts) of readers drawn by a Zipf law over all users, while a
 * background writer posts activities with fan-out and adds likes and comments at a fixed rate, open
 * loop: 0, 20 and 200 writes per second. Each run reports read req/s and latency per kind beside
 * the HTTP ceiling of the same mix measured right before and right after it, the read cache's hit rate, the write
 * rate reached, and the latency of a lone `/healthz` client in a process of its own, beside another
 * reading the health listener's `/healthz` (its own port and thread). A saturation probe follows: 50 connections
 * sending 80% flat reads and 20% posts, beside the same reads alone and the flat ceiling.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { httpCeiling, httpCeilingMix } from './baselines.js';
import { AuthorSampler, drawWorkload, loadGraph, Rng, ZipfSampler, type Graph } from './graph.js';
import { api, intOption, log, openDb, option, outboxEmpty, profiled, round, type Server } from './harness.js';
import type { CannonResult, HttpReq, Load, PacedResult, ProbeResult } from './load.js';
import { writeResult } from './report.js';
import { mainThreadCpuMs } from './metrics.js';
import {
  ACTIVITIES,
  buildReadWorkload,
  CONNECTIONS,
  ENRICH_FLAGS,
  graphInfo,
  graphOption,
  roundCannon,
  SEED,
  WARM_UP_S,
  withServer,
} from './suite.js';

/** Writes per second of the runs; 0 is the same reads with nothing written. */
const RATES = [0, 20, 200];
/** Zipf exponent of the readers' ranks. */
const ZIPF_S = 1;
/** Reads drawn per kind (each connection cycles through its kind's list). */
const DRAWS = 2_000;
/** Writes in flight above which a due write is skipped (counted), so a stalled server is visible. */
const MAX_WRITES_IN_FLIGHT = 64;
/** Gap between the `/healthz` probe's requests. */
const PROBE_GAP_MS = 5;

const HEALTHZ: HttpReq = { method: 'GET', path: '/healthz', headers: {} };

/**
 * Readers' ranks: users ordered by how many feeds they follow (the most connected read most; ties
 * in a seeded random order), so the Zipf head reads full timelines and the tail mostly empty ones.
 */
export function readerOrder(g: Graph, rng: Rng): number[] {
  const users = rng.sample(Array.from({ length: g.nodes }, (_, u) => u), g.nodes);
  return users.sort((a, b) => g.outDegree(b) - g.outDegree(a));
}

/**
 * `count` writes cycling post, like, comment, like: posts by authors drawn ∝ followers (each fans
 * out to the author's followers), about collection objects made beforehand; likes and comments by
 * followers of the author on the newest posts of the workload (the ones on first pages).
 */
export function writeRequests(s: Server, g: Graph, ctx: WriteContext, count: number): HttpReq[] {
  const out: HttpReq[] = [];
  for (let i = 0; i < count; i++) {
    const step = i % 4;
    if (step === 0) {
      const author = ctx.sampler.draw(ctx.rng);
      const k = ctx.nextPost++;
      out.push(
        api('POST', `feed/user/${g.label[author]}/`, s.serverToken, {
          actor: `SU:${g.label[author]}`,
          verb: 'post',
          object: `SO:post:m${k}`,
          foreign_id: `post:m${k}`,
          text: `written during the mixed run, number ${k}`,
          popularity: 1 + ctx.rng.int(100),
        }),
      );
      continue;
    }
    const target = ctx.recent[ctx.rng.int(ctx.recent.length)];
    const fans = g.followers(target.author);
    const user = g.label[fans.length > 0 ? fans[ctx.rng.int(fans.length)] : target.author];
    out.push(
      step === 2
        ? api('POST', 'reaction/', s.serverToken, { kind: 'comment', activity_id: target.id, user_id: user, data: { text: 'nice one, thanks for sharing' } })
        : api('POST', 'reaction/', s.serverToken, { kind: 'like', activity_id: target.id, user_id: user }),
    );
  }
  return out;
}

interface MixedRun {
  writes_per_s: number;
  /**
   * The bare-server ceiling of the same mix, measured right before this run, with the same lone
   * `/healthz` client reading the bare server meanwhile (`healthz`).
   */
  ceiling: MixCeiling;
  /** The same ceiling measured right after this run (the next run's `ceiling`). */
  ceiling_after: MixCeiling;
  /**
   * `vs_ceiling`: req/s ÷ the mean of the ceilings measured right before and right after the run
   * (on a shared machine the ceiling moves by half between neighbouring measurements);
   * `vs_ceiling_before`: ÷ the one before only.
   */
  flat: { read: CannonResult; vs_ceiling: number; vs_ceiling_before: number };
  enriched: { read: CannonResult; vs_ceiling: number; vs_ceiling_before: number };
  read_cache: { hits: number; misses: number; hit_rate: number | null };
  writes: ReturnType<typeof roundPaced> | null;
  /**
   * Per second during the run: group commits of the SQLite writer thread (`all`; `durable`: those
   * that waited for fsync), and how often the reading connection found that another connection
   * had committed (any transaction: group commits, the writer's merge steps, other processes) and
   * dropped its page cache (`read_cache_resets`, from its `data_version`).
   */
  writer_commits_per_s: { all: number; durable: number; read_cache_resets: number } | null;
  /** The lone /healthz client, in a process of its own. */
  healthz: ReturnType<typeof roundProbe> | null;
  /** The same client run in the load generator's thread (its latencies include that thread's lag). */
  healthz_in_load_thread: ReturnType<typeof roundProbe> | null;
  /**
   * The same client, in a process of its own, reading `/healthz` from the health listener (its
   * own port and thread, not waiting for the main event loop) at the same time.
   */
  health_listener: ReturnType<typeof roundProbe> | null;
  /**
   * `/healthz` p99 ÷ the mean p99 of the same client against the bare ceilings before and after
   * the run: how much longer than on a server that does nothing but answer the same connections.
   */
  healthz_p99_vs_ceiling: number | null;
  event_loop: EventLoopFigures;
  /**
   * `settled`: the background work of earlier writes (the workload's loaded posts and reactions
   * before the first run, the previous run's writes before the others) the bench waited for before
   * this run's warm-up (null with `--no-settle`); `during`: the content rounds and learner steps
   * that ran in the measured window.
   */
  background: { settled: (BackgroundCounts & { ms: number }) | null; during: BackgroundCounts };
}

interface MixCeiling {
  flat: CannonResult;
  enriched: CannonResult;
  healthz: ReturnType<typeof roundProbe> | null;
}

/**
 * The server's event loop during a run: its delay (how late a 1 ms timer fired), how busy it was,
 * and the CPU time the main thread used (Linux's per-thread counters, 10 ms ticks; null elsewhere)
 * per response it sent (reads, writes and /healthz): the server's own cost of a request, which
 * moves far less than requests per second when other processes take the cores.
 */
interface EventLoopFigures {
  delay_ms: { p50: number; p99: number; max: number };
  utilization: number;
  main_thread_cpu_ms: number | null;
  main_thread_cpu_us_per_response: number | null;
}

/**
 * Watches the event loop of this process's main thread (the server's; the load generator runs in
 * a worker thread) from now until the returned function is called: a late timer means requests
 * waited behind work on the loop, a /healthz wait beyond it is queueing or the OS scheduler.
 */
function watchEventLoop(): (responses: number) => EventLoopFigures {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  const elu = performance.eventLoopUtilization();
  const cpu0 = mainThreadCpuMs();
  delay.enable();
  return (responses) => {
    delay.disable();
    const cpu1 = mainThreadCpuMs();
    const cpu = cpu0 === null || cpu1 === null ? null : cpu1 - cpu0;
    const ms = (ns: number) => round(ns / 1e6, 3);
    return {
      delay_ms: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) },
      utilization: round(performance.eventLoopUtilization(elu).utilization, 3),
      main_thread_cpu_ms: cpu,
      main_thread_cpu_us_per_response: cpu === null || responses === 0 ? null : round((cpu * 1000) / responses, 1),
    };
  };
}

/** Responses the server sent in a `load.mix` run (any status). */
function responsesOf(r: { cannons: Record<string, CannonResult>; paced?: PacedResult; probe?: ProbeResult; probeInLoadThread?: ProbeResult; otherProbe?: ProbeResult }): number {
  let n = 0;
  for (const c of Object.values(r.cannons)) n += c.responses_2xx + c.non2xx;
  if (r.paced) n += r.paced.responses_2xx + r.paced.non2xx;
  if (r.probe) n += r.probe.count;
  if (r.probeInLoadThread) n += r.probeInLoadThread.count;
  return n;
}

export interface WriteContext {
  rng: Rng;
  sampler: AuthorSampler;
  nextPost: number;
  recent: { id: string; author: number }[];
}

/** The body nearest the mean size among `bodies`. */
function typicalBody(bodies: string[]): { body: string; mean: number } {
  const sizes = bodies.map((b) => Buffer.byteLength(b));
  const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
  const i = sizes.reduce((best, sz, k) => (Math.abs(sz - mean) < Math.abs(sizes[best] - mean) ? k : best), 0);
  return { body: bodies[i], mean };
}

function roundPaced(p: PacedResult) {
  return {
    ...p,
    achieved_per_s: round(p.achieved_per_s),
    latency_ms: { p50: round(p.latency_ms.p50, 3), p99: round(p.latency_ms.p99, 3), max: round(p.latency_ms.max, 3) },
  };
}

/** `probe`'s p99 ÷ the mean p99 of the two ceiling probes (null when one is missing or zero). */
function probeRatio(probe: ProbeResult | undefined, before: { latency_ms: { p99: number } } | null, after: { latency_ms: { p99: number } } | null): number | null {
  if (!probe || !before || !after) return null;
  const mean = (before.latency_ms.p99 + after.latency_ms.p99) / 2;
  return mean > 0 ? round(probe.latency_ms.p99 / mean, 3) : null;
}

function roundProbe(p: ProbeResult) {
  return { ...p, latency_ms: { p50: round(p.latency_ms.p50, 3), p99: round(p.latency_ms.p99, 3), max: round(p.latency_ms.max, 3) } };
}

/**
 * Commits of the SQLite writer thread so far (all, and those that waited for fsync), from its
 * shared counters; null without a writer thread. Every commit makes the reading connection drop
 * its page cache at its next read.
 */
function writerCommits(s: Server): { all: number; durable: number; resets: number } | null {
  const store = s.rivulet.store as { writerThread?: { commits: Int32Array } | null; database?: { db: { pragma(q: string, o: { simple: true }): unknown } } };
  const counters = store.writerThread?.commits;
  if (!counters || !store.database) return null;
  // SQLite moves a connection's data_version each time it finds that another connection
  // committed, which is each time it drops its page cache.
  const resets = Number(store.database.db.pragma('data_version', { simple: true }));
  return { all: Atomics.load(counters, 0), durable: Atomics.load(counters, 1), resets };
}

/** The server's background work since a {@link watchBackground} counter was made (or since `from`). */
interface BackgroundCounts {
  /** Rounds of the signal worker that found content jobs, and the jobs they took. */
  content_rounds: number;
  content_jobs: number;
  /** Learner steps that read logged events, and the events read. */
  learner_steps: number;
  events_learned: number;
}

/**
 * Counts the signal worker's content rounds and learner steps from now on, by wrapping the two
 * calls each makes on the server's services (the worker reads `services.signalStore` and
 * `services.personalization` at every round). Returns the live counts.
 */
function watchBackground(s: Server): BackgroundCounts {
  const counts: BackgroundCounts = { content_rounds: 0, content_jobs: 0, learner_steps: 0, events_learned: 0 };
  /* eslint-disable @typescript-eslint/no-explicit-any */
  const services = s.rivulet.services as any;
  const store = services.signalStore;
  const pending = store.pendingContentJobs.bind(store);
  store.pendingContentJobs = async (...args: unknown[]) => {
    const jobs = await pending(...args);
    if (jobs.length > 0) {
      counts.content_rounds++;
      counts.content_jobs += jobs.length;
    }
    return jobs;
  };
  const p = services.personalization;
  if (p) {
    const step = p.step.bind(p);
    p.step = async (...args: unknown[]) => {
      const n = await step(...args);
      if (n > 0) {
        counts.learner_steps++;
        counts.events_learned += n;
      }
      return n;
    };
  }
  /* eslint-enable @typescript-eslint/no-explicit-any */
  return counts;
}

function backgroundSince(now: BackgroundCounts, from: BackgroundCounts): BackgroundCounts {
  return {
    content_rounds: now.content_rounds - from.content_rounds,
    content_jobs: now.content_jobs - from.content_jobs,
    learner_steps: now.learner_steps - from.learner_steps,
    events_learned: now.events_learned - from.events_learned,
  };
}

/**
 * Waits until the server's background work of earlier writes is done: the fan-out queue empty,
 * then every queued content job run and every logged engagement learned (the signal worker's
 * `drainAll`, beside its own loop). The work it did, and how long it took.
 */
async function settleBackground(s: Server, bg: BackgroundCounts): Promise<BackgroundCounts & { ms: number }> {
  const from = { ...bg };
  const t0 = performance.now();
  await outboxEmpty(s);
  await s.rivulet.signalWorker?.drainAll();
  return { ...backgroundSince(bg, from), ms: round(performance.now() - t0) };
}

function cacheCounts(s: Server): { hits: number; misses: number } {
  return s.rivulet.http.readCache?.counts ?? { hits: 0, misses: 0 };
}

function countActivities(s: Server): number {
  const db = openDb(s.dbPath);
  try {
    return db.prepare('SELECT count(*) FROM activities').pluck().get() as number;
  } finally {
    db.close();
  }
}

export async function mixed(): Promise<void> {
  const g = loadGraph(graphOption());
  const n = ACTIVITIES();
  const seed = SEED();
  const connections = CONNECTIONS();
  const half = Math.max(1, Math.floor(connections / 2));
  const duration = intOption('duration', 10);
  const rates = option('rates')?.split(',').map(Number) ?? RATES;
  log(`mixed: ${g.title}, ${n} activities, ${connections} connections (${half} flat, ${half} enriched), ${duration} s per run, writes/s ${rates.join(', ')}`);
  // The health listener's probe is a further process waking every 5 ms on a 2-core machine, and the
  // ceilings run without it, so it lowers every `vs_ceiling`; it only runs when asked for.
  const listener = process.argv.includes('--health-listener');
  // Each run starts once the background work of earlier writes is done, unless `--no-settle`.
  const settle = !process.argv.includes('--no-settle');
  await withServer({ healthListener: listener }, async (s, load: Load) => {
    const healthUrl = listener ? new URL(s.rivulet.healthUrl()!) : null;
    const healthProbe = healthUrl ? { base: healthUrl.origin, request: { ...HEALTHZ, path: healthUrl.pathname }, gapMs: PROBE_GAP_MS } : undefined;
    const { posted } = await buildReadWorkload(s, load, g, n, seed, 0);
    const bg = watchBackground(s);
    const w = drawWorkload(g, n, seed);
    const rng = new Rng(seed + 3);

    // Readers: Zipf over all users, one sequence per kind.
    const order = readerOrder(g, rng);
    const zipf = new ZipfSampler(order.length, ZIPF_S);
    const draw = () => Array.from({ length: DRAWS }, () => g.label[order[zipf.draw(rng)]]);
    const flatReqs = draw().map((u) => api('GET', `feed/timeline/${u}/?limit=25`, s.userToken(u)));
    const enrichedReqs = draw().map((u) => api('GET', `enrich/feed/timeline/${u}/?limit=25&${ENRICH_FLAGS}`, s.userToken(u)));
    const distinct = new Set(flatReqs.map((r) => r.path)).size;

    // Collection objects for the posts the writer will make (so enrichment finds them).
    const maxPosts = Math.ceil((rates.reduce((a, b) => a + b, 0) * duration * 1.5) / 4) + 100;
    const objects: HttpReq[] = [];
    for (let i = 0; i < maxPosts; i += 1000) {
      const batch = Array.from({ length: Math.min(1000, maxPosts - i) }, (_, k) => ({ id: `m${i + k}`, title: `Mixed post ${i + k}`, url: `https://example.com/m/${i + k}` }));
      objects.push(api('POST', 'collections/', s.serverToken, { data: { post: batch } }));
    }
    await load.batch(s.base, objects, { concurrency: 2 });
    const ctx: WriteContext = {
      rng: new Rng(seed + 4),
      sampler: new AuthorSampler(g),
      nextPost: 0,
      recent: posted.ids.slice(-1500).map((id, k) => ({ id, author: w.authors[posted.ids.length - 1500 + k] })),
    };

    // The ceiling of the same mix (typical flat and enriched bodies of the Zipf readers), measured
    // before the first run and after each run: on a shared machine the ceiling moves, and each
    // ratio takes the mean of its two neighbours.
    const sample = async (reqs: HttpReq[]) => (await load.batch(s.base, reqs.slice(0, 400), { concurrency: 4, keepBodies: true })).bodies!;
    const flatBody = typicalBody(await sample(flatReqs));
    const enrichedBody = typicalBody(await sample(enrichedReqs));
    const mixCeiling = async () => {
      const c = await httpCeilingMix(load, { flat: flatBody.body, enriched: enrichedBody.body }, half, duration, { gapMs: PROBE_GAP_MS });
      return { flat: roundCannon(c.cannons.flat), enriched: roundCannon(c.cannons.enriched), healthz: c.probe ? roundProbe(c.probe) : null };
    };

    const cannons = [
      { name: 'flat', requests: flatReqs, connections: half },
      { name: 'enriched', requests: enrichedReqs, connections: half },
    ];
    const runs: MixedRun[] = [];
    let ceiling = await mixCeiling();
    for (const rate of rates) {
      const settled = settle ? await settleBackground(s, bg) : null;
      await load.mix(s.base, WARM_UP_S, { cannons }); // JIT and caches warm, not measured
      const bgBefore = { ...bg };
      const before = cacheCounts(s);
      const commitsBefore = writerCommits(s);
      const writes = rate > 0 ? writeRequests(s, g, ctx, Math.ceil(rate * duration * 1.5) + 10) : [];
      const loop = watchEventLoop();
      const r = await profiled(`mixed-${rate}`, () =>
        load.mix(s.base, duration, {
          cannons,
          paced: rate > 0 ? { requests: writes, ratePerS: rate, maxInFlight: MAX_WRITES_IN_FLIGHT } : undefined,
          probe: { request: HEALTHZ, gapMs: PROBE_GAP_MS },
          otherProbe: healthProbe,
        }),
      );
      const eventLoop = loop(responsesOf(r));
      const during = backgroundSince(bg, bgBefore);
      const after = cacheCounts(s);
      const commitsAfter = writerCommits(s);
      await outboxEmpty(s);
      const ceilingAfter = await mixCeiling();
      const hits = after.hits - before.hits;
      const misses = after.misses - before.misses;
      const flat = roundCannon(r.cannons.flat);
      const enriched = roundCannon(r.cannons.enriched);
      const vs = (kind: 'flat' | 'enriched', read: CannonResult) => ({
        read,
        vs_ceiling: round(read.requests_per_s / ((ceiling[kind].requests_per_s + ceilingAfter[kind].requests_per_s) / 2), 3),
        vs_ceiling_before: round(read.requests_per_s / ceiling[kind].requests_per_s, 3),
      });
      const run: MixedRun = {
        writes_per_s: rate,
        ceiling,
        ceiling_after: ceilingAfter,
        flat: vs('flat', flat),
        enriched: vs('enriched', enriched),
        read_cache: { hits, misses, hit_rate: hits + misses > 0 ? round(hits / (hits + misses), 3) : null },
        writes: r.paced ? roundPaced(r.paced) : null,
        writer_commits_per_s:
          commitsBefore && commitsAfter
            ? {
                all: round((commitsAfter.all - commitsBefore.all) / duration),
                durable: round((commitsAfter.durable - commitsBefore.durable) / duration),
                read_cache_resets: round((commitsAfter.resets - commitsBefore.resets) / duration),
              }
            : null,
        healthz: r.probe ? roundProbe(r.probe) : null,
        healthz_in_load_thread: r.probeInLoadThread ? roundProbe(r.probeInLoadThread) : null,
        healthz_p99_vs_ceiling: probeRatio(r.probe, ceiling.healthz, ceilingAfter.healthz),
        health_listener: r.otherProbe ? roundProbe(r.otherProbe) : null,
        event_loop: eventLoop,
        background: { settled, during },
      };
      log(
        `  ${rate} writes/s (ceiling flat ${ceiling.flat.requests_per_s} → ${ceilingAfter.flat.requests_per_s}, enriched ${ceiling.enriched.requests_per_s} → ${ceilingAfter.enriched.requests_per_s} req/s): flat ${flat.requests_per_s} req/s p99 ${flat.latency_ms.p99} ms (${run.flat.vs_ceiling}), ` +
          `enriched ${enriched.requests_per_s} req/s p99 ${enriched.latency_ms.p99} ms (${run.enriched.vs_ceiling}), ` +
          `cache hit rate ${run.read_cache.hit_rate}, writes reached ${run.writes?.achieved_per_s ?? 0}/s (${run.writer_commits_per_s?.all ?? '–'} group commits/s, read connection's cache dropped ${run.writer_commits_per_s?.read_cache_resets ?? '–'}/s), healthz p99 ${run.healthz?.latency_ms.p99} ms (in the load thread ${run.healthz_in_load_thread?.latency_ms.p99} ms; against the bare ceiling ${ceiling.healthz?.latency_ms.p99} → ${ceilingAfter.healthz?.latency_ms.p99} ms), ${run.health_listener ? `health listener p99 ${run.health_listener.latency_ms.p99} ms (max ${run.health_listener.latency_ms.max}, ${run.health_listener.non2xx} not 200), ` : ''}` +
          `event loop delay p99 ${eventLoop.delay_ms.p99} ms (max ${eventLoop.delay_ms.max}), busy ${eventLoop.utilization}, main thread ${eventLoop.main_thread_cpu_us_per_response} µs CPU per response; ` +
          `background before the run ${settled ? `${settled.content_jobs} content jobs, ${settled.events_learned} events learned in ${settled.ms} ms` : 'not waited for'}, during it ${during.content_rounds} content rounds (${during.content_jobs} jobs), ${during.learner_steps} learner steps (${during.events_learned} events)`,
      );
      runs.push(run);
      ceiling = ceilingAfter;
    }
    const noWrites = runs.find((x) => x.writes_per_s === 0);
    const vsNoWrites = (x: MixedRun) =>
      noWrites
        ? {
            flat: round(x.flat.read.requests_per_s / noWrites.flat.read.requests_per_s, 3),
            enriched: round(x.enriched.read.requests_per_s / noWrites.enriched.read.requests_per_s, 3),
          }
        : null;

    // Saturation: 80% flat reads, 20% posts (no foreign id, so every send is a new activity).
    const satReads = flatReqs;
    const satReqs: HttpReq[] = [];
    let postFollowers = 0;
    let satPosts = 0;
    for (let i = 0; i < satReads.length; i++) {
      satReqs.push(satReads[i]);
      if (i % 4 === 3) {
        const author = ctx.sampler.draw(ctx.rng);
        postFollowers += g.inDegree(author);
        satPosts++;
        satReqs.push(
          api('POST', `feed/user/${g.label[author]}/`, s.serverToken, {
            actor: `SU:${g.label[author]}`,
            verb: 'post',
            object: `SO:post:m${ctx.nextPost++ % maxPosts}`,
            text: 'written during the saturation probe',
            popularity: 1 + ctx.rng.int(100),
          }),
        );
      }
    }
    const satConnections = connections;
    const satSettled = settle ? await settleBackground(s, bg) : null;
    await load.cannon(s.base, satReads, satConnections, WARM_UP_S);
    const readsAlone = roundCannon(await load.cannon(s.base, satReads, satConnections, duration));
    const activitiesBefore = countActivities(s);
    const satBg = { ...bg };
    const satLoop = watchEventLoop();
    const sat = await profiled('mixed-saturation', () =>
      load.mix(s.base, duration, {
        cannons: [{ name: 'mixed', requests: satReqs, connections: satConnections }],
        probe: { request: HEALTHZ, gapMs: PROBE_GAP_MS },
        otherProbe: healthProbe,
      }),
    );
    const satEventLoop = satLoop(responsesOf(sat));
    const satDuring = backgroundSince(bg, satBg);
    await outboxEmpty(s);
    const postsDone = countActivities(s) - activitiesBefore;
    const satCannon = roundCannon(sat.cannons.mixed);
    const flatCeiling = roundCannon(await httpCeiling(load, flatBody.body, satConnections, duration));
    const meanFollowers = postFollowers / satPosts;
    const saturation = {
      connections: satConnections,
      mix: '4 flat timeline reads (Zipf readers, user tokens) : 1 post (author drawn ∝ followers, server token)',
      total: satCannon,
      posts_per_s: round(postsDone / satCannon.duration_s),
      mean_followers_per_post: round(meanFollowers),
      follower_inserts_per_s: Math.round((postsDone / satCannon.duration_s) * meanFollowers),
      reads_alone: readsAlone,
      total_vs_reads_alone: round(satCannon.requests_per_s / readsAlone.requests_per_s, 3),
      flat_ceiling: flatCeiling,
      total_vs_flat_ceiling: round(satCannon.requests_per_s / flatCeiling.requests_per_s, 3),
      healthz: sat.probe ? roundProbe(sat.probe) : null,
      healthz_in_load_thread: sat.probeInLoadThread ? roundProbe(sat.probeInLoadThread) : null,
      health_listener: sat.otherProbe ? roundProbe(sat.otherProbe) : null,
      event_loop: satEventLoop,
      background: { settled: satSettled, during: satDuring },
    };
    log(
      `  saturation: ${satCannon.requests_per_s} req/s in all, p50 ${satCannon.latency_ms.p50} p99 ${satCannon.latency_ms.p99} ms, ` +
        `reads p99 ${satCannon.by_method?.GET?.latency_ms.p99} ms, posts p50 ${satCannon.by_method?.POST?.latency_ms.p50} p99 ${satCannon.by_method?.POST?.latency_ms.p99} ms, ` +
        `${saturation.posts_per_s} posts/s (${saturation.follower_inserts_per_s} follower inserts/s); reads alone ${readsAlone.requests_per_s} req/s; healthz p99 ${saturation.healthz?.latency_ms.p99} ms (in the load thread ${saturation.healthz_in_load_thread?.latency_ms.p99} ms${saturation.health_listener ? `; health listener ${saturation.health_listener.latency_ms.p99} ms` : ''}), ` +
        `event loop delay p99 ${satEventLoop.delay_ms.p99} ms (max ${satEventLoop.delay_ms.max}), busy ${satEventLoop.utilization}, main thread ${satEventLoop.main_thread_cpu_us_per_response} µs CPU per response`,
    );

    writeResult('mixed', {
      what: `timeline reads while the data changes: ${half} connections reading flat and ${half} reading enriched timelines (${ENRICH_FLAGS}) of readers drawn by a Zipf law (s = ${ZIPF_S}) over all ${g.nodes} users ranked by feeds followed, user tokens, while a writer posts (fan-out to the author's followers), likes and comments (1:2:1) at a fixed rate, open loop; ${duration} s per run; a lone client in a process of its own reads /healthz every ${PROBE_GAP_MS} ms throughout (healthz_in_load_thread: the same client in the load generator's thread; health_listener: another such client reading /healthz from the health listener, the server's own port and thread for it)`,
      graph: graphInfo(g),
      activities: n,
      seed,
      connections,
      duration_s: duration,
      readers: { zipf_s: ZIPF_S, users: g.nodes, draws_per_kind: DRAWS, distinct_flat_readers: distinct },
      bodies: { flat_mean_bytes: Math.round(flatBody.mean), enriched_mean_bytes: Math.round(enrichedBody.mean) },
      runs: runs.map((x) => ({ ...x, vs_no_writes: vsNoWrites(x) })),
      saturation,
    });
  });
}
