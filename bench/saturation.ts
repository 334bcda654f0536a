/**
 * Where a request's time goes at saturation (issue 12's probe: 80% flat reads, 20% posts fanned
 * out inline), with the CPU of every thread of the process. The `mixed` scenario's setup (the
 * reads workload of a graph, `--graph`, default wiki-Vote; readers drawn by a Zipf law over all
 * users; posts by authors drawn ∝ followers), then per `--connections` value (default `50`; e.g.
 * `8,16,50`) after the background work of earlier writes is done: the reads alone, the mix, and
 * the posts alone on a fifth of the connections (the posts the mix has in flight), `--duration` s
 * each (default 10) after one second of warm-up. Per window: req/s and latency by method, posts/s
 * (activities written) and follower inserts/s, and the CPU (Linux per-thread counters, 10 ms
 * ticks) of the main thread (the server's event loop), the load generator's thread, the SQLite
 * writer's thread and the rest, each in cores (CPU ÷ wall) and in µs per request; the machine's
 * busy cores from `/proc/stat` (every process); the writer's commits; the event loop's
 * utilization. Threads are told apart by when they appeared: the load generator at `new Load()`,
 * the writer (and the other threads that start with the first writes) during the workload's load.
 *
 *   node --import tsx bench/saturation.ts [--tree <dir>] [--connections 8,16,50] [--duration 10] [--graph slashdot] [--parts mix,reads,posts]
 *
 * Prints one JSON line per window; nothing is written. Compare back-to-back runs only.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { option, threadCpu } from './thread-cpu.js';

const args = process.argv.slice(2);
const opt = (name: string) => option(args, name);
const tree = resolve(opt('tree') ?? resolve(import.meta.dirname, '..'));
const connectionsList = (opt('connections') ?? '50').split(',').map(Number);
const duration = Number(opt('duration') ?? 10);
const parts = new Set((opt('parts') ?? 'reads,mix,posts').split(','));

/* eslint-disable @typescript-eslint/no-explicit-any */
const h: any = await import(`${tree}/bench/harness.ts`);
const gr: any = await import(`${tree}/bench/graph.ts`);
const suite: any = await import(`${tree}/bench/suite.ts`);
const mixedMod: any = await import(`${tree}/bench/mixed.ts`);
const { Load }: any = await import(`${tree}/bench/load.ts`);

/** Busy and total jiffies of the whole machine (every process), from /proc/stat. */
function machine(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + (f[4] ?? 0);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const g = gr.loadGraph(opt('graph') ?? 'wiki-vote');
const seed = 42;
const n = 5000;

const atStart = new Set(threadCpu().keys());
const s = await h.startServer({});
const afterServer = new Set(threadCpu().keys());
const load = new Load();
await load.batch(s.base, [{ method: 'GET', path: '/healthz', headers: {} }], { concurrency: 1 });
const loadThreads = new Set([...threadCpu().keys()].filter((t) => !afterServer.has(t)));
try {
  const { posted } = await suite.buildReadWorkload(s, load, g, n, seed, 0);
  const w = gr.drawWorkload(g, n, seed);
  void posted;
  void w;
  void atStart;
  const label = (tid: string): string => (tid === String(process.pid) ? 'main' : loadThreads.has(tid) ? 'load' : 'other');

  const rng = new gr.Rng(seed + 3);
  const order = mixedMod.readerOrder(g, rng);
  const zipf = new gr.ZipfSampler(order.length, 1);
  const flatReqs = Array.from({ length: 2000 }, () => {
    const u = g.label[order[zipf.draw(rng)]];
    return h.api('GET', `feed/timeline/${u}/?limit=25`, s.userToken(u));
  });
  const OBJECTS = 1000;
  const objects = Array.from({ length: OBJECTS }, (_, k) => ({ id: `m${k}`, title: `Mixed post ${k}`, url: `https://example.com/m/${k}` }));
  await load.batch(s.base, [h.api('POST', 'collections/', s.serverToken, { data: { post: objects } })], { concurrency: 1 });
  const sampler = new gr.AuthorSampler(g);
  const wrng = new gr.Rng(seed + 4);
  let nextPost = 0;
  let followersSent = 0;
  let postsSent = 0;
  const post = () => {
    const author = sampler.draw(wrng);
    followersSent += g.inDegree(author);
    postsSent++;
    return h.api('POST', `feed/user/${g.label[author]}/`, s.serverToken, {
      actor: `SU:${g.label[author]}`,
      verb: 'post',
      object: `SO:post:m${nextPost++ % OBJECTS}`,
      text: 'written during the saturation probe',
      popularity: 1 + wrng.int(100),
    });
  };
  const mixReqs: unknown[] = [];
  for (let i = 0; i < flatReqs.length; i++) {
    mixReqs.push(flatReqs[i]);
    if (i % 4 === 3) mixReqs.push(post());
  }
  const postReqs = Array.from({ length: 2000 }, post);
  const meanFollowers = followersSent / postsSent;
  const writer: { commits: Int32Array } | null = (s.rivulet.store as any).writerThread ?? null;
  const countActivities = () => {
    const db = h.openDb(s.dbPath);
    try {
      return db.prepare('SELECT count(*) FROM activities').pluck().get() as number;
    } finally {
      db.close();
    }
  };
  const settle = async () => {
    await h.outboxEmpty(s);
    await s.rivulet.signalWorker?.drainAll();
  };

  for (const connections of connectionsList) {
    const windows: [string, unknown[], number][] = [];
    if (parts.has('reads')) windows.push(['reads', flatReqs, connections]);
    if (parts.has('mix')) windows.push(['mix', mixReqs, connections]);
    if (parts.has('posts')) windows.push(['posts', postReqs, Math.max(1, Math.round(connections / 5))]);
    for (const [kind, reqs, conns] of windows) {
      await settle();
      await load.cannon(s.base, reqs, conns, 1);
      const t0 = threadCpu();
      const m0 = machine();
      const c0 = writer ? [Atomics.load(writer.commits, 0), Atomics.load(writer.commits, 1)] : null;
      const a0 = countActivities();
      const elu0 = performance.eventLoopUtilization();
      const wall0 = performance.now();
      const r = await load.cannon(s.base, reqs, conns, duration);
      const wallMs = performance.now() - wall0;
      const elu = performance.eventLoopUtilization(elu0).utilization;
      const m1 = machine();
      const t1 = threadCpu();
      const commits = writer && c0 ? Atomics.load(writer.commits, 0) - c0[0] : null;
      const durable = writer && c0 ? Atomics.load(writer.commits, 1) - c0[1] : null;
      const busyBefore = performance.now();
      await settle();
      const settleMs = performance.now() - busyBefore;
      const posts = countActivities() - a0;
      const responses = r.responses_2xx + r.non2xx;
      // CPU ms of each thread in the window; the SQLite writer is the busiest thread that is neither
      // the main thread nor the load generator's, in a window with posts.
      const byThread: Record<string, number> = {};
      const groups: Record<string, number> = { main: 0, load: 0, other: 0 };
      for (const [tid, t] of t1) {
        const ms = t.ms - (t0.get(tid)?.ms ?? 0);
        if (ms <= 0) continue;
        const l = label(tid);
        byThread[l === 'main' ? 'main' : `${l}#${tid}`] = ms;
        groups[l] += ms;
      }
      const busiestWrite =
        posts > 0
          ? Object.entries(byThread)
              .filter(([l]) => l.startsWith('other#'))
              .sort((a, b) => b[1] - a[1])
              .map(([l, ms]) => [l, { ms }] as const)[0]
          : undefined;
      const processMs = Object.values(groups).reduce((a, b) => a + b, 0);
      console.log(
        JSON.stringify({
          tree: tree.split('/').pop(),
          graph: g.title,
          window: kind,
          connections: conns,
          duration_s: round(wallMs / 1000),
          requests_per_s: r.requests_per_s,
          latency_ms: r.latency_ms,
          by_method: r.by_method,
          non2xx: r.non2xx,
          errors: r.errors,
          posts_per_s: round(posts / (wallMs / 1000), 1),
          follower_inserts_per_s: Math.round((posts / (wallMs / 1000)) * meanFollowers),
          mean_followers_per_post: round(meanFollowers, 1),
          cores: {
            machine: round(((m1.busy - m0.busy) / (m1.total - m0.total)) * 2, 2),
            process: round(processMs / wallMs, 2),
            main: round(groups.main / wallMs, 2),
            load_generator: round(groups.load / wallMs, 2),
            writer_thread: busiestWrite ? round(busiestWrite[1].ms / wallMs, 2) : null,
            others: round((groups.other - (busiestWrite?.[1].ms ?? 0)) / wallMs, 2),
          },
          cpu_us_per_request: {
            process: round((processMs * 1000) / responses, 1),
            main: round((groups.main * 1000) / responses, 1),
            load_generator: round((groups.load * 1000) / responses, 1),
            writer_thread: busiestWrite ? round((busiestWrite[1].ms * 1000) / responses, 1) : null,
          },
          writer_thread_us_per_post: busiestWrite && posts > 0 ? Math.round((busiestWrite[1].ms * 1000) / posts) : null,
          writer_thread_us_per_insert: busiestWrite && posts > 0 ? round((busiestWrite[1].ms * 1000) / (posts * meanFollowers), 2) : null,
          event_loop_utilization: round(elu, 3),
          commits_per_s: commits === null ? null : round(commits / (wallMs / 1000), 1),
          durable_commits_per_s: durable === null ? null : round(durable / (wallMs / 1000), 1),
          posts_per_commit: commits ? round(posts / commits, 2) : null,
          settle_after_ms: Math.round(settleMs),
          writer_thread: busiestWrite?.[0] ?? null,
          threads_ms: Object.fromEntries(Object.entries(byThread).filter(([, v]) => v >= 50)),
        }),
      );
    }
  }
} finally {
  await load.close();
  await s.close();
}
