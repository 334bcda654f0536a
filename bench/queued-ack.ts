/**
 * The queued post alone, several runs on one server: a graph (`--graph`, default wiki-Vote; or
 * `slashdot`) loaded through the API, the worker held, every fan-out queued
 * (`inline_max_followers` 0), then `--reps` (default 3) runs of the same `--activities` (default
 * 5,000) posts (8 in flight, seed 42 authors, a new seed of bodies per run). Prints, per run, the
 * acknowledgement p50/p90/p99, the posting time, the process's CPU time (every thread), and where
 * the store has a writer thread the commits it made. The first run starts on a fresh server (and a
 * fresh writer thread), the later ones on a warm one: `fanout-throughput` measures only the first
 * kind, on the third server of its process.
 *
 * With `--drain`, each run's queue is then drained by the worker (`drainAll`, as
 * `fanout-throughput`'s `queued` drain) before the next run: `drain` holds the follower-feed
 * inserts per second of the drain, its wall time, the process CPU per insert, the bytes read and
 * written per insert (`/proc/self/io`) and the busiest
 * threads' CPU during the drain.
 *
 * It reaches the measured tree only through its bench harness, so one copy of this script
 * measures an older tree too:
 *
 *   node --import tsx bench/queued-ack.ts [--tree <dir>] [--reps 3] [--graph slashdot] [--drain]   (run from inside <dir>)
 *
 * Nothing is written; take the figures of back-to-back runs only.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { busiestThreads, option, percentile, threadCpu } from './thread-cpu.js';

const args = process.argv.slice(2);
const opt = (name: string) => option(args, name);
const tree = resolve(opt('tree') ?? resolve(import.meta.dirname, '..'));
const reps = Number(opt('reps') ?? 3);
const n = Number(opt('activities') ?? 5000);
const drain = args.includes('--drain');

/** Bytes this process passed to read() and write() so far, sockets included (Linux; zeros elsewhere). */
function io(): { read: number; written: number } {
  try {
    const t = readFileSync('/proc/self/io', 'utf8');
    return { read: Number(/^rchar: (\d+)$/m.exec(t)?.[1] ?? 0), written: Number(/^wchar: (\d+)$/m.exec(t)?.[1] ?? 0) };
  } catch {
    return { read: 0, written: 0 };
  }
}

/* eslint-disable @typescript-eslint/no-explicit-any */
const h: any = await import(`${tree}/bench/harness.ts`);
const gr: any = await import(`${tree}/bench/graph.ts`);
const { Load }: any = await import(`${tree}/bench/load.ts`);

const g = gr.loadGraph(opt('graph') ?? 'wiki-vote');
const w = gr.drawWorkload(g, n, 42);
const s = await h.startServer({ fanout: { inline_max_followers: 0 }, worker: 'manual' });
const load = new Load();
try {
  await h.loadGraphThroughApi(s, load, g);
  await s.rivulet.worker.stop();
  // The writer thread's commit counters, where the store has one (shared memory, see WriterThread.commits).
  const writer: { commits: Int32Array } | null = (s.rivulet.store as any).writerThread ?? null;
  for (let r = 0; r < reps; r++) {
    const c0 = writer ? [Atomics.load(writer.commits, 0), Atomics.load(writer.commits, 1)] : null;
    const cpu0 = process.cpuUsage();
    const threads0 = threadCpu();
    const from = process.hrtime.bigint() / 1000n;
    const fromMs = Date.now();
    const res = await load.batch(s.base, h.postRequests(s, g, w.authors, new gr.Rng(43 + r)), { concurrency: 8 });
    const cpu = process.cpuUsage(cpu0);
    // The busiest threads' CPU in this run (ms, 10 ms ticks): the main thread, then the others by thread id
    // (the load generator starts before the writer thread, which starts at the first write).
    const threads = busiestThreads(threads0);
    const to = process.hrtime.bigint() / 1000n;
    const v = [...(res.ms as number[])].sort((a, b) => a - b);
    const p = (q: number) => percentile(v, q);
    const commits = writer && c0 ? { commits: Atomics.load(writer.commits, 0) - c0[0], durable_commits: Atomics.load(writer.commits, 1) - c0[1] } : {};
    let drained: object | undefined;
    if (drain) {
      const dcpu0 = process.cpuUsage();
      const dthreads0 = threadCpu();
      const io0 = io();
      const t0 = performance.now();
      await s.rivulet.worker.drainAll();
      const ms = performance.now() - t0;
      const dcpu = process.cpuUsage(dcpu0);
      const io1 = io();
      const dthreads = busiestThreads(dthreads0);
      // The busiest thread other than the main one: the SQLite writer's, where the store has one.
      const busiest = dthreads.find((t) => !t.startsWith('main:'));
      if ((await s.rivulet.store.ports.intents.pendingCount()) !== 0) throw new Error('queue not drained');
      drained = {
        inserts_per_s: Math.round(w.deliveries / (ms / 1000)),
        drain_ms: Math.round(ms),
        cpu_us_per_insert: Math.round(((dcpu.user + dcpu.system) / w.deliveries) * 100) / 100,
        system_us_per_insert: Math.round((dcpu.system / w.deliveries) * 100) / 100,
        // No HTTP runs during the drain: this is the database file's and the WAL's I/O (through the OS page cache).
        bytes_read_per_insert: Math.round((io1.read - io0.read) / w.deliveries),
        bytes_written_per_insert: Math.round((io1.written - io0.written) / w.deliveries),
        threads_cpu_ms: dthreads.join(' '),
        busiest_other_thread_us_per_insert: busiest ? Math.round((Number(busiest.split(':').pop()) * 1000 * 100) / w.deliveries) / 100 : null,
      };
    }
    console.log(
      JSON.stringify({
        tree: tree.split('/').pop(),
        graph: g.title,
        deliveries: w.deliveries,
        run: r + 1,
        ack_ms: { p50: p(50), p90: p(90), p99: p(99) },
        posts_ms: Math.round(res.t1 - res.t0),
        cpu_ms: Math.round((cpu.user + cpu.system) / 1000),
        threads_cpu_ms: threads.join(' '),
        // For bench/profile-summary.ts --window, with `node --cpu-prof`.
        window_us: `${from},${to}`,
        // Wall-clock (ms since the epoch), e.g. for `strace -ttt` of the fsync calls.
        wall_ms: `${fromMs},${Date.now()}`,
        ...commits,
        ...(drained ? { drain: drained } : {}),
      }),
    );
  }
} finally {
  await load.close();
  await s.close();
}
