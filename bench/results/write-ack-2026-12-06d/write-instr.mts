/**
 * Main-thread (and writer-thread) cost of one write, counted: a small fixed workload (40 authors
 * with 30 posts each about collection objects, 40 readers following 25 each, likes and comments on
 * the newest posts), then `--writes` writes of one `--kind` (reaction: likes and comments by readers
 * on recent posts, as `mixed` sends them; post: a post by an author with ~25 followers), one at a
 * time, each after the last was answered and the event loop turned, then the work they left
 * behind (content jobs, learner rounds, queued fan-out) waited for. Through Fastify's `inject`, or
 * with `--http` from a child process over loopback keep-alive HTTP (one request in flight), so
 * that what is counted is the server's side of real requests.
 *
 *   node --import tsx write-instr.mts [--tree DIR] [--kind reaction|post] [--writes N] [--warm N] [--http] [--callgrind]
 *
 * Under `valgrind --tool=callgrind --instr-atstart=no --separate-threads=yes` with `--callgrind`,
 * instrumentation is switched on around the measured writes and the settling after them (the
 * totals per thread ÷ writes). Without it, it prints each thread's CPU per write (Linux schedstat):
 * the main thread, the busiest other (the SQLite writer), and the rest.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
};
const flag = (name: string) => process.argv.includes(`--${name}`);
const tree = resolve(arg('tree', process.cwd()));
const kind = arg('kind', 'reaction');
const writes = Number(arg('writes', '300'));
const warm = Number(arg('warm', '300'));
const AUTHORS = 40;
const POSTS_EACH = 30;
const READERS = 40;
const FOLLOWS = 25;

type Harness = typeof import('../../harness.js');
const h = (await import(`${tree}/bench/harness.ts`)) as Harness;
const turn = () => new Promise<void>((done) => setImmediate(done));

async function instrument(on: boolean): Promise<void> {
  const child = spawn('callgrind_control', ['-i', on ? 'on' : 'off', String(process.pid)], { stdio: 'ignore' });
  let done = false;
  child.on('exit', () => (done = true));
  while (!done) await new Promise((r) => setTimeout(r, 1));
}

/** CPU ns of each thread of this process (schedstat), by thread id. */
function threadCpu(): Map<number, number> {
  const out = new Map<number, number>();
  for (const t of readdirSync('/proc/self/task')) {
    try {
      out.set(Number(t), Number(readFileSync(`/proc/self/task/${t}/schedstat`, 'utf8').split(' ')[0]));
    } catch {
      /* gone */
    }
  }
  return out;
}

type Req = { method: string; path: string; headers: Record<string, string>; body?: string };

/** `reqs` over loopback HTTP from a child process, one in flight. */
async function overHttp(base: string, reqs: readonly Req[]): Promise<void> {
  const client = `
    const http = require('node:http');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const reqs = JSON.parse(require('node:fs').readFileSync(process.env.REQS, 'utf8'));
    let next = 0;
    const one = () => {
      if (next >= reqs.length) { agent.destroy(); return; }
      const r = reqs[next++];
      const req = http.request(process.env.BASE + r.path, { method: r.method, agent, headers: { ...r.headers, 'content-type': 'application/json' } }, (res) => {
        if (res.statusCode >= 300) { console.error(res.statusCode); process.exit(1); }
        res.resume();
        res.on('end', () => setImmediate(one));
      });
      req.end(r.body);
    };
    one();`;
  // The requests in a file (too large for the environment).
  const file = join(tmpdir(), `write-instr-${process.pid}.json`);
  writeFileSync(file, JSON.stringify(reqs));
  const child = spawn(process.execPath, ['-e', client], { stdio: 'inherit', env: { ...process.env, NODE_OPTIONS: '', BASE: base, REQS: file } });
  const code = await new Promise<number | null>((done) => child.on('exit', done));
  if (code !== 0) throw new Error(`HTTP client exited with ${code}`);
}

const s = await h.startServer({});
try {
  const http = s.rivulet.http;
  const send = async (r: Req) => {
    const res = await http.inject({ method: r.method as 'GET', url: r.path, headers: { ...r.headers, 'content-type': 'application/json' }, payload: r.body });
    if (res.statusCode >= 300) throw new Error(`${r.path}: ${res.statusCode} ${res.body.slice(0, 200)}`);
    return res;
  };
  const author = (a: number) => `a${a}`;
  const reader = (r: number) => `r${r}`;
  const follows: [string, string][] = [];
  for (let r = 0; r < READERS; r++) for (let k = 0; k < FOLLOWS; k++) follows.push([`timeline:${reader(r)}`, `user:${author((r + k * 3) % AUTHORS)}`]);
  for (const req of h.followRequests(s, follows).requests) await send(req);
  const users = [...Array.from({ length: AUTHORS }, (_, a) => author(a)), ...Array.from({ length: READERS }, (_, r) => reader(r))];
  await send(h.api('POST', 'users/', s.serverToken, { users: users.map((id) => ({ id, data: { name: `User ${id}`, avatar: `https://example.com/a/${id}.png` } })) }));
  const ids: string[] = [];
  const n = AUTHORS * POSTS_EACH;
  const objects = Array.from({ length: n + 4000 }, (_, i) => ({ id: `p${i}`, title: `Post ${i}`, url: `https://example.com/p/${i}` }));
  for (let i = 0; i < objects.length; i += 1000) await send(h.api('POST', 'collections/', s.serverToken, { data: { post: objects.slice(i, i + 1000) } }));
  const postBody = (i: number) => ({ actor: `SU:${author(i % AUTHORS)}`, verb: 'post', object: `SO:post:p${i}`, foreign_id: `post:p${i}`, text: `post number ${i} about the river and the stream today` });
  for (let i = 0; i < n; i++) ids.push((JSON.parse((await send(h.api('POST', `feed/user/${author(i % AUTHORS)}/`, s.serverToken, postBody(i)))).body) as { id: string }).id);
  for (let i = n - 600; i < n; i++) {
    for (let k = 0; k < i % 4; k++) await send(h.api('POST', 'reaction/', s.serverToken, { kind: 'like', activity_id: ids[i], user_id: reader((i + k * 7) % READERS) }));
  }
  await h.outboxEmpty(s);
  let next = n;
  const write = (i: number): Req => {
    if (kind === 'post') {
      const k = next++;
      return h.api('POST', `feed/user/${author(k % AUTHORS)}/`, s.userToken(author(k % AUTHORS)), postBody(k)) as Req;
    }
    const u = reader((i * 7) % READERS);
    const body = i % 4 === 3 ? { kind: 'comment', activity_id: ids[n - 1 - (i % 500)], data: { text: 'nice one, thanks for sharing' } } : { kind: 'like', activity_id: ids[n - 1 - (i % 500)] };
    return h.api('POST', 'reaction/', s.userToken(u), body) as Req;
  };
  const settle = async () => {
    await s.rivulet.signalWorker?.drainAll();
    await h.outboxEmpty(s);
    await new Promise((r) => setTimeout(r, 200));
    await s.rivulet.signalWorker?.drainAll();
  };
  const loop = async (from: number, count: number) => {
    if (flag('http')) return overHttp(s.base, Array.from({ length: count }, (_, i) => write(from + i)));
    for (let i = 0; i < count; i++) {
      await send(write(from + i));
      await turn();
    }
  };
  await loop(0, warm);
  await settle();
  if (flag('callgrind')) await instrument(true);
  // `--perf FILE`: the main thread sampled on CPU time during the measured writes (run node with --perf-basic-prof).
  const perfOut = arg('perf', '');
  const perf = perfOut === '' ? null : spawn('perf', ['record', '-e', 'task-clock', '-F', '2999', '-g', '-t', String(process.pid), '-o', perfOut], { stdio: 'ignore' });
  if (perf) await new Promise((r) => setTimeout(r, 500));
  const t0 = threadCpu();
  await loop(warm, writes);
  const t1 = threadCpu();
  if (perf) {
    perf.kill('SIGINT');
    await new Promise((r) => perf.on('exit', r));
  }
  await settle();
  const t2 = threadCpu();
  if (flag('callgrind')) await instrument(false);
  const per = (a: Map<number, number>, b: Map<number, number>) => {
    const d = [...b].map(([t, v]) => [t, (v - (a.get(t) ?? 0)) / 1000 / writes] as const);
    const main = d.find(([t]) => t === process.pid)?.[1] ?? 0;
    const others = d.filter(([t]) => t !== process.pid).sort((x, y) => y[1] - x[1]);
    const r = (x: number) => Math.round(x * 10) / 10;
    return { main_us: r(main), busiest_other_us: r(others[0]?.[1] ?? 0), rest_us: r(others.slice(1).reduce((x, [, v]) => x + v, 0)) };
  };
  console.log(JSON.stringify({ tree, kind, http: flag('http'), writes, warm, until_answered: per(t0, t1), with_settling: per(t0, t2) }));
} finally {
  await s.close();
}
