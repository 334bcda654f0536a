/**
 * `npm run bench -- metrics`: what Prometheus metrics cost on the flat-read benchmark. Two Rivulets
 * over the same data, one with metrics on (the default) and one with `metrics.enabled: false`,
 * serve the same 25-item timeline reads of 100 readers (user tokens) to autocannon, in short
 * alternating runs (`--rounds`, default 12, of `--duration` s, default 2, at `--connections`,
 * default 50; the pair's order flips every round): with the read cache (each read answered from
 * memory: the request metrics are the only extra work) and without it (each read built: a few
 * timed store calls too). The figure is the median over the rounds of on ÷ off within a round, so a
 * machine whose speed drifts (it is shared) moves both sides of each ratio alike; the spread of
 * those ratios is the run's noise. Because other processes share the cores, the main thread's CPU
 * time per read (Linux per-thread counters) is reported beside throughput: it is what metrics add
 * to each request, and moves far less with the machine's load. Also the time a scrape takes.
 */
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { readFileSync } from 'node:fs';
import { PrometheusMetrics } from '../src/adapters/prometheus/prometheus-metrics.js';
import { MeteredLogController, recordRoutes } from '../src/http/plugins/metrics.js';
import { api, option, secondServer, startServer, followRequests } from './harness.js';
import { Load, type CannonResult } from './load.js';
import { writeResult } from './report.js';

const int = (name: string, fallback: number) => {
  const v = option(name);
  return v === undefined ? fallback : Number(v);
};

/**
 * CPU time (ms) the main thread (where every Rivulet of this bench serves; the load generator has a
 * thread of its own) has used, from Linux's per-thread counters (10 ms ticks); null elsewhere.
 * Unlike requests per second, CPU per request barely moves when other processes take the cores.
 */
export function mainThreadCpuMs(): number | null {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state is field 3 of the full line; utime and stime are 14 and 15.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return null;
  }
}

/**
 * CPU time (ns) the main thread has run, from Linux's scheduler statistics (nanoseconds, unlike
 * the 10 ms ticks of {@link mainThreadCpuMs}); null elsewhere. Other threads of the process (the
 * SQLite writer, the keyword thread, V8's helpers, a load generator) are not in it.
 */
export function mainThreadCpuNs(): number | null {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return null;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * The work metrics add to one request, alone: the log controller's `requestCompleted` (the route's
 * recorder from the route's config, one histogram update) called on a real finished request of a
 * real route, many times. Nanoseconds per call, best of 5 batches.
 */
async function recorderCost(): Promise<{ ns_per_request: number }> {
  const m = new PrometheusMetrics({ history: false });
  const controller = new MeteredLogController(m);
  const app = Fastify({ logger: false });
  recordRoutes(app, m);
  let seen: [FastifyRequest, FastifyReply] | null = null;
  app.addHook('onResponse', async (req, reply) => {
    seen = [req, reply];
  });
  app.get('/api/v1.0/feed/:slug/:uid/', async () => ({ results: [] }));
  await app.inject({ method: 'GET', url: '/api/v1.0/feed/user/x/' });
  const [req, reply] = seen!;
  const n = 1_000_000;
  let best = Infinity;
  for (let batch = 0; batch < 5; batch++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) controller.requestCompleted(null, req, reply);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / n);
  }
  await app.close();
  m.close();
  return { ns_per_request: Math.round(best) };
}

export async function metrics(): Promise<void> {
  const rounds = int('rounds', 12);
  const duration = int('duration', 2);
  const connections = int('connections', 50);
  const readers = 100;
  const authors = 40;
  const posts = 2000;
  console.log(`metrics: flat reads of ${readers} timelines, ${rounds} alternating rounds of ${duration} s at ${connections} connections`);
  const s = await startServer({ metrics: true });
  const load = new Load();
  const others: { close(): Promise<void> }[] = [];
  try {
    // Reader r's timeline follows 25 of the authors; the authors post round robin.
    const pairs = function* (): Generator<[string, string]> {
      for (let r = 0; r < readers; r++) for (let k = 0; k < 25; k++) yield [`timeline:r${r}`, `user:a${(r + k * 3) % authors}`];
    };
    await load.batch(s.base, followRequests(s, pairs()).requests, { concurrency: 2 });
    const writes = Array.from({ length: posts }, (_, i) =>
      api('POST', `feed/user/a${i % authors}/`, s.serverToken, { actor: `SU:a${i % authors}`, verb: 'post', object: `post:${i}`, foreign_id: `post:${i}`, text: `post number ${i} about rivers and feeds`, popularity: i % 100 }),
    );
    await load.batch(s.base, writes, { concurrency: 8 });
    while ((await s.rivulet.store.ports.intents.pendingCount()) > 0) await new Promise((r) => setTimeout(r, 10));
    const requests = Array.from({ length: readers }, (_, r) => api('GET', `feed/timeline/r${r}/?limit=25`, s.userToken(`r${r}`)));

    const servers = {
      cached_on: { base: s.base, rivulet: s.rivulet },
      cached_off: await secondServer(s, 64, { metrics: false }),
      uncached_on: await secondServer(s, 0, { metrics: true }),
      uncached_off: await secondServer(s, 0, { metrics: false }),
    };
    others.push(servers.cached_off, servers.uncached_on, servers.uncached_off);
    const runs: Record<keyof typeof servers, CannonResult[]> = { cached_on: [], cached_off: [], uncached_on: [], uncached_off: [] };
    /** Main-thread CPU µs per response of each run. */
    const cpu: Record<keyof typeof servers, number[]> = { cached_on: [], cached_off: [], uncached_on: [], uncached_off: [] };
    for (const base of Object.values(servers)) await load.cannon(base.base, requests, connections, 1); // warm: JIT, caches
    for (let round = 0; round < rounds; round++) {
      // Alternate which of the pair goes first, so a drift of the machine's speed hits both alike.
      const order: (keyof typeof servers)[][] = round % 2 === 0 ? [['cached_on', 'cached_off'], ['uncached_on', 'uncached_off']] : [['cached_off', 'cached_on'], ['uncached_off', 'uncached_on']];
      for (const pair of order) {
        for (const name of pair) {
          const c0 = mainThreadCpuMs();
          const r = await load.cannon(servers[name].base, requests, connections, duration);
          const c1 = mainThreadCpuMs();
          runs[name].push(r);
          const perRequestUs = c0 !== null && c1 !== null ? ((c1 - c0) * 1000) / Math.max(1, r.responses_2xx) : NaN;
          cpu[name].push(perRequestUs);
          console.log(
            `  round ${round + 1} ${name}: ${Math.round(r.requests_per_s)} req/s, p50 ${r.latency_ms.p50.toFixed(2)} ms, p99 ${r.latency_ms.p99.toFixed(2)} ms, ${perRequestUs.toFixed(1)} µs CPU per read`,
          );
        }
      }
    }
    const summary = (name: keyof typeof servers) => ({
      median_cpu_us_per_read: Math.round(median(cpu[name]) * 10) / 10,
      requests_per_s: runs[name].map((r) => Math.round(r.requests_per_s)),
      median_requests_per_s: Math.round(median(runs[name].map((r) => r.requests_per_s))),
      median_p50_ms: Math.round(median(runs[name].map((r) => r.latency_ms.p50)) * 1000) / 1000,
      median_p99_ms: Math.round(median(runs[name].map((r) => r.latency_ms.p99)) * 1000) / 1000,
    });
    const out = Object.fromEntries((Object.keys(servers) as (keyof typeof servers)[]).map((k) => [k, summary(k)])) as Record<keyof typeof servers, ReturnType<typeof summary>>;
    // Per round, on ÷ off of the same round: their median is the figure, their spread the noise.
    const perRound = (on: keyof typeof servers, off: keyof typeof servers) => runs[on].map((r, i) => Math.round((r.requests_per_s / runs[off][i].requests_per_s) * 1000) / 1000);
    const spread = (xs: number[]) => {
      const rs = [...xs].sort((a, b) => a - b);
      const q = (p: number) => rs[Math.min(rs.length - 1, Math.floor(p * rs.length))];
      return { median: median(rs), quartiles: [q(0.25), q(0.75)], min: rs[0], max: rs[rs.length - 1] };
    };
    const ratio = (on: keyof typeof servers, off: keyof typeof servers) => spread(perRound(on, off));
    // CPU per read, on ÷ off of the same round: the cost of metrics per request, little moved by other load.
    const cpuRatio = (on: keyof typeof servers, off: keyof typeof servers) =>
      spread(cpu[on].map((c, i) => Math.round((c / cpu[off][i]) * 1000) / 1000).filter((x) => Number.isFinite(x)));
    const scrapes: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const res = await fetch(`${s.base}/metrics`);
      await res.text();
      scrapes.push(performance.now() - t0);
    }
    const scrapeBytes = (await (await fetch(`${s.base}/metrics`)).text()).length;
    const recorder = await recorderCost();
    console.log(`  recording one request: ${recorder.ns_per_request} ns`);
    writeResult('metrics', {
      what: `25-item timeline reads of ${readers} readers (25 followed authors each, ${posts} posts), autocannon ${connections} connections, ${duration} s per run, ${rounds} alternating rounds; Rivulet with metrics on and off over the same data; on_vs_off = median over rounds of on ÷ off in the same round`,
      cached: {
        on: out.cached_on,
        off: out.cached_off,
        on_vs_off: ratio('cached_on', 'cached_off'),
        cpu_per_read_on_vs_off: cpuRatio('cached_on', 'cached_off'),
        on_vs_off_per_round: perRound('cached_on', 'cached_off'),
      },
      uncached: {
        on: out.uncached_on,
        off: out.uncached_off,
        on_vs_off: ratio('uncached_on', 'uncached_off'),
        cpu_per_read_on_vs_off: cpuRatio('uncached_on', 'uncached_off'),
        on_vs_off_per_round: perRound('uncached_on', 'uncached_off'),
      },
      scrape: { median_ms: Math.round(median(scrapes) * 100) / 100, bytes: scrapeBytes },
      recorder,
    });
  } finally {
    for (const o of others) await o.close();
    await load.close();
    await s.close();
  }
}
