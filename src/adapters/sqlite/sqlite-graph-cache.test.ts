import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { newAppConfig, parseConfig } from '../../config/config.js';
import { parseFeedId } from '../../core/feeds/feed-id.js';
import { addActivities } from '../../services/add-activities.js';
import { TimeSource, type Services } from '../../services/context.js';
import { planIntents, type Spread } from '../../services/write-step.js';
import { SqliteStore } from './sqlite-store.js';

// What the main thread keeps of the follow graph (first follower pages, pull flags; see
// SqliteFollowGraph) while writes go through the writer thread or the connection itself: a post
// plans its fan-out from it, so it must follow every acknowledged change of the graph.

const dir = mkdtempSync(join(tmpdir(), 'rivulet-graph-cache-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const open: SqliteStore[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

/** One app for every store (two stores over one file are two processes of one server). */
const APP = parseConfig(newAppConfig(), '/tmp').apps[0];

function setup(writer: 'thread' | 'inline', path = join(dir, `db${++n}.sqlite`)) {
  const store = new SqliteStore(path, { writer });
  open.push(store);
  const app = APP;
  const s: Services = {
    ports: store.ports,
    signalStore: store.signals,
    clock: new TimeSource({ nowUs: () => Date.now() * 1000 }),
    fanout: { inlineMaxFollowers: 2, chunkSize: 10, pullMinFollowers: 10_000 },
    onJobsEnqueued: () => undefined,
  };
  const follow = (source: string, target = 'user:a') =>
    store.ports.intents.commit(app.appId, [{ follow: { source, target, createdUs: Date.now() * 1000, grouped: source.startsWith('timeline_aggregated'), since: null } }]);
  const unfollow = (source: string, target = 'user:a') => store.ports.intents.commit(app.appId, [{ unfollow: { source, target } }]);
  const mode = async () => (await planIntents(s, app, [{ kind: 'fanout.add', source: 'user:a', ids: ['x'] } satisfies Spread]))[0]?.mode ?? null;
  return { store, app, s, follow, unfollow, mode, path };
}

for (const writer of ['thread', 'inline'] as const) {
  describe(`the follow graph read for a post's plan (writer ${writer})`, () => {
    it('decides inline or queued from the follower count after every follow and unfollow, around the inline limit', async () => {
      const t = setup(writer);
      assert.equal(await t.mode(), null, 'no follower: nothing to queue');
      await t.follow('timeline:f1');
      assert.equal(await t.mode(), 'inline');
      await t.follow('timeline:f2');
      assert.equal(await t.mode(), 'inline', 'at the limit');
      await t.follow('timeline:f3');
      assert.equal(await t.mode(), 'queued', 'one past the limit');
      await t.follow('timeline:f3');
      assert.equal(await t.mode(), 'queued', 'a repeated follow changes nothing');
      await t.unfollow('timeline:f2');
      assert.equal(await t.mode(), 'inline', 'back at the limit');
      // Served by pull: only grouped followers are reached.
      await t.s.ports.follows.markPullServed(t.app.appId, ['user:a']);
      assert.equal(await t.mode(), null, 'pull-served, no grouped follower');
      await t.follow('timeline_aggregated:g');
      assert.equal(await t.mode(), 'inline');
    });

    it('includes a follower added just before a post in its inline fan-out', async () => {
      const t = setup(writer);
      const feed = parseFeedId('user:a');
      await addActivities(t.s, t.app, feed, [{ actor: 'a', verb: 'post', object: 'o:1' }], false);
      await t.follow('timeline:f1');
      const [second] = await addActivities(t.s, t.app, feed, [{ actor: 'a', verb: 'post', object: 'o:2' }], false);
      // Read right after the answer: the inline fan-out landed before it.
      const [entries] = await t.store.ports.timelines.scanMany(t.app.appId, [{ feed: 'timeline:f1', limit: 10 }]);
      assert.deepEqual(entries.map((e) => e.id), [second.id]);
      await t.unfollow('timeline:f1');
      await t.follow('timeline:f2');
      const [third] = await addActivities(t.s, t.app, feed, [{ actor: 'a', verb: 'post', object: 'o:3' }], false);
      const [f1, f2] = await t.store.ports.timelines.scanMany(t.app.appId, [{ feed: 'timeline:f1', limit: 10 }, { feed: 'timeline:f2', limit: 10 }]);
      assert.deepEqual(f1.map((e) => e.id), [second.id], 'no longer followed');
      assert.deepEqual(f2.map((e) => e.id), [third.id]);
    });
  });
}

describe('the follow graph read beside another process', () => {
  it('sees the follows and pull marks another process over the same file acknowledged', async () => {
    const t = setup('thread');
    assert.equal(await t.mode(), null, 'read while alone');
    const other = setup('thread', t.path);
    // A process that opens the file beside a running one writes once that one can have seen it.
    await other.store.ready();
    await other.follow('timeline:f1');
    assert.equal(await t.mode(), 'inline');
    await other.follow('timeline:f2');
    await other.follow('timeline:f3');
    assert.equal(await t.mode(), 'queued');
    assert.deepEqual([...(await t.s.ports.follows.pullServed(t.app.appId, ['user:a']))], []);
    await other.s.ports.follows.markPullServed(t.app.appId, ['user:a']);
    assert.deepEqual([...(await t.s.ports.follows.pullServed(t.app.appId, ['user:a']))], ['user:a']);
  });
});
