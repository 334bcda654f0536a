/**
 * The `read-cpu` scenario: CPU of one uncached feed read, in-process. The reads workload of the
 * suite is loaded (wiki-Vote by default) into a server with the read cache off; the timelines of
 * readers drawn as in `mixed` (Zipf over all users ranked by feeds followed) are read one at a
 * time through Fastify's `inject` (no sockets), flat and enriched as `react-activity-feed` asks,
 * and the process CPU time per read is reported: with the page cache off (the parts pages share,
 * `read_cache.parts_mb`, still kept: activity bodies, enriched activities, own reactions); with
 * nothing kept at all (`parts_mb: 0` too); with the page cache on but every page a miss (a
 * throwaway query parameter makes each URL new, as when a write changed the page); and answered
 * from the read cache; beside `/healthz`, which shows what the request itself costs around the
 * page build.
 * With `--profile DIR` each measured loop is profiled.
 */
import { api, intOption, log, profiled, round, secondServer } from './harness.js';
import { loadGraph, Rng, ZipfSampler } from './graph.js';
import { readerOrder } from './mixed.js';
import type { HttpReq } from './load.js';
import { writeResult } from './report.js';
import { ACTIVITIES, buildReadWorkload, ENRICH_FLAGS, graphInfo, graphOption, SEED, withServer } from './suite.js';
import type { FastifyInstance } from 'fastify';

/** Reads per measured loop. */
const READS = 4_000;

interface CpuResult {
  reads: number;
  cpu_us_per_read: number;
  wall_us_per_read: number;
  mean_bytes: number;
}

async function measure(http: FastifyInstance, reqs: readonly HttpReq[], count: number): Promise<CpuResult> {
  let bytes = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    const r = reqs[i % reqs.length];
    const res = await http.inject({ method: r.method, url: r.path, headers: r.headers });
    if (res.statusCode !== 200) throw new Error(`${r.path}: ${res.statusCode} ${res.body.slice(0, 200)}`);
    bytes += res.rawPayload.length;
  }
  const c = process.cpuUsage(c0);
  const wall = performance.now() - t0;
  return { reads: count, cpu_us_per_read: round((c.user + c.system) / count, 1), wall_us_per_read: round((wall * 1000) / count, 1), mean_bytes: Math.round(bytes / count) };
}

export async function readCpu(): Promise<void> {
  const g = loadGraph(graphOption());
  const n = ACTIVITIES();
  const seed = SEED();
  const reads = intOption('reads', READS);
  log(`read-cpu: ${g.title}, ${n} activities, ${reads} reads per loop`);
  await withServer({ readCacheMb: 0 }, async (s, load) => {
    await buildReadWorkload(s, load, g, n, seed, 0);
    const rng = new Rng(seed + 3);
    const order = readerOrder(g, rng);
    const zipf = new ZipfSampler(order.length, 1);
    const draw = () => Array.from({ length: 2_000 }, () => g.label[order[zipf.draw(rng)]]);
    const kinds: Record<string, HttpReq[]> = {
      flat: draw().map((u) => api('GET', `feed/timeline/${u}/?limit=25`, s.userToken(u))),
      enriched: draw().map((u) => api('GET', `enrich/feed/timeline/${u}/?limit=25&${ENRICH_FLAGS}`, s.userToken(u))),
    };
    const healthz: HttpReq[] = [{ method: 'GET', path: '/healthz', headers: {} }];
    const cachedServer = await secondServer(s, 64);
    const bareServer = await secondServer(s, 0, { partsMb: 0 });
    const out: Record<string, unknown> = {};
    try {
      out.healthz = await measure(s.rivulet.http, healthz, reads);
      for (const [kind, reqs] of Object.entries(kinds)) {
        await measure(s.rivulet.http, reqs, Math.min(reads, 1_000)); // JIT warm
        const uncached = await profiled(`read-cpu-${kind}`, () => measure(s.rivulet.http, reqs, reads));
        await measure(bareServer.rivulet.http, reqs, Math.min(reads, 1_000)); // JIT warm
        const bare = await profiled(`read-cpu-${kind}-nothing-kept`, () => measure(bareServer.rivulet.http, reqs, reads));
        // Every URL new: the page is built, from shared parts the cache may hold.
        let n = 0;
        const fresh = reqs.map((r) => ({ ...r, path: `${r.path}&_=${n++}` }));
        const missing = (round: number) => fresh.map((r) => ({ ...r, path: `${r.path}${round}` }));
        await measure(cachedServer.rivulet.http, missing(0), Math.min(reads, fresh.length)); // warm
        const pageMiss = await profiled(`read-cpu-${kind}-page-miss`, () => measure(cachedServer.rivulet.http, missing(1), Math.min(reads, fresh.length)));
        await measure(cachedServer.rivulet.http, reqs, reqs.length); // fills the cache
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
