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
 * time); run base and changed trees back to back.
 *
 *   node --import tsx bench/writer-cpu.ts [--tree <dir>] [--graph slashdot] [--posts 5000] [--group 4]
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
const store = new SqliteStore(join(dir, 'db.sqlite'));
const db = store.database.db;
try {
  // The graph: timeline:u follows user:v for each edge u → v.
  const steps: unknown[] = [];
  const t0 = Date.now() * 1000;
  for (let u = 0; u < g.nodes; u++) {
    for (const v of g.following(u)) steps.push({ follow: { source: `timeline:${g.label[u]}`, target: `user:${g.label[v]}`, createdUs: t0, grouped: false, since: null } });
  }
  for (let i = 0; i < steps.length; i += 5000) await store.ports.intents.commit(APP, steps.slice(i, i + 5000));
  const spreadOpts = { maxLengths: {}, defaultMaxLength: 1000, skipGroups: [], changes: false };
  /** Bytes this process passed to write() (Linux; 0 elsewhere). */
  const written = (): number => {
    try {
      return Number(/^wchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? 0);
    } catch {
      return 0;
    }
  };
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
      wall_inserts_per_s: Math.round(w.deliveries / (wall / 1000)),
      entries: count('entries'),
      recent_entries: count('recent_entries'),
    }),
  );
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
