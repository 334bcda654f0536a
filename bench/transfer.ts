/**
 * `npm run bench -- transfer`: `rivulet export` and `rivulet import` on a sizeable app, SQLite to
 * a Redis Cluster (3 masters, no replicas, `fast`) and back.
 *
 * The app is written straight through the SQLite store's ports: `--users` (default 2,000) users,
 * each posting `--posts` (default 10) activities into `user:<u>`, each user's timeline following
 * `--follows` (default 20) users, so every post is fanned out into 20 timelines; a reaction on
 * every second activity; a collection entry per user. Then, timed one after the other:
 * export from SQLite, import into Redis (with its counts check), export from Redis, import into a
 * fresh SQLite file. Records per second count every record of the file (a feed entry is one
 * record). The load average before and after is recorded: the machine is shared.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { activityId } from '../src/core/activities/activity-id.js';
import { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';
import { exportCommand, importCommand } from '../src/cli/export-import.js';
import type { Counts } from '../src/cli/transfer.js';
import { REDIS_SKIP, startRedisCluster } from '../test/support/redis-cluster.js';
import { option } from './harness.js';
import { writeResult } from './report.js';

const APP = '1';

const total = (c: Counts) => Object.values(c).reduce((a, b) => a + b, 0);

export async function transfer(): Promise<void> {
  if (REDIS_SKIP) throw new Error(REDIS_SKIP);
  const users = Number(option('users') ?? 2000);
  const posts = Number(option('posts') ?? 10);
  const follows = Number(option('follows') ?? 20);
  const dir = mkdtempSync(join(tmpdir(), 'rivulet-bench-transfer-'));
  const load = { before: loadavg(), after: [] as number[] };
  const cluster = await startRedisCluster({ masters: 3, replicas: 0, persistence: 'none' });
  try {
    const app = { app_id: APP, api_key: 'benchkey', api_secret: 'bench-secret-of-sixteen-chars', feed_groups: [{ name: 'user', type: 'flat' }, { name: 'timeline', type: 'flat' }] };
    const config = (name: string, storage: object) => {
      const f = join(dir, `${name}.json`);
      writeFileSync(f, JSON.stringify({ apps: [app], storage }));
      return f;
    };
    const sqlite = config('sqlite', { backend: 'sqlite', path: 'a.db' });
    const redis = config('redis', { backend: 'redis', nodes: cluster.nodes, durability: 'fast', key_prefix: 'bench:' });
    const back = config('back', { backend: 'sqlite', path: 'back.db' });

    // The app, through the SQLite store's ports.
    const t0 = performance.now();
    const store = new SqliteStore(join(dir, 'a.db'));
    const p = store.ports;
    const userIds = Array.from({ length: users }, (_, i) => `u${i}`);
    await p.users.putUsers(APP, userIds.map((id, i) => ({ id, data: JSON.stringify({ name: `User ${i}` }), createdUs: 1, updatedUs: 1 })), 'replace');
    await p.collections.putEntries(APP, userIds.map((id, i) => ({ collection: 'things', id: `t${i}`, userId: id, data: JSON.stringify({ n: i }), createdUs: 1, updatedUs: 1 })), 'replace');
    const followersOf = new Map<string, string[]>();
    for (let i = 0; i < users; i++) {
      const steps = [];
      for (let k = 1; k <= follows; k++) {
        const target = `user:u${(i + k * 7) % users}`;
        steps.push({ follow: { source: `timeline:u${i}`, target, createdUs: i, grouped: false, since: null } });
        let list = followersOf.get(target);
        if (!list) followersOf.set(target, (list = []));
        list.push(`timeline:u${i}`);
      }
      await p.intents.commit(APP, steps);
    }
    let n = 0;
    for (let i = 0; i < users; i++) {
      const acts = Array.from({ length: posts }, () => {
        const t = 1_700_000_000_000_000 + n * 1000;
        const id = activityId(t, `b${n++}`);
        return { id, timeUs: t, foreignId: `post:${n}`, to: [], body: JSON.stringify({ id, actor: `SU:u${i}`, verb: 'post', object: `o:${n}`, text: 'x'.repeat(100) }), home: `user:u${i}` };
      });
      await p.intents.commit(APP, acts.map((activity) => ({ activity })));
      const entries = acts.map((a) => ({ id: a.id, origin: null }));
      const fanned = acts.map((a) => ({ id: a.id, origin: `user:u${i}` }));
      await p.timelines.apply(APP, [
        { kind: 'add', feed: `user:u${i}`, entries, maxLength: 1000 },
        ...(followersOf.get(`user:u${i}`) ?? []).map((feed) => ({ kind: 'add' as const, feed, entries: fanned, maxLength: 1000 })),
      ]);
      const reactions = acts
        .filter((_, k) => k % 2 === 0)
        .map((a, k) => ({ id: `${a.id.slice(0, 24)}${String(k).padStart(12, '0')}`, kind: 'like', activityId: a.id, userId: `u${(i + 1) % users}`, parent: '', depth: 1, data: '{}', targetFeeds: [], createdUs: a.timeUs, updatedUs: a.timeUs, deletedUs: null }));
      await p.intents.commit(APP, reactions.map((r) => ({ reactions: { add: [r] } })));
    }
    await store.close();
    const buildMs = performance.now() - t0;

    const timed = async (what: string, fn: () => Promise<Counts>) => {
      const s = performance.now();
      const c = await fn();
      const ms = performance.now() - s;
      const records = total(c);
      console.log(`${what}: ${records.toLocaleString('en-US')} records in ${(ms / 1000).toFixed(1)} s (${Math.round(records / (ms / 1000)).toLocaleString('en-US')}/s)`);
      return { what, records, ms: Math.round(ms), records_per_s: Math.round(records / (ms / 1000)), counts: c };
    };
    const file1 = join(dir, 'from-sqlite.jsonl');
    const file2 = join(dir, 'from-redis.jsonl');
    const steps = [
      await timed('export from SQLite', () => exportCommand({ config: sqlite, data: dir, out: file1, stream: process.stderr })),
      await timed('import into Redis (with the counts check)', () => importCommand(file1, { config: redis, data: dir, stream: process.stderr })),
      await timed('export from Redis', () => exportCommand({ config: redis, data: dir, out: file2, stream: process.stderr })),
      await timed('import into SQLite (with the counts check)', () => importCommand(file2, { config: back, data: dir, stream: process.stderr })),
    ];
    load.after = loadavg();
    writeResult('transfer', { users, posts, follows, build_ms: Math.round(buildMs), file_bytes: statSync(file1).size, steps, load_average: load });
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
