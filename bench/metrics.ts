/**
 * `npm run bench -- metrics`: what Prometheus metrics cost on the flat-read benchmark. Two Rivulets
 * over the same data, one with metrics on (the default) and one with `metrics.enabled: false`,
 * serve the same 25-item timeline reads of 100 readers (user tokens) to autocannon, in short
 * alternating runs (`--rounds`, default 12, of `--duration` s, default 2, at `--connections`,
 * default 50; the pair's order flips every round): with the read cache (each read answered from
 * memory: the request metrics are the only extra work) and without it (each read built: a few
 * timed store calls too). The figure is the median over the rounds of on ÷ off within a round, so a
 * machine whose speed drifts (it is shared) moves both sides of each ratio alike; the spread of
 * those ratios is the run's noise. Also the time a scrape of `/metrics` takes.
 */
import { api, option, secondServer, startServer, followRequests } from './harness.js';
import { Load, type CannonResult } from './load.js';
import { writeResult } from './report.js';

const int = (name: string, fallback: number) => {
  const v = option(name);
  return v === undefined ? fallback : Number(v);
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
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
    while ((await s.rivulet.store.pendingCount()) > 0) await new Promise((r) => setTimeout(r, 10));
    const requests = Array.from({ length: readers }, (_, r) => api('GET', `feed/timeline/r${r}/?limit=25`, s.userToken(`r${r}`)));

    const servers = {
      cached_on: { base: s.base, rivulet: s.rivulet },
      cached_off: await secondServer(s, 64, { metrics: false }),
      uncached_on: await secondServer(s, 0, { metrics: true }),
      uncached_off: await secondServer(s, 0, { metrics: false }),
    };
    others.push(servers.cached_off, servers.uncached_on, servers.uncached_off);
    const runs: Record<keyof typeof servers, CannonResult[]> = { cached_on: [], cached_off: [], uncached_on: [], uncached_off: [] };
    for (const base of Object.values(servers)) await load.cannon(base.base, requests, connections, 1); // warm: JIT, caches
    for (let round = 0; round < rounds; round++) {
      // Alternate which of the pair goes first, so a drift of the machine's speed hits both alike.
      const order: (keyof typeof servers)[][] = round % 2 === 0 ? [['cached_on', 'cached_off'], ['uncached_on', 'uncached_off']] : [['cached_off', 'cached_on'], ['uncached_off', 'uncached_on']];
      for (const pair of order) {
        for (const name of pair) {
          const r = await load.cannon(servers[name].base, requests, connections, duration);
          runs[name].push(r);
          console.log(`  round ${round + 1} ${name}: ${Math.round(r.requests_per_s)} req/s, p50 ${r.latency_ms.p50.toFixed(2)} ms, p99 ${r.latency_ms.p99.toFixed(2)} ms`);
        }
      }
    }
    const summary = (name: keyof typeof servers) => ({
      requests_per_s: runs[name].map((r) => Math.round(r.requests_per_s)),
      median_requests_per_s: Math.round(median(runs[name].map((r) => r.requests_per_s))),
      median_p50_ms: Math.round(median(runs[name].map((r) => r.latency_ms.p50)) * 1000) / 1000,
      median_p99_ms: Math.round(median(runs[name].map((r) => r.latency_ms.p99)) * 1000) / 1000,
    });
    const out = Object.fromEntries((Object.keys(servers) as (keyof typeof servers)[]).map((k) => [k, summary(k)])) as Record<keyof typeof servers, ReturnType<typeof summary>>;
    // Per round, on ÷ off of the same round: their median is the figure, their spread the noise.
    const perRound = (on: keyof typeof servers, off: keyof typeof servers) => runs[on].map((r, i) => Math.round((r.requests_per_s / runs[off][i].requests_per_s) * 1000) / 1000);
    const ratio = (on: keyof typeof servers, off: keyof typeof servers) => {
      const rs = perRound(on, off).sort((a, b) => a - b);
      const q = (p: number) => rs[Math.min(rs.length - 1, Math.floor(p * rs.length))];
      return { median: median(rs), quartiles: [q(0.25), q(0.75)], min: rs[0], max: rs[rs.length - 1] };
    };
    const scrapes: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const res = await fetch(`${s.base}/metrics`);
      await res.text();
      scrapes.push(performance.now() - t0);
    }
    const scrapeBytes = (await (await fetch(`${s.base}/metrics`)).text()).length;
    writeResult('metrics', {
      what: `25-item timeline reads of ${readers} readers (25 followed authors each, ${posts} posts), autocannon ${connections} connections, ${duration} s per run, ${rounds} alternating rounds; Rivulet with metrics on and off over the same data; on_vs_off = median over rounds of on ÷ off in the same round`,
      cached: { on: out.cached_on, off: out.cached_off, on_vs_off: ratio('cached_on', 'cached_off'), on_vs_off_per_round: perRound('cached_on', 'cached_off') },
      uncached: { on: out.uncached_on, off: out.uncached_off, on_vs_off: ratio('uncached_on', 'uncached_off'), on_vs_off_per_round: perRound('uncached_on', 'uncached_off') },
      scrape: { median_ms: Math.round(median(scrapes) * 100) / 100, bytes: scrapeBytes },
    });
  } finally {
    for (const o of others) await o.close();
    await load.close();
    await s.close();
  }
}
