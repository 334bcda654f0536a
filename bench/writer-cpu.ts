/**
 * The SQLite writer's cost of end-to-end posting without HTTP or threads: a graph's follow edges
 * written into a fresh file store, then `--posts` (default 5,000) posts, each its step (the
 * activity upserted, its own entry) and its spread to the author's followers handed over in one
 * turn as the write path does (`TimelineStore.spread`), `--group` (default 4) posts per group
 * commit (the commits per post the end-to-end bench measures at 8 posts in flight), with the
 * writer's merge of recent entries run between commits as the store runs it. Prints the process
 * CPU (user and system: system time is where the WAL writes, fsyncs and checkpoints show), the
 * wall time, the WAL frames written per insert, and the table sizes at the end.
 *
 * CPU per insert is the figure to compare (it moves far less with the machine's load than wall
 * time); run base and changed trees back to back. `bytes_written_per_insert` (the process's
 * `write()` bytes: WAL frames and checkpoint copies) does not depend on the load at all;
 * `pages_written_per_insert` is that over the page size.
 *
 * The posting run leaves recent entries not merged yet (a tree with runs leaves more: its final
 * merge waits for large runs). `settle` figures add what merging all of them into `entries`
 * costs afterwards (`mergeAll`, in the same process), so trees that defer that work differently
 * compare by `settled_*`. `--layout '{"sealRows":4000,...}'` sets a tree's run layout (trees with
 * the runs of `bench/results/fanout-layout-2026-12-06c/runs-layout.patch` only: `RunLayout`).
 *
 * `--writer inline` applies the writes on the main thread (as `:memory:` stores and
 * `RIVULET_SQLITE_WRITER=inline` do; `--layout` implies it), which also shows the CPU of the
 * writer's steps between commits (`merge_cpu_us_per_insert`).
 *
 *   node --import tsx bench/writer-cpu.ts [--tree <dir>] [--graph slashdot] [--posts 5000] [--group 4] [--writer inline] [--layout JSON]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { option } from './thread-cpu.js';

const args = process.argv.slice(2);
const tree = resolve(option(args, 'tree') ?? resolve(import.meta.dirname, '..'));
const posts = Number(option(args, 'posts') ?? 5000);
const group = Number(option(args, 'group') ?? 4);

/* eslint-disable @typescript-eslint/no-explicit-any */
const gr: any = await import(`${tree}/bench/graph.ts`);
const { SqliteStore }: any = await import(`${tree}/src/adapters/sqlite/sqlite-store.ts`);
const { activityId }: any = await import(`${tree}/src/core/activities/activity-id.ts`);

const APP = 'app';
const g = gr.loadGraph(option(args, 'graph') ?? 'wiki-vote');
const w = gr.drawWorkload(g, posts, 42);
const dir = mkdtempSync(join(tmpdir(), 'rivulet-writer-cpu-'));
/** Bytes this process passed to write() (Linux; 0 elsewhere). */
function written(): number {
  try {
    return Number(/^wchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}
const layout = option(args, 'layout');
// A layout is set on this thread's store: with it, the writes are applied here too.
const writer = layout !== undefined ? 'inline' : (option(args, 'writer') ?? 'thread');
const store = new SqliteStore(join(dir, 'db.sqlite'), { writer });
const db = store.database.db;
const pageSize = db.pragma('page_size', { simple: true }) as number;
if (layout !== undefined) {
  if (typeof store.ports.timelines.setLayout !== 'function') {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`--layout: the tree ${tree} keeps no runs of recent entries`);
  }
  store.ports.timelines.setLayout(JSON.parse(layout));
}
// The CPU of the writer's steps between commits (the merge of recent entries; inline only).
const timelines = store.ports.timelines;
const step = timelines.mergeStep.bind(timelines);
let stepCpu = 0;
let stepBytes = 0;
let mergeSteps = 0;
timelines.mergeStep = (...a: unknown[]) => {
  const c = process.cpuUsage();
  const b = written();
  try {
    return step(...a);
  } finally {
    const d = process.cpuUsage(c);
    stepCpu += d.user + d.system;
    stepBytes += written() - b;
    mergeSteps++;
  }
};
try {
  // The graph: timeline:u follows user:v for each edge u → v.
  const steps: unknown[] = [];
  const t0 = Date.now() * 1000;
  for (let u = 0; u < g.nodes; u++) {
    for (const v of g.following(u)) steps.push({ follow: { source: `timeline:${g.label[u]}`, target: `user:${g.label[v]}`, createdUs: t0, grouped: false, since: null } });
  }
  for (let i = 0; i < steps.length; i += 5000) await store.ports.intents.commit(APP, steps.slice(i, i + 5000));
  const spreadOpts = { maxLengths: {}, defaultMaxLength: 1000, skipGroups: [], changes: false };
  const w0 = written();
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const base = Date.now() * 1000;
  for (let i = 0; i < posts; i += group) {
    const turn: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(posts, i + group); j++) {
      const author = `user:${g.label[w.authors[j]]}`;
      const id = activityId(base + j * 1000, `p${j}`);
      const body = JSON.stringify({ id, actor: author, verb: 'post', object: `o:${j}`, foreign_id: '' });
      const activity = { id, timeUs: base + j * 1000, foreignId: '', to: [], body, home: author };
      turn.push(store.ports.intents.commit(APP, [{ activity }]));
      turn.push(store.ports.timelines.apply(APP, [{ kind: 'add', feed: author, entries: [{ id, origin: null }], maxLength: 1000 }], { changes: false }));
      turn.push(store.ports.timelines.spread(APP, author, [id], spreadOpts));
    }
    await Promise.all(turn);
    // The merge runs between group commits (setImmediate), as on the writer thread.
    await new Promise((r) => setImmediate(r));
  }
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - wall0;
  const bytes = written() - w0;
  const count = (t: string) => db.prepare(`SELECT count(*) FROM ${t}`).pluck().get() as number;
  const recentLeft = count('recent_entries');
  const runs = db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'recent_runs'").pluck().get() === 1 ? count('recent_runs') : null;
  const [postingStepCpu, postingSteps, postingStepBytes] = [stepCpu, mergeSteps, stepBytes];
  // Everything still recent merged into `entries`: the work the posting run deferred.
  const s0 = process.cpuUsage();
  const sw0 = written();
  store.ports.timelines.mergeAll();
  const settleCpu = process.cpuUsage(s0);
  const settleBytes = written() - sw0;
  const per = (x: number) => Math.round((x / w.deliveries) * 100) / 100;
  console.log(
    JSON.stringify({
      tree: tree.split('/').pop(),
      graph: g.title,
      posts,
      group,
      inserts: w.deliveries,
      cpu_us_per_insert: Math.round(((cpu.user + cpu.system) / w.deliveries) * 100) / 100,
      user_us_per_insert: Math.round((cpu.user / w.deliveries) * 100) / 100,
      system_us_per_insert: Math.round((cpu.system / w.deliveries) * 100) / 100,
      bytes_written_per_insert: Math.round(bytes / w.deliveries),
      pages_written_per_insert: Math.round((bytes / pageSize / w.deliveries) * 1000) / 1000,
      wall_inserts_per_s: Math.round(w.deliveries / (wall / 1000)),
      writer,
      merge_steps: writer === 'inline' ? postingSteps : null,
      merge_cpu_us_per_insert: writer === 'inline' ? per(postingStepCpu) : null,
      merge_pages_written_per_insert: writer === 'inline' ? Math.round((postingStepBytes / pageSize / w.deliveries) * 1000) / 1000 : null,
      recent_entries_left: recentLeft,
      runs_left: runs,
      settle_cpu_us_per_insert: per(settleCpu.user + settleCpu.system),
      settled_cpu_us_per_insert: per(cpu.user + cpu.system + settleCpu.user + settleCpu.system),
      settled_pages_written_per_insert: Math.round(((bytes + settleBytes) / pageSize / w.deliveries) * 1000) / 1000,
      page_size: pageSize,
      entries: count('entries'),
    }),
  );
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
