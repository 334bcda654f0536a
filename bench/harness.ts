/**
 * What every suite scenario shares: Rivulet started in this process on a temp directory (embedded
 * SQLite store, HTTP on loopback), tokens, API request builders, the graph loaded through
 * `follow_many`, activities posted through the API, and looks at the database file from a second
 * connection (checkpoint, sizes). Only public entry points of `src/` are used: `parseConfig`,
 * `createRivulet`, `rivulet.store.ports.intents.pendingCount()`, and the HTTP API.
 */
import Database from 'better-sqlite3';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { parseConfig, sqlitePath } from '../src/config/config.js';
import { createRivulet, type Rivulet } from '../src/main.js';
import type { Graph, Rng } from './graph.js';
import { type HttpReq, type Load } from './load.js';

export const APP_ID = '1';
export const API_KEY = 'benchkey';

/** The popularity ranking used by the ranked reads. */
export const RANKING = { popular: { score: 'decay_linear(time) * popularity ^ 0.5', defaults: { popularity: 1 } } };

/** Notification feeds group a day's activities of one actor and verb ("Ann posted 3 times today"). */
export const NOTIFICATION_FORMAT = "{{ actor }}_{{ verb }}_{{ time.strftime('%Y-%m-%d') }}";

export interface Server {
  readonly rivulet: Rivulet;
  /** `http://127.0.0.1:port` */
  readonly base: string;
  readonly dir: string;
  readonly dbPath: string;
  readonly secret: string;
  readonly serverToken: string;
  userToken(userId: string): string;
  close(): Promise<void>;
}

export interface ServerOptions {
  fanout?: { inline_max_followers?: number; chunk_size?: number; pull_min_followers?: number };
  worker?: boolean | 'manual';
  /** Read cache size (MiB); the default when absent, 0 turns it off. */
  readCacheMb?: number;
  /** Shared read parts (MiB, `read_cache.parts_mb`); the default when absent, 0 turns them off. */
  partsMb?: number;
  /** Prometheus metrics (default on, as in a default config). */
  metrics?: boolean;
  /** The health listener on a port of its own (`health.port`; off when absent). */
  healthListener?: boolean;
}

function b64(x: object): string {
  return Buffer.from(JSON.stringify(x)).toString('base64url');
}

/** An HS256 JWT as Stream's clients make them. */
export function jwt(secret: string, claims: object): string {
  const head = b64({ alg: 'HS256', typ: 'JWT' }) + '.' + b64(claims);
  return head + '.' + createHmac('sha256', secret).update(head).digest('base64url');
}

/** Starts Rivulet with the suite's feed groups on a fresh temp data directory. */
export async function startServer(opts: ServerOptions = {}): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'rivulet-suite-'));
  const secret = randomBytes(24).toString('base64url');
  const config = suiteConfig(dir, secret, opts);
  const rivulet = await createRivulet({ config, logger: pino({ level: 'warn' }), worker: opts.worker });
  const base = await rivulet.listen(0, '127.0.0.1');
  const tokens = new Map<string, string>();
  return {
    rivulet,
    base,
    dir,
    dbPath: sqlitePath(config),
    secret,
    serverToken: jwt(secret, { resource: '*', action: '*', feed_id: '*' }),
    userToken(userId) {
      let t = tokens.get(userId);
      if (t === undefined) {
        t = jwt(secret, { user_id: userId });
        tokens.set(userId, t);
      }
      return t;
    },
    async close() {
      await rivulet.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A second Rivulet over the same data as `s` (its own connection to the same database file, no
 * fan-out worker), with its read cache set to `readCacheMb` (0: off). Closing it leaves `s` running.
 * With `copy`, it runs over a copy of the database file instead (`VACUUM INTO` a temp directory,
 * removed at close): processes sharing one file each ask SQLite on every change-mark look whether
 * another committed, which a server alone on its file does not, so per-read CPU figures of a server
 * sharing the file are not those of a lone server.
 */
export async function secondServer(
  s: Server,
  readCacheMb: number,
  opts: { metrics?: boolean; partsMb?: number; copy?: boolean } = {},
): Promise<{ base: string; rivulet: Rivulet; close: () => Promise<void> }> {
  let dir = s.dir;
  if (opts.copy === true) {
    dir = mkdtempSync(join(tmpdir(), 'rivulet-suite-copy-'));
    const target = sqlitePath(suiteConfig(dir, s.secret, {}));
    const db = new Database(s.dbPath, { readonly: true });
    try {
      db.prepare('VACUUM INTO ?').run(target);
    } finally {
      db.close();
    }
    // The copy holds the registration of `s`'s connection (a live process): dropped, so the copy's
    // server finds itself alone on its file.
    const copy = new Database(target);
    try {
      copy.exec('DELETE FROM writers');
    } finally {
      copy.close();
    }
  }
  const config = suiteConfig(dir, s.secret, { readCacheMb, metrics: opts.metrics, partsMb: opts.partsMb });
  const rivulet = await createRivulet({ config, logger: pino({ level: 'warn' }), worker: false });
  const base = await rivulet.listen(0, '127.0.0.1');
  return {
    base,
    rivulet,
    close: async () => {
      await rivulet.close();
      if (dir !== s.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function suiteConfig(dir: string, secret: string, opts: ServerOptions) {
  return parseConfig(
    {
      apps: [
        {
          app_id: APP_ID,
          api_key: API_KEY,
          api_secret: secret,
          feed_groups: [
            { name: 'user', type: 'flat', ranking: RANKING },
            { name: 'timeline', type: 'flat', ranking: RANKING },
            { name: 'notification', type: 'notification', aggregation_format: NOTIFICATION_FORMAT },
          ],
        },
      ],
      fanout: opts.fanout,
      read_cache: opts.readCacheMb === undefined && opts.partsMb === undefined ? undefined : { max_mb: opts.readCacheMb, parts_mb: opts.partsMb },
      metrics: opts.metrics === undefined ? undefined : { enabled: opts.metrics },
      health: opts.healthListener ? { port: 0 } : undefined,
      // No integrity check at start: on a second server over loaded data it reads the whole file
      // in a thread of this process for a minute or more, which the CPU figures would count.
      integrity_check: { timeout_ms: 0 },
    },
    dir,
  );
}

/** A request to the v1.0 API. `path` has no leading slash and may carry a query string. */
export function api(method: HttpReq['method'], path: string, token: string, body?: unknown): HttpReq {
  return {
    method,
    path: `/api/v1.0/${path}${path.includes('?') ? '&' : '?'}api_key=${API_KEY}`,
    headers: { authorization: token, 'stream-auth-type': 'jwt' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  };
}

export const FOLLOW_BATCH = 2500;

/** `follow_many` requests (copy limit 0) for `pairs` of [source feed, target feed], 2,500 per request. */
export function followRequests(s: Server, pairs: Iterable<[string, string]>): { requests: HttpReq[]; follows: number } {
  const requests: HttpReq[] = [];
  let items: string[] = [];
  let follows = 0;
  const flush = () => {
    if (items.length === 0) return;
    requests.push(api('POST', 'follow_many/?activity_copy_limit=0', s.serverToken, `[${items.join(',')}]`));
    items = [];
  };
  for (const [source, target] of pairs) {
    items.push(`{"source":${JSON.stringify(source)},"target":${JSON.stringify(target)}}`);
    follows++;
    if (items.length === FOLLOW_BATCH) flush();
  }
  flush();
  return { requests, follows };
}

/** Feed ids of graph node `u`. */
export const userFeed = (g: Graph, u: number) => `user:${g.label[u]}`;
export const timelineFeed = (g: Graph, u: number) => `timeline:${g.label[u]}`;

export interface GraphLoad {
  follows: number;
  requests: number;
  ms: number;
  follows_per_s: number;
}

/** Loads every edge of `g` through `follow_many`: `timeline:u` follows `user:v` for each `u v`. */
export async function loadGraphThroughApi(s: Server, load: Load, g: Graph, concurrency = 2): Promise<GraphLoad> {
  const pairs = function* (): Generator<[string, string]> {
    for (const [u, v] of g.edgeList()) yield [timelineFeed(g, u), userFeed(g, v)];
  };
  const { requests, follows } = followRequests(s, pairs());
  const r = await load.batch(s.base, requests, { concurrency, progress: 'follow_many', unit: 'requests' });
  const ms = r.t1 - r.t0;
  return { follows, requests: requests.length, ms: round(ms), follows_per_s: Math.round(follows / (ms / 1000)) };
}

const VERBS = ['post', 'post', 'post', 'share', 'comment'];
const WORDS = 'the a feed river stream post photo today new great look at this my our with from about link'.split(' ');

/** The activity body of post number `i` by graph node `author` (fields drawn from `rng`). */
export function activityBody(g: Graph, i: number, author: number, rng: Rng): string {
  let text = '';
  while (text.length < 80) text += WORDS[rng.int(WORDS.length)] + ' ';
  return JSON.stringify({
    actor: `SU:${g.label[author]}`,
    verb: VERBS[rng.int(VERBS.length)],
    object: `SO:post:p${i}`,
    foreign_id: `post:p${i}`,
    text: text.trim(),
    popularity: 1 + rng.int(100),
  });
}

/** Requests posting activity i of `authors` to `user:<author>` with a server token. */
export function postRequests(s: Server, g: Graph, authors: Int32Array, rng: Rng): HttpReq[] {
  return Array.from(authors, (a, i) => api('POST', `feed/user/${g.label[a]}/`, s.serverToken, activityBody(g, i, a, rng)));
}

/** Polls the outbox until it is empty; returns the absolute time (ms) it was first seen empty. */
export async function outboxEmpty(s: Server, timeoutMs = 900_000): Promise<number> {
  const start = performance.now();
  for (;;) {
    if ((await s.rivulet.store.ports.intents.pendingCount()) === 0) return performance.timeOrigin + performance.now();
    if (performance.now() - start > timeoutMs) throw new Error('fan-out did not finish in time');
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Opens a second connection to the server's database file (WAL allows it beside the server's). */
export function openDb(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('busy_timeout = 5000');
  return db;
}

export interface DbSize {
  /** Main file bytes after a TRUNCATE checkpoint (the WAL is then empty). */
  file_bytes: number;
  /** Bytes of the `entries` table and its index, and of `recent_entries` (dbstat). */
  entries_bytes: number;
  entries_rows: number;
  /** Bytes of the `activities` table and its index (dbstat). */
  activities_bytes: number;
}

/** Checkpoints the WAL into the main file (TRUNCATE) and measures the file and the timeline table. */
export function measureDb(path: string): DbSize {
  const db = openDb(path);
  try {
    for (let i = 0; i < 50; i++) {
      const [r] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
      if (r.busy === 0) break;
    }
    // Flat entries not merged yet are in `recent_entries` (a tree without that table has none).
    const recent = db.prepare(`SELECT count(*) FROM sqlite_schema WHERE name = 'recent_entries'`).pluck().get() === 1;
    const entries = db.prepare(`SELECT sum(pgsize) FROM dbstat WHERE name IN ('entries', 'entries_group', 'recent_entries')`).pluck().get() as number;
    const rows = db.prepare(recent ? 'SELECT (SELECT count(*) FROM entries) + (SELECT count(*) FROM recent_entries)' : 'SELECT count(*) FROM entries').pluck().get() as number;
    const activities = db.prepare(`SELECT sum(pgsize) FROM dbstat WHERE name IN ('activities', 'activities_foreign_id')`).pluck().get() as number;
    return { file_bytes: statSync(path).size, entries_bytes: entries, entries_rows: rows, activities_bytes: activities };
  } finally {
    db.close();
  }
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Command-line options of the suite: `--name value` or `--name=value`. */
export function option(name: string): string | undefined {
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}`) return args[i + 1];
    if (args[i].startsWith(`--${name}=`)) return args[i].slice(name.length + 3);
  }
  return undefined;
}

export function intOption(name: string, dflt: number): number {
  const v = option(name);
  if (v === undefined) return dflt;
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number`);
  return n;
}

/** Options that take a value, so their value is not taken for a scenario name. */
export const VALUE_OPTIONS = ['pull-min-followers', 'rounds', 'profile', 'perf', 'graph', 'activities', 'history', 'followers', 'posts', 'duration', 'connections', 'seed', 'readers', 'reads', 'feeds', 'rates', 'requests', 'config', 'seeds', 'users', 'follows', 'masters', 'only', 'writes', 'write-rate'];

export function log(msg: string): void {
  console.log(`  [${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

/**
 * `fn` with the main thread sampled by Linux `perf` on CPU time, written to `DIR/<name>.perf.data`
 * (run node with `--perf-basic-prof` so that JavaScript frames are named; read with `perf report`).
 * The V8 profiler of `--profile` samples wall time: a thread that waits in a system call (the
 * writer thread's wake-up in `postMessage`, under load) keeps its samples, so on a busy machine it
 * shows such calls larger than the CPU they take (`postMessage` to the writer thread: 14–16% of a
 * write's main-thread samples under `--profile`, 5–6% under `perf`).
 */
async function perfRecorded<T>(dir: string, name: string, fn: () => Promise<T>): Promise<T> {
  const { spawn } = await import('node:child_process');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.perf.data`);
  const perf = spawn('perf', ['record', '-e', 'task-clock', '-F', '1999', '-g', '-t', String(process.pid), '-o', file], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  try {
    return await fn();
  } finally {
    perf.kill('SIGINT');
    await new Promise((r) => perf.on('exit', r));
    console.log(`    perf samples of the main thread: ${file}`);
  }
}

/**
 * With `--profile DIR`, CPU-profiles the main thread (the server) while `fn` runs and writes
 * `DIR/<name>.cpuprofile`, printing its top functions (see profile-summary.ts). Without it, just
 * runs `fn`. With `--perf DIR` instead, the main thread is sampled by `perf` (see {@link perfRecorded}).
 * The profiler costs some throughput: figures from a profiled run are not reference figures.
 */
export async function profiled<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const perfDir = option('perf');
  if (perfDir !== undefined) return perfRecorded(perfDir, name, fn);
  const dir = option('profile');
  if (dir === undefined) return fn();
  const { Session } = await import('node:inspector/promises');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const { summarize } = await import('./profile-summary.js');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${name}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    console.log(summarize(file, 12).split('\n\ninclusive')[0].replace(/^/gm, '    '));
  }
}
