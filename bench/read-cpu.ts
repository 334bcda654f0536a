/**
 * The `read-cpu` scenario: CPU of one uncached feed read, in-process. The reads workload of the
 * suite is loaded (wiki-Vote by default) into a server with the read cache off; the timelines of
 * readers drawn as in `mixed` (Zipf over all users ranked by feeds followed) are read one at a
 * time through Fastify's `inject` (no sockets), flat and enriched as `react-activity-feed` asks,
 * and the process CPU time per read is reported: with the page cache off (the parts pages share,
 * `read_cache.parts_mb`, still kept: activity bodies, enriched activities, own reactions); with
 * nothing kept at all (`parts_mb: 0` too); with the page cache on but every page a miss (a
 * throwaway query parameter makes each URL new, as when a write changed the page); and answered
 * from the read cache; then, with the page cache off, on a server sharing the database file of the
 * loading server (as under `serve --workers`, each read also looks at the other's commits); beside `/healthz`, which shows what the request itself costs around the
 * page build.
 * CPU is the main thread's (where the server runs), from Linux's scheduler counters, after the work
 * the load left behind is done; each loop runs three rounds and the median counts.
 * With `--profile DIR` each measured loop is profiled.
 */
import { api, intOption, log, option, outboxEmpty, profiled, round, secondServer } from './harness.js';
import { loadGraph, Rng, ZipfSampler } from './graph.js';
import { readerOrder, writeRequests, type WriteContext } from './mixed.js';
import { mainThreadCpuMs, mainThreadCpuNs } from './metrics.js';
import { AuthorSampler, drawWorkload } from './graph.js';
import type { HttpReq } from './load.js';
import { writeResult } from './report.js';
import { ACTIVITIES, buildReadWorkload, ENRICH_FLAGS, graphInfo, graphOption, SEED, withServer } from './suite.js';
import type { FastifyInstance } from 'fastify';

/** Reads per measured loop. */
const READS = 4_000;

/** Rounds of each measured loop; the figures are the rounds' medians. */
const ROUNDS = 3;

interface CpuResult {
  reads: number;
  /** The main thread's CPU per read (where the server runs; Linux's scheduler counters, ns). */
  cpu_us_per_read: number;
  /** Every round's figure, in order. */
  rounds_cpu_us: number[];
  /** The whole process's CPU per read (other threads too: the SQLite writer, the keyword thread, V8's helpers). */
  process_cpu_us_per_read: number;
  wall_us_per_read: number;
  mean_bytes: number;
}

/** One turn of the event loop (the check phase, where `setImmediate` callbacks run). */
const turn = () => new Promise<void>((done) => setImmediate(done));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measureOnce(http: FastifyInstance, reqs: readonly HttpReq[], count: number): Promise<Omit<CpuResult, 'rounds_cpu_us'>> {
  let bytes = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const m0 = mainThreadCpuNs();
  for (let i = 0; i < count; i++) {
    const r = reqs[i % reqs.length];
    const res = await http.inject({ method: r.method, url: r.path, headers: r.headers });
    if (res.statusCode !== 200) throw new Error(`${r.path}: ${res.statusCode} ${res.body.slice(0, 200)}`);
    bytes += res.rawPayload.length;
    // The event loop turns between reads, as a server's does between requests. Without it the
    // whole loop runs in microtasks: \`inject\` frees each response's stand-in socket in a
    // \`setImmediate\`, so every response of the loop (its body included) stays alive until the
    // loop ends, the heap grows by the loop's bodies and garbage collection passes over them again
    // and again (a third of an enriched loop's time went to that, more the longer the loop).
    await turn();
  }
  const m1 = mainThreadCpuNs();
  const c = process.cpuUsage(c0);
  const wall = performance.now() - t0;
  const processUs = (c.user + c.system) / count;
  return {
    reads: count,
    cpu_us_per_read: round(m0 === null || m1 === null ? processUs : (m1 - m0) / 1000 / count, 1),
    process_cpu_us_per_read: round(processUs, 1),
    wall_us_per_read: round((wall * 1000) / count, 1),
    mean_bytes: Math.round(bytes / count),
  };
}

/** {@link measureOnce} `rounds` times (default {@link ROUNDS}); the medians of the rounds. */
async function measure(http: FastifyInstance, reqs: readonly HttpReq[], count: number, rounds = ROUNDS): Promise<CpuResult> {
  const all: Omit<CpuResult, 'rounds_cpu_us'>[] = [];
  for (let i = 0; i < rounds; i++) all.push(await measureOnce(http, reqs, count));
  return {
    reads: count * rounds,
    cpu_us_per_read: median(all.map((x) => x.cpu_us_per_read)),
    rounds_cpu_us: all.map((x) => x.cpu_us_per_read),
    process_cpu_us_per_read: median(all.map((x) => x.process_cpu_us_per_read)),
    wall_us_per_read: median(all.map((x) => x.wall_us_per_read)),
    mean_bytes: all[0].mean_bytes,
  };
}

/** Writes per kind in the write loop. */
const WRITES = 1_000;
/** Writes per second in the write loop (`mixed` at 200 writes/s makes 150 reactions/s). */
const WRITE_RATE = 150;

/**
 * The server main thread's CPU per write (Linux per-thread counters): posts (fan-out to the
 * author's followers, a content job) and reactions (likes and comments, each an engagement event
 * the learner takes in), as `mixed` writes them, sent one at a time through `inject` at `--write-rate` per second; then the
 * background work they leave on the main thread (content jobs, the learner's rounds, queued
 * fan-out) is waited for, and counted. `request_us` is the main thread's CPU until the last answer
 * (background rounds that ran meanwhile included), `total_us` until the work left behind is done too.
 */
async function writeCpu(s: Parameters<Parameters<typeof withServer>[1]>[0], g: Parameters<typeof graphInfo>[0], n: number, seed: number, ids: readonly string[], count: number, rate: number) {
  const w = drawWorkload(g, n, seed);
  const ctx: WriteContext = {
    rng: new Rng(seed + 5),
    sampler: new AuthorSampler(g),
    nextPost: 1_000_000,
    recent: ids.slice(-1500).map((id, k) => ({ id, author: w.authors[ids.length - 1500 + k] })),
  };
  const all = writeRequests(s, g, ctx, count * 4);
  const byKind = { post: all.filter((r) => r.path.includes('/feed/')), reaction: all.filter((r) => r.path.includes('/reaction/')).slice(0, count) };
  const out: Record<string, { writes: number; per_s: number; request_us: number | null; total_us: number | null }> = {};
  // One write at a time, so nothing queues up behind the measured loop.
  const settle = async () => {
    await s.rivulet.signalWorker?.drainAll();
    await outboxEmpty(s);
    await new Promise((r) => setTimeout(r, 300));
    await s.rivulet.signalWorker?.drainAll();
  };
  for (const [kind, reqs] of Object.entries(byKind)) {
    await settle();
    const c0 = mainThreadCpuMs();
    let c1: number | null = null;
    await profiled(`read-cpu-${kind}-writes`, async () => {
      const t0 = performance.now();
      for (let i = 0; i < reqs.length; i++) {
        const r = reqs[i];
        const res = await s.rivulet.http.inject({ method: r.method, url: r.path, headers: r.headers, payload: r.body });
        if (res.statusCode >= 300) throw new Error(`${r.path}: ${res.statusCode} ${res.body.slice(0, 200)}`);
        // Paced: the next write is due at i / rate seconds from the start (background rounds then see as many writes each as under `mixed`).
        const wait = t0 + ((i + 1) * 1000) / rate - performance.now();
        if (wait > 0) await new Promise((done) => setTimeout(done, wait));
      }
      c1 = mainThreadCpuMs();
      await settle();
    });
    const c2 = mainThreadCpuMs();
    out[kind] = {
      writes: reqs.length,
      per_s: rate,
      request_us: c0 === null || c1 === null ? null : round(((c1 - c0) * 1000) / reqs.length, 1),
      total_us: c0 === null || c2 === null ? null : round(((c2 - c0) * 1000) / reqs.length, 1),
    };
    log(`  ${kind} writes: ${JSON.stringify(out[kind])}`);
  }
  return out;
}

export async function readCpu(): Promise<void> {
  const g = loadGraph(graphOption());
  const n = ACTIVITIES();
  const seed = SEED();
  const reads = intOption('reads', READS);
  log(`read-cpu: ${g.title}, ${n} activities, ${reads} reads per loop`);
  await withServer({ readCacheMb: 0 }, async (s, load) => {
    const { posted } = await buildReadWorkload(s, load, g, n, seed, 0);
    const rng = new Rng(seed + 3);
    const order = readerOrder(g, rng);
    const zipf = new ZipfSampler(order.length, 1);
    const draw = () => Array.from({ length: 2_000 }, () => g.label[order[zipf.draw(rng)]]);
    const kinds: Record<string, HttpReq[]> = {
      flat: draw().map((u) => api('GET', `feed/timeline/${u}/?limit=25`, s.userToken(u))),
      enriched: draw().map((u) => api('GET', `enrich/feed/timeline/${u}/?limit=25&${ENRICH_FLAGS}`, s.userToken(u))),
    };
    const healthz: HttpReq[] = [{ method: 'GET', path: '/healthz', headers: {} }];
    // Each server alone on its own copy of the file (see `secondServer`).
    const cachedServer = await secondServer(s, 64, { copy: true });
    const bareServer = await secondServer(s, 0, { partsMb: 0, copy: true });
    const out: Record<string, unknown> = {};
    try {
      // The work the load left behind (queued fan-out, content jobs, the learner's rounds) done first.
      await s.rivulet.signalWorker?.drainAll();
      await outboxEmpty(s);
      await s.rivulet.signalWorker?.drainAll();
      out.healthz = await measure(s.rivulet.http, healthz, reads);
      // `--only writes` skips the reads, `--only reads` the writes.
      const only = option('only');
      for (const [kind, reqs] of only === 'writes' ? [] : Object.entries(kinds)) {
        await measureOnce(s.rivulet.http, reqs, Math.min(reads, 1_000)); // JIT warm
        const uncached = await profiled(`read-cpu-${kind}`, () => measure(s.rivulet.http, reqs, reads));
        await measureOnce(bareServer.rivulet.http, reqs, Math.min(reads, 1_000)); // JIT warm
        const bare = await profiled(`read-cpu-${kind}-nothing-kept`, () => measure(bareServer.rivulet.http, reqs, reads));
        // Every URL new: the page is built, from shared parts the cache may hold.
        let n = 0;
        const fresh = reqs.map((r) => ({ ...r, path: `${r.path}&_=${n++}` }));
        const missing = (round: number) => fresh.map((r) => ({ ...r, path: `${r.path}${round}` }));
        await measureOnce(cachedServer.rivulet.http, missing(0), Math.min(reads, fresh.length)); // warm
        const pageMiss = await profiled(`read-cpu-${kind}-page-miss`, () => measureOnce(cachedServer.rivulet.http, missing(1), Math.min(reads, fresh.length)).then((r) => ({ ...r, rounds_cpu_us: [r.cpu_us_per_read] })));
        await measureOnce(cachedServer.rivulet.http, reqs, reqs.length); // fills the cache
        const cached = await measure(cachedServer.rivulet.http, reqs, reads);
        const build = round(uncached.cpu_us_per_read - cached.cpu_us_per_read, 1);
        const missBuild = round(pageMiss.cpu_us_per_read - cached.cpu_us_per_read, 1);
        const bareBuild = round(bare.cpu_us_per_read - cached.cpu_us_per_read, 1);
        out[kind] = { uncached, nothing_kept: bare, page_miss: pageMiss, cached, page_build_cpu_us: build, nothing_kept_build_cpu_us: bareBuild, page_miss_build_cpu_us: missBuild };
        log(
          `  ${kind}: cache off ${uncached.cpu_us_per_read} µs CPU per read (${uncached.mean_bytes} B), nothing kept ${bare.cpu_us_per_read} µs, page miss ${pageMiss.cpu_us_per_read} µs, ` +
            `cached ${cached.cpu_us_per_read} µs; the page build ${build} µs (cache off), ${bareBuild} µs (nothing kept), ${missBuild} µs (page miss)`,
        );
      }
      // Cache off beside another registered connection on its file (as under `serve --workers`):
      // each read also looks at the other's commits. Started after the loops above, which measure
      // servers alone on their files.
      if (only !== 'writes') {
        const sharedServer = await secondServer(s, 0);
        try {
          for (const [kind, reqs] of Object.entries(kinds)) {
            await measureOnce(sharedServer.rivulet.http, reqs, Math.min(reads, 1_000)); // JIT warm
            const shared = await profiled(`read-cpu-${kind}-shared-file`, () => measure(sharedServer.rivulet.http, reqs, reads));
            const o = out[kind] as { cached: CpuResult };
            const sharedBuild = round(shared.cpu_us_per_read - o.cached.cpu_us_per_read, 1);
            Object.assign(o, { shared_file: shared, shared_file_build_cpu_us: sharedBuild });
            log(`  ${kind}: cache off beside another connection on the file ${shared.cpu_us_per_read} µs CPU per read; the page build ${sharedBuild} µs`);
          }
        } finally {
          await sharedServer.close();
        }
      }
      if (only !== 'reads') out.writes = await writeCpu(s, g, n, seed, posted.ids, intOption('writes', WRITES), intOption('write-rate', WRITE_RATE));
    } finally {
      await bareServer.close();
      await cachedServer.close();
    }
    writeResult('read-cpu', {
      what: `CPU per feed read in-process (Fastify inject, one at a time): page cache off (shared parts kept), nothing kept, read cache on with every page a miss, and cached: timelines of Zipf-drawn readers, 25 items, flat and enriched (${ENRICH_FLAGS}); beside /healthz`,
      graph: graphInfo(g),
      activities: n,
      seed,
      ...out,
    });
  });
}
