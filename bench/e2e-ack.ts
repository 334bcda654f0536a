/**
 * The end-to-end fan-out alone, several runs on one server: a graph (`--graph`, default wiki-Vote)
 * loaded through the API with the default settings (fan-outs of up to `inline_max_followers`
 * followers applied before the post is answered), then `--reps` (default 3) runs of the same
 * `--activities` (default 5,000) posts (`--concurrency`, default 8, in flight; seed 42 authors, a
 * new seed of bodies per run), each until the outbox is empty. Prints, per run, the follower-feed
 * inserts per second from the first post until the outbox is empty (as `fanout-throughput`'s
 * `end_to_end`), the acknowledgement p50/p90/p99, the CPU of each busy thread, and where the store
 * has a writer thread the commits it made (all, and those that waited for fsync) per second.
 * The first run is on a fresh server, as the suite's; later runs on a warm one.
 *
 *   node --import tsx bench/e2e-ack.ts [--tree <dir>] [--reps 3] [--graph slashdot]   (run from inside <dir>)
 *
 * Nothing is written; take the figures of back-to-back runs only.
 */
import { resolve } from 'node:path';
import { busiestThreads, option, percentile, threadCpu } from './thread-cpu.js';

const args = process.argv.slice(2);
const opt = (name: string) => option(args, name);
const tree = resolve(opt('tree') ?? resolve(import.meta.dirname, '..'));
const reps = Number(opt('reps') ?? 3);
const concurrency = Number(opt('concurrency') ?? 8);
const n = Number(opt('activities') ?? 5000);

/* eslint-disable @typescript-eslint/no-explicit-any */
const h: any = await import(`${tree}/bench/harness.ts`);
const gr: any = await import(`${tree}/bench/graph.ts`);
const { Load }: any = await import(`${tree}/bench/load.ts`);

const g = gr.loadGraph(opt('graph') ?? 'wiki-vote');
const w = gr.drawWorkload(g, n, 42);
const s = await h.startServer({});
const load = new Load();
try {
  await h.loadGraphThroughApi(s, load, g);
  const writer: { commits: Int32Array } | null = (s.rivulet.store as any).writerThread ?? null;
  for (let r = 0; r < reps; r++) {
    const c0 = writer ? [Atomics.load(writer.commits, 0), Atomics.load(writer.commits, 1)] : null;
    const threads0 = threadCpu();
    const from = process.hrtime.bigint() / 1000n;
    const res = await load.batch(s.base, h.postRequests(s, g, w.authors, new gr.Rng(43 + r)), { concurrency });
    const done = await h.outboxEmpty(s);
    const ms = done - res.t0;
    const threads = busiestThreads(threads0);
    const to = process.hrtime.bigint() / 1000n;
    const v = [...(res.ms as number[])].sort((a, b) => a - b);
    const p = (q: number) => percentile(v, q);
    const commits = writer && c0 ? Atomics.load(writer.commits, 0) - c0[0] : null;
    const durable = writer && c0 ? Atomics.load(writer.commits, 1) - c0[1] : null;
    console.log(
      JSON.stringify({
        tree: tree.split('/').pop(),
        graph: g.title,
        run: r + 1,
        inserts_per_s: Math.round(w.deliveries / (ms / 1000)),
        all_applied_ms: Math.round(ms),
        posts_ms: Math.round(res.t1 - res.t0),
        ack_ms: { p50: p(50), p90: p(90), p99: p(99) },
        threads_cpu_ms: threads.join(' '),
        ...(commits !== null ? { commits, durable_commits: durable, commits_per_s: Math.round(commits / (ms / 1000)), commits_per_post: Math.round((commits / n) * 100) / 100 } : {}),
        window_us: `${from},${to}`,
      }),
    );
  }
} finally {
  await load.close();
  await s.close();
}
