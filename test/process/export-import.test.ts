// Moving an app between backends with `rivulet export` and `rivulet import`: an app filled through
// the HTTP API on SQLite (fan-out, a pull-served feed with a hidden entry, aggregated and
// notification feeds with seen/read marks, reactions with children, users, collections, a
// personalization hide and interests), exported, imported into a Redis Cluster, served from there,
// and read over HTTP with the same answers; then back from Redis into a fresh SQLite file. A second
// import of the same file changes nothing; a truncated file and a bad line fail before anything is
// written, naming the problem.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import pino from 'pino';
import { connect, type StreamClient } from 'getstream';
import { openListing, openRecords, openStore } from '../../src/compose/adapters.js';
import { UsageError } from '../../src/cli/apps.js';
import { exportCommand, importCommand } from '../../src/cli/export-import.js';
import { parseConfig } from '../../src/config/config.js';
import { createRivulet } from '../../src/main.js';
import { onRedisCluster, sharedCluster } from '../support/redis-cluster.js';
import { TEST_GROUPS } from '../support/server.js';

/** A stream that swallows what is written (the progress bar and summaries). */
const quiet = { write: () => true, isTTY: false, on: () => quiet, once: () => quiet, removeListener: () => quiet } as unknown as NodeJS.WriteStream;

onRedisCluster('export and import between SQLite and Redis', () => {
  let dir: string;
  const app = { app_id: String(100000 + Math.floor(Math.random() * 800000)), api_key: `k${randomBytes(8).toString('hex')}`, api_secret: randomBytes(24).toString('base64url') };
  const files: Record<'sqlite' | 'redis' | 'back' | 'empty', string> = { sqlite: '', redis: '', back: '', empty: '' };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rivulet-transfer-'));
    const cluster = await sharedCluster();
    const base = { apps: [{ ...app, feed_groups: TEST_GROUPS }], fanout: { pull_min_followers: 2 } };
    const write = (name: string, storage: object) => {
      const f = join(dir, `${name}.json`);
      writeFileSync(f, JSON.stringify({ ...base, storage }));
      return f;
    };
    files.sqlite = write('sqlite', { backend: 'sqlite', path: 'a.db' });
    files.redis = write('redis', { backend: 'redis', nodes: cluster.nodes, durability: 'fast', key_prefix: cluster.keyPrefix });
    files.back = write('back', { backend: 'sqlite', path: 'back.db' });
    files.empty = write('empty', { backend: 'sqlite', path: 'empty.db' });
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs a server on the store `configFile` names while `fn` runs. */
  async function serving<T>(configFile: string, fn: (client: StreamClient, base: string) => Promise<T>): Promise<T> {
    const config = parseConfig(JSON.parse(readFileSync(configFile, 'utf8')), dir);
    const rivulet = await createRivulet({ config, logger: pino({ level: 'silent' }), store: await openStore(config) });
    try {
      const address = await rivulet.listen(0, '127.0.0.1');
      const client = connect(app.api_key, app.api_secret, app.app_id, { urlOverride: { api: `${address}/api/`, personalization: `${address}/personalization/` } });
      return await fn(client, address);
    } finally {
      await rivulet.close();
    }
  }

  /** Fills the app through the API. */
  async function fill(c: StreamClient): Promise<void> {
    await c.user('ann').create({ name: 'Ann' });
    await c.user('bob').create({ name: 'Bob', age: 40 });
    await c.collections.add('food', 'pizza', { name: 'Pizza' });
    await c.collections.add('food', 'ramen', { name: 'Ramen', spicy: true });
    // user:ann gets three followers: pull-served from the second on (pull_min_followers 2).
    await c.feed('timeline', 'r1').follow('user', 'ann');
    await c.feed('timeline', 'r2').follow('user', 'ann');
    await c.feed('aggregated', 'r1').follow('user', 'ann');
    await c.feed('timeline', 'r1').follow('user', 'bob');
    await c.feed('timeline', 'r3').follow('user', 'bob');
    await c.feed('timeline', 'r3').unfollow('user', 'ann').catch(() => undefined);
    const posts = [];
    for (let i = 0; i < 6; i++) {
      const actor = i % 2 === 0 ? 'ann' : 'bob';
      posts.push(
        await c.feed('user', actor).addActivity({
          actor: `SU:${actor}`,
          verb: i % 3 === 0 ? 'like' : 'post',
          object: `o:${i}`,
          foreign_id: `post:${i}`,
          time: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString().slice(0, -1),
          to: i % 2 === 0 ? ['notification:r1'] : [],
          text: `post ${i}`,
        }),
      );
    }
    // A direct add to a timeline, and a removal that hides a pulled entry from r2's merged reads.
    await c.feed('timeline', 'r1').addActivity({ actor: 'SU:bob', verb: 'note', object: 'o:direct' });
    await c.feed('timeline', 'r2').removeActivity(posts[2].id);
    // Reactions, a child, one with a target feed.
    const like = await c.reactions.add('like', posts[0].id, {}, { userId: 'bob' });
    const comment = await c.reactions.add('comment', posts[0].id, { text: 'nice' }, { userId: 'bob', targetFeeds: ['notification:r2'] });
    await c.reactions.addChild('like', comment, {}, { userId: 'ann' });
    await c.reactions.add('like', posts[1].id, {}, { userId: 'ann' });
    await c.reactions.delete(like.id);
    // Notification marks: one group seen, then all read on another feed.
    const n = await c.feed('notification', 'r1').get({ limit: 10 });
    await c.feed('notification', 'r1').get({ limit: 10, mark_seen: [(n.results as { id: string }[])[0].id] } as never);
    await c.feed('notification', 'r2').get({ limit: 10, mark_read: true } as never);
    // Personalization: a hide, and manual interests.
    await c.personalization.post('feedback', {}, { user_id: 'r1', activity_id: posts[1].id, hide: true });
    await c.personalization.post('interests', {}, { user_id: 'ann', interests: [{ tag: 'pizza', weight: 0.7 }] } as never);
    // Records: a moderation flag and an upload (its bytes stay in the blob store both configs name).
    await c.flagUser('bob', { reason: 'spam', user_id: 'ann' });
    await c.files.upload(Buffer.from('hello'), 'hello.txt', 'text/plain');
  }

  /** What the API answers, for the reads a client makes (times of the response itself left out). */
  async function reads(c: StreamClient): Promise<unknown> {
    // A reaction kind whose every reaction was deleted counts 0: the file carries such counts too.
    const strip = (x: unknown): unknown => JSON.parse(JSON.stringify(x, (k, v) => (k === 'duration' ? undefined : v)));
    const out: Record<string, unknown> = {};
    for (const f of ['user:ann', 'user:bob', 'timeline:r1', 'timeline:r2', 'timeline:r3', 'aggregated:r1', 'notification:r1', 'notification:r2']) {
      const [slug, id] = f.split(':');
      out[f] = strip(await c.feed(slug, id).get({ limit: 50, withReactionCounts: true, withOwnReactions: true, withRecentReactions: true } as never));
      out[`${f} followers`] = strip(await c.feed(slug, id).followers({ limit: 50 }));
      out[`${f} following`] = strip(await c.feed(slug, id).following({ limit: 50 }));
    }
    const acts = (out['user:ann'] as { results: { id: string }[] }).results.concat((out['user:bob'] as { results: { id: string }[] }).results);
    for (const a of acts) out[`reactions ${a.id}`] = strip(await c.reactions.filter({ activity_id: a.id, limit: 25 }));
    out.users = strip(await Promise.all(['ann', 'bob'].map(async (u) => (await c.user(u).get()).full)));
    out.food = strip((await c.collections.get('food', 'pizza')).full);
    // Manual interests only: computed ones decay with the time of the read.
    const interests = (await c.personalization.get('interests', { user_id: 'ann' })) as unknown as { results: { source: string }[] };
    out.interests = strip(interests.results.filter((x) => x.source === 'manual'));
    return out;
  }

  /** Lists every record of the app in the store `configFile` names, as the listing returns them (sorted). */
  async function stored(configFile: string): Promise<string[]> {
    const config = parseConfig(JSON.parse(readFileSync(configFile, 'utf8')), dir);
    const store = await openStore(config);
    try {
      const l = openListing(store);
      const out: string[] = [];
      for (const list of [l.activities, l.follows, l.reactions, l.users, l.entries, l.feeds, l.hiddenActivities, l.profileUsers, l.files, l.flags, l.audit] as ((a: string, c: string | null, n: number) => Promise<{ items: readonly unknown[]; next: string | null }>)[]) {
        let cursor: string | null = null;
        do {
          const page: { items: readonly unknown[]; next: string | null } = await list.call(l, app.app_id, cursor, 100);
          // Audit entries are numbered by the store that holds them.
          out.push(...page.items.map((x) => JSON.stringify(list === l.audit ? { ...(x as object), id: undefined } : x)));
          cursor = page.next;
        } while (cursor !== null);
      }
      // Fan-out jobs: what they do (their ids, leases and cursors are the store's own).
      const q = store.ports.intents;
      for (const j of await q.pending(1000)) if (j.app === app.app_id) out.push(JSON.stringify({ job: [j.kind, j.source, j.ids, j.mode] }));
      for (const d of await q.deadLetters(1000)) if (d.app === app.app_id) out.push(JSON.stringify({ dead: [d.kind, d.source, d.ids, d.error, d.failedAt] }));
      return out.sort();
    } finally {
      await store.close();
    }
  }

  /** The ids of the app's audit entries in the store `configFile` names, oldest first. */
  async function auditIds(configFile: string): Promise<string[]> {
    const store = await openStore(parseConfig(JSON.parse(readFileSync(configFile, 'utf8')), dir));
    try {
      const out: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { items: readonly { id: string }[]; next: string | null } = await openListing(store).audit(app.app_id, cursor, 100);
        out.push(...page.items.map((e) => e.id));
        cursor = page.next;
      } while (cursor !== null);
      return out;
    } finally {
      await store.close();
    }
  }

  /** One whole pass of the activity sweep with no retention over the app in the store `configFile` names: the activities deleted. */
  async function sweep(configFile: string): Promise<number> {
    const store = await openStore(parseConfig(JSON.parse(readFileSync(configFile, 'utf8')), dir));
    try {
      let deleted = 0;
      let after: string | null = null;
      do {
        const step: { next: string | null; deleted: number } = await store.sweepActivities!(app.app_id, after, 500, Date.now(), 0);
        deleted += step.deleted;
        after = step.next;
      } while (after !== null);
      return deleted;
    } finally {
      await store.close();
    }
  }

  let expected: unknown;

  it('moves an app from SQLite to Redis and back: every read answers the same; a second import changes nothing', async () => {
    // SQLite numbers the audit entries of every app in one sequence: another app's entry first,
    // so that this app's ids do not start at 1.
    {
      const store = await openStore(parseConfig(JSON.parse(readFileSync(files.sqlite, 'utf8')), dir));
      try {
        await openRecords(store).audit.append('another', [{ entityType: 'user', entityId: 'x', action: 'created', userId: 'x', custom: '{}' }], 1);
      } finally {
        await store.close();
      }
    }
    expected = await serving(files.sqlite, async (c) => {
      await fill(c);
      return reads(c);
    });
    // A fan-out job still pending (its work is done already: applying it again changes nothing)
    // and a dead letter, written with no server running.
    {
      const store = await openStore(parseConfig(JSON.parse(readFileSync(files.sqlite, 'utf8')), dir));
      try {
        const ann = (await openListing(store).activities(app.app_id, null, 100)).items.find((a) => a.home === 'user:ann')!;
        const q = store.ports.intents;
        await q.commit(app.app_id, [{ intents: [{ kind: 'fanout.add', source: 'user:ann', ids: [ann.id], mode: 'queued' }] }]);
        const [dead] = await q.commit(app.app_id, [{ intents: [{ kind: 'fanout.remove', source: 'user:ann', ids: [ann.id], mode: 'inline' }] }]);
        await q.failed(dead.intents[0].id, 'gave up', null, 1_767_225_600_000);
      } finally {
        await store.close();
      }
    }
    const fromSqlite = join(dir, 'from-sqlite.jsonl');
    const counts = await exportCommand({ config: files.sqlite, data: dir, out: fromSqlite, allowPending: true, stream: quiet });
    assert.ok(counts.activity >= 7 && counts.reaction === 3 && counts.zero === 1 && counts.timeline > 0 && counts.groups > 0 && counts.feed > 0 && counts.hidden === 1 && counts.profile > 0 && counts.event > 0 && counts.flag === 1 && counts.file === 1 && counts.job === 1 && counts.dead === 1, JSON.stringify(counts));

    assert.deepEqual(await importCommand(fromSqlite, { config: files.redis, data: dir, stream: quiet }), counts);
    // Audit entries keep their ids on Redis (each app numbers its own there).
    const ids = await auditIds(files.sqlite);
    assert.ok(ids.length > 0 && ids[0] !== '1', ids.join());
    assert.deepEqual(await auditIds(files.redis), ids);
    // A sweep with no retention right after an import deletes nothing (on SQLite it examines every
    // activity against the entries holding it; on Redis only activities whose count of holding
    // entries fell to 0 are looked at).
    assert.equal(await sweep(files.redis), 0);
    const onRedis = await stored(files.redis);
    const gotRedis = await serving(files.redis, reads);
    if (process.env.TRANSFER_DEBUG) {
      writeFileSync('/tmp/transfer-expected.json', JSON.stringify(expected, null, 1));
      writeFileSync('/tmp/transfer-redis.json', JSON.stringify(gotRedis, null, 1));
    }
    assert.deepEqual(gotRedis, expected);
    // Importing the same file again: the counts check passes and the store holds the same records.
    assert.deepEqual(await importCommand(fromSqlite, { config: files.redis, data: dir, stream: quiet }), counts);
    assert.deepEqual(await stored(files.redis), onRedis);

    const fromRedis = join(dir, 'from-redis.jsonl');
    assert.deepEqual(await exportCommand({ config: files.redis, data: dir, out: fromRedis, allowPending: true, stream: quiet }), counts);
    assert.deepEqual(await importCommand(fromRedis, { config: files.back, data: dir, stream: quiet }), counts);
    assert.equal(await sweep(files.back), 0);
    // Before a server runs there (its worker takes the pending job).
    assert.deepEqual(await stored(files.back), await stored(files.sqlite));
    assert.deepEqual(await serving(files.back, reads), expected);
  });

  it('a resumed import skips the lines its checkpoint names; the counts check at the end says what is missing', async () => {
    const file = join(dir, 'from-sqlite.jsonl');
    const target = join(dir, 'resume.json');
    writeFileSync(target, readFileSync(files.back, 'utf8').replace('back.db', 'resume.db'));
    const st = statSync(file);
    // As if an earlier run had applied lines 1 to 3 (the header and two records) and stopped.
    writeFileSync(`${file}.import-checkpoint`, JSON.stringify({ file, size: st.size, mtimeMs: st.mtimeMs, app: app.app_id, line: 3 }));
    await assert.rejects(importCommand(file, { config: target, data: dir, resume: true, stream: quiet }), /the store now holds other counts than the file: activity: \d+ stored, \d+ in the file/);
    const counts = await importCommand(file, { config: target, data: dir, stream: quiet });
    assert.ok(counts.activity > 0);
    assert.equal(existsSync(`${file}.import-checkpoint`), false, 'a finished import removes its checkpoint');
  });

  it('a truncated file or a bad line fails before anything is written, naming the problem', async () => {
    const file = join(dir, 'from-sqlite.jsonl');
    const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
    const cut = join(dir, 'cut.jsonl');
    writeFileSync(cut, lines.slice(0, Math.floor(lines.length / 2)).join('\n') + '\n');
    await assert.rejects(importCommand(cut, { config: files.empty, data: dir, stream: quiet }), (err: Error) => {
      assert.ok(err instanceof UsageError);
      assert.match(err.message, /without its trailer line: it is incomplete.*nothing was imported/);
      return true;
    });
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, [...lines.slice(0, 2), '{"kind":"activity","record":{"id":"x"}}', ...lines.slice(2)].join('\n') + '\n');
    await assert.rejects(importCommand(bad, { config: files.empty, data: dir, stream: quiet }), /bad\.jsonl: line 3: a "activity" line needs a "record" with id, timeUs, home and body; nothing was imported/);
    assert.deepEqual(await stored(files.empty), []);
    // The command line: exit status 2 and the message on stderr.
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/entry.ts', 'import', bad, '--config', files.empty, '--data', dir], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^rivulet: .*bad\.jsonl: line 3: /m);
  });
});
