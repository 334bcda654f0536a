/**
 * `npm run bench -- workers`: does `rivulet serve --workers 2` raise read throughput over one
 * process on this machine? The flat 25-item timeline read at 50 connections (as in the suite's
 * `reads`), against `rivulet serve --workers 1` and `--workers 2` started as real processes from
 * the sources, over one data directory written once beforehand.
 *
 * The load generator (autocannon in a worker thread of this process) needs CPU too: on a 2-core
 * machine it competes with the HTTP processes, so the figures show what the server gets with one
 * core's worth of load generation beside it, not a ceiling. The modes alternate over two
 * rounds (2), so drift of the machine falls on both; the best round of each is compared. Each
 * run also records the cores busy on average: the server's processes (from /proc) and this
 * process, the load generator.
 *
 * Options: --duration S (seconds per measured run, default 10), --connections N (default 50),
 * --readers N (timelines read in turn, default 100).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_KEY, APP_ID, FOLLOW_BATCH, api, intOption, jwt, log, round } from './harness.js';
import { Load, type CannonResult, type HttpReq } from './load.js';
import { writeResult } from './report.js';
import { freePort } from '../test/support/process.js';

const AUTHORS = 200;
const FOLLOWS_PER_READER = 30;
const POSTS_PER_AUTHOR = 10;
/** Each mode is measured this many times, alternating. */
const ROUNDS = 2;

/** Starts `rivulet serve --workers <n>` from the sources; resolves once every HTTP process listens (credentials printed). */
async function startServe(dir: string, configFile: string, workers: number): Promise<{ child: ChildProcess; base: string }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, '..', 'src', 'cli', 'entry.ts'), 'serve', '--workers', String(workers), '--port', String(port), '--data', dir, '--config', configFile],
    { env: { ...process.env, RIVULET_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const deadline = Date.now() + 60_000;
  while (!/client: /.test(out)) {
    if (child.exitCode !== null) throw new Error(`rivulet exited: ${err}`);
    if (Date.now() > deadline) throw new Error(`rivulet did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, base: `http://127.0.0.1:${port}` };
}

function stopServe(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/**
 * CPU seconds used so far by a process and its direct children, from Linux's /proc (utime and
 * stime, in clock ticks of 1/100 s); null where /proc is not there.
 */
function treeCpuSeconds(pid: number): number | null {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    let ticks = 0;
    for (const p of [pid, ...children]) {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    }
    return ticks / 100;
  } catch {
    return null;
  }
}

function roundCannon(c: CannonResult) {
  return {
    requests_per_s: Math.round(c.requests_per_s),
    latency_ms: { p50: round(c.latency_ms.p50, 3), p90: round(c.latency_ms.p90, 3), p99: round(c.latency_ms.p99, 3), max: round(c.latency_ms.max, 3) },
    responses_2xx: c.responses_2xx,
    bytes_per_response: Math.round(c.bytes_per_response),
  };
}

export async function workers(): Promise<void> {
  const duration = intOption('duration', 10);
  const connections = intOption('connections', 50);
  const readerCount = intOption('readers', 100);
  const dir = mkdtempSync(join(tmpdir(), 'rivulet-bench-workers-'));
  const secret = randomBytes(24).toString('base64url');
  const configFile = join(dir, 'config.json');
  writeFileSync(
    configFile,
    JSON.stringify({ apps: [{ app_id: APP_ID, api_key: API_KEY, api_secret: secret, feed_groups: [{ name: 'user', type: 'flat' }, { name: 'timeline', type: 'flat' }] }] }),
  );
  const serverToken = jwt(secret, { resource: '*', action: '*', feed_id: '*' });
  const load = new Load();
  try {
    // The data, written once through one process: readers' timelines each follow 30 of 200
    // authors (a fixed stride, no randomness), and every author posts 10 activities.
    log(`workers: ${readerCount} readers following ${FOLLOWS_PER_READER} of ${AUTHORS} authors, ${AUTHORS * POSTS_PER_AUTHOR} posts`);
    const seed = await startServe(dir, configFile, 1);
    try {
      const follows: string[] = [];
      for (let r = 0; r < readerCount; r++) {
        for (let k = 0; k < FOLLOWS_PER_READER; k++) follows.push(JSON.stringify({ source: `timeline:r${r}`, target: `user:a${(r * 7 + k * 13) % AUTHORS}` }));
      }
      const followBatches: HttpReq[] = [];
      for (let i = 0; i < follows.length; i += FOLLOW_BATCH) {
        followBatches.push(api('POST', 'follow_many/?activity_copy_limit=0', serverToken, `[${follows.slice(i, i + FOLLOW_BATCH).join(',')}]`));
      }
      await load.batch(seed.base, followBatches);
      const posts: HttpReq[] = [];
      for (let p = 0; p < POSTS_PER_AUTHOR; p++) {
        for (let a = 0; a < AUTHORS; a++) {
          posts.push(api('POST', `feed/user/a${a}/`, serverToken, { actor: `SU:a${a}`, verb: 'post', object: `post:${a}-${p}`, text: `post ${p} by author ${a}`, tags: ['bench'] }));
        }
      }
      await load.batch(seed.base, posts, { concurrency: 4 });
    } finally {
      await stopServe(seed.child);
    }

    const reads = Array.from({ length: readerCount }, (_, r) => api('GET', `feed/timeline/r${r}/?limit=25`, jwt(secret, { user_id: `r${r}` })));
    const runs: { workers: number; round: number; result: ReturnType<typeof roundCannon>; cpu: { server_cores: number | null; load_generator_cores: number } }[] = [];
    for (let pass = 1; pass <= ROUNDS; pass++) {
      for (const n of [1, 2]) {
        const s = await startServe(dir, configFile, n);
        try {
          await load.cannon(s.base, reads, connections, 2); // warm-up: JIT, page cache, connections
          const server0 = treeCpuSeconds(s.child.pid!);
          const self0 = process.cpuUsage();
          const result = roundCannon(await load.cannon(s.base, reads, connections, duration));
          const self = process.cpuUsage(self0);
          const server1 = treeCpuSeconds(s.child.pid!);
          // Cores busy on average during the run: the server's processes, and this process (the load generator).
          const cpu = {
            server_cores: server0 === null || server1 === null ? null : round((server1 - server0) / duration),
            load_generator_cores: round((self.user + self.system) / 1e6 / duration),
          };
          log(`  round ${pass}, ${n} HTTP process${n > 1 ? 'es' : ''}: ${result.requests_per_s} req/s, p50 ${result.latency_ms.p50} ms, p99 ${result.latency_ms.p99} ms; cores: server ${cpu.server_cores}, load ${cpu.load_generator_cores}`);
          runs.push({ workers: n, round: pass, result, cpu });
        } finally {
          await stopServe(s.child);
        }
      }
    }
    const best = (n: number) => runs.filter((r) => r.workers === n).reduce((a, b) => (b.result.requests_per_s > a.result.requests_per_s ? b : a));
    const one = best(1);
    const two = best(2);
    writeResult('workers', {
      what: `flat 25-item timeline reads (user tokens, ${readerCount} readers in turn) at ${connections} connections, ${duration} s per run, against \`rivulet serve --workers 1\` and \`--workers 2\` on the same data; the load generator runs on the same machine`,
      cpus: cpus().length,
      connections,
      duration_s: duration,
      readers: readerCount,
      runs,
      one_process: one,
      two_processes: two,
      two_vs_one: round(two.result.requests_per_s / one.result.requests_per_s, 3),
    });
  } finally {
    await load.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
