/**
 * A small, fixed uncached-read workload for counting what one page build costs, in instructions
 * (under `valgrind --tool=callgrind`, which counts them whatever the machine's load) or in process
 * CPU time. Standalone (not a suite scenario): it loads no dataset and takes seconds, so it can run
 * under valgrind and against other trees.
 *
 *   node --import tsx bench/read-instr.ts [--kind flat|enriched] [--reads N] [--warm N] [--tree DIR]
 *
 * The data: 40 authors (`SU:` users with a profile) post 30 activities each about collection objects
 * (`SO:`), one at a time in a fixed order; 40 readers' timelines each follow 25 authors; the newest
 * 600 activities get 0–3 likes and sometimes a comment by readers (a fixed pattern, no randomness).
 * The read cache is off (`read_cache.max_mb: 0`, or `--cache-mb N`: cached reads, what a read costs
 * around its page build); the parts pages share stay on unless `--parts-mb 0`.
 * Then `--warm` reads (default 2,000: the JIT settles) and `--reads` measured reads (default 2,000),
 * readers in turn, through Fastify's `inject`, the event loop turning between reads as in `read-cpu`.
 *
 * Under callgrind, start with `--instr-atstart=no` and pass `--callgrind`: the script switches
 * instrumentation on (`callgrind_control -i on`) just before the measured reads and off right after,
 * so the file's total is the measured reads alone (plus one toggle, the same in every tree):
 *
 *   valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/tmp/x.out \
 *     node --import tsx bench/read-instr.ts --callgrind --reads 300 --warm 1500
 *   callgrind_annotate /tmp/x.out | head   # "PROGRAM TOTALS" ÷ reads
 *
 * `--idle-ms N` measures N ms of the server doing nothing instead (timers, background rounds): what
 * a window costs per second of wall time whatever is read.
 * `--http` sends the measured reads over loopback HTTP from a child process instead (see {@link overHttp}).
 * Without `--callgrind` it prints the process CPU (user + system) per measured read.
 * `--tree DIR` runs the same workload against another checkout's `src/` (its `bench/harness.ts`).
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
};
const flag = (name: string) => process.argv.includes(`--${name}`);

const tree = resolve(arg('tree', new URL('..', import.meta.url).pathname));
const kind = arg('kind', 'flat');
const reads = Number(arg('reads', '2000'));
const warm = Number(arg('warm', '2000'));
const partsMb = arg('parts-mb', '');
const AUTHORS = 40;
const POSTS_EACH = 30;
const READERS = 40;
const FOLLOWS = 25;
const ENRICH_FLAGS = 'withRecentReactions=true&withOwnReactions=true&withReactionCounts=true';

type Harness = typeof import('./harness.js');
const h = (await import(`${tree}/bench/harness.ts`)) as Harness;

const turn = () => new Promise<void>((done) => setImmediate(done));

/** Runs `callgrind_control -i on|off` on this process, waking every millisecond while it waits (valgrind takes commands only while the program runs). */
async function instrument(on: boolean): Promise<void> {
  const child = spawn('callgrind_control', ['-i', on ? 'on' : 'off', String(process.pid)], { stdio: 'ignore' });
  let done = false;
  child.on('exit', () => (done = true));
  while (!done) await new Promise((r) => setTimeout(r, 1));
}

/**
 * `count` reads over loopback HTTP (keep-alive, 4 in flight), sent by a child process (not traced
 * by valgrind, which follows no children by default), so what is counted is the server's side of
 * real requests: the socket writes too, which `inject` does not make.
 */
async function overHttp(base: string, reqs: readonly { path: string; headers: Record<string, string> }[], count: number): Promise<void> {
  const client = `
    const http = require('node:http');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    const reqs = JSON.parse(process.env.REQS);
    let next = 0, done = 0;
    const one = () => {
      if (next >= ${count}) return;
      const r = reqs[next++ % reqs.length];
      http.get(process.env.BASE + r.path, { agent, headers: r.headers }, (res) => {
        if (res.statusCode !== 200) { console.error(res.statusCode); process.exit(1); }
        res.resume();
        res.on('end', () => { if (++done === ${count}) { agent.destroy(); } else one(); });
      });
    };
    for (let i = 0; i < 4; i++) one();`;
  const child = spawn(process.execPath, ['-e', client], { stdio: 'inherit', env: { ...process.env, NODE_OPTIONS: '', BASE: base, REQS: JSON.stringify(reqs) } });
  const code = await new Promise<number | null>((done) => child.on('exit', done));
  if (code !== 0) throw new Error(`HTTP client exited with ${code}`);
}

// `--layout JSON`: a tree with runs of recent entries keeps them so (`RunLayout`, e.g. many live
// runs); it and `--inline` apply the writes on the main thread (RIVULET_SQLITE_WRITER=inline), so
// that the layout set here is the writer's.
const layout = arg('layout', '');
if (layout !== '' || flag('inline')) process.env.RIVULET_SQLITE_WRITER = 'inline';
const s = await h.startServer({ readCacheMb: Number(arg('cache-mb', '0')), partsMb: partsMb === '' ? undefined : Number(partsMb) });
try {
  if (layout !== '') {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const t = (s.rivulet.store as any).ports.timelines;
    if (typeof t.setLayout !== 'function') throw new Error(`--layout: the tree ${tree} keeps no runs of recent entries`);
    t.setLayout(JSON.parse(layout));
  }
  const http = s.rivulet.http;
  const send = async (r: ReturnType<Harness['api']>) => {
    const res = await http.inject({ method: r.method, url: r.path, headers: { ...r.headers, 'content-type': 'application/json' }, payload: r.body });
    if (res.statusCode >= 300) throw new Error(`${r.path}: ${res.statusCode} ${res.body.slice(0, 200)}`);
    return res;
  };
  const author = (a: number) => `a${a}`;
  const reader = (r: number) => `r${r}`;
  const follows: [string, string][] = [];
  for (let r = 0; r < READERS; r++) for (let k = 0; k < FOLLOWS; k++) follows.push([`timeline:${reader(r)}`, `user:${author((r + k * 3) % AUTHORS)}`]);
  for (const req of h.followRequests(s, follows).requests) await send(req);
  const users = [...Array.from({ length: AUTHORS }, (_, a) => author(a)), ...Array.from({ length: READERS }, (_, r) => reader(r))];
  await send(h.api('POST', 'users/', s.serverToken, { users: users.map((id) => ({ id, data: { name: `User ${id}`, avatar: `https://example.com/a/${id}.png`, bio: 'Wikipedia editor' } })) }));
  const ids: string[] = [];
  const n = AUTHORS * POSTS_EACH;
  const objects = Array.from({ length: n }, (_, i) => ({ id: `p${i}`, title: `Post ${i}`, url: `https://example.com/p/${i}`, width: 640, height: 480 }));
  for (let i = 0; i < n; i += 1000) await send(h.api('POST', 'collections/', s.serverToken, { data: { post: objects.slice(i, i + 1000) } }));
  for (let i = 0; i < n; i++) {
    const a = i % AUTHORS;
    const body = { actor: `SU:${author(a)}`, verb: 'post', object: `SO:post:p${i}`, foreign_id: `post:p${i}`, text: `post number ${i} by ${author(a)} about the river and the stream today`, popularity: 1 + (i % 97) };
    const res = await send(h.api('POST', `feed/user/${author(a)}/`, s.serverToken, body));
    ids.push((JSON.parse(res.body) as { id: string }).id);
  }
  for (let i = n - 600; i < n; i++) {
    for (let k = 0; k < i % 4; k++) await send(h.api('POST', 'reaction/', s.serverToken, { kind: 'like', activity_id: ids[i], user_id: reader((i + k * 7) % READERS) }));
    if (i % 5 === 0) await send(h.api('POST', 'reaction/', s.serverToken, { kind: 'comment', activity_id: ids[i], user_id: reader((i * 3) % READERS), data: { text: 'nice one, thanks for sharing' } }));
  }
  await h.outboxEmpty(s);
  const runs = (s.rivulet.store as { database?: { db: { prepare(q: string): { pluck(): { get(): unknown } } } } }).database?.db;
  const liveRuns = (() => {
    try {
      return runs?.prepare('SELECT count(*) FROM recent_runs').pluck().get() ?? null;
    } catch {
      return null;
    }
  })();
  const path = (u: string) => (kind === 'enriched' ? `enrich/feed/timeline/${u}/?limit=25&${ENRICH_FLAGS}` : `feed/timeline/${u}/?limit=25`);
  const reqs = Array.from({ length: READERS }, (_, r) => h.api('GET', path(reader(r)), s.userToken(reader(r))));
  let bytes = 0;
  const loop = async (count: number) => {
    for (let i = 0; i < count; i++) {
      const res = await send(reqs[i % reqs.length]);
      bytes += res.rawPayload.length;
      await turn();
    }
  };
  await loop(warm);
  if (flag('http')) await overHttp(s.base, reqs, Math.ceil(warm / 2));
  await new Promise((done) => setTimeout(done, 200));
  bytes = 0;
  if (flag('callgrind')) await instrument(true);
  const c0 = process.cpuUsage();
  const w0 = process.hrtime.bigint() / 1000n;
  const idleMs = Number(arg('idle-ms', '0'));
  if (idleMs > 0) await new Promise((done) => setTimeout(done, idleMs));
  else if (flag('http')) await overHttp(s.base, reqs, reads);
  else await loop(reads);
  const c = process.cpuUsage(c0);
  // The measured window on the clock of \`--cpu-prof\` profiles (µs), for \`profile-summary.ts --window\`.
  const window = `${w0},${process.hrtime.bigint() / 1000n}`;
  if (flag('callgrind')) await instrument(false);
  console.log(JSON.stringify({ tree, kind, reads, warm, cpu_us_per_read: Math.round(((c.user + c.system) / reads) * 10) / 10, live_runs: liveRuns, mean_bytes: Math.round(bytes / reads), window }));
} finally {
  await s.close();
}
