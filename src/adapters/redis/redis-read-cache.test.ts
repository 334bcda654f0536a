import assert from 'node:assert/strict';
import { it } from 'node:test';
import { activityAt } from '../../../test/contract/ports-support.js';
import { onRedisCluster, sharedCluster } from '../../../test/support/redis-cluster.js';
import { changeKey, type ChangeMarks } from '../../ports/change-marks.js';
import { ChangeCache } from '../../services/change-cache.js';
import { RedisStore } from './redis-store.js';

/**
 * The read cache across nodes: two RedisStores on one cluster and key prefix stand for two API
 * nodes. Node B caches pages built from its own reads; node A writes. After every write A
 * acknowledged, whatever B answers is what a fresh build on B returns.
 */
onRedisCluster('read cache across nodes', () => {
  async function twoNodes() {
    const where = await sharedCluster();
    const a = await RedisStore.open({ ...where, durability: 'fast' });
    const b = await RedisStore.open({ ...where, durability: 'fast' });
    let looks = 0;
    const counted: ChangeMarks = {
      position: () => b.changes.position(),
      record: (keys) => b.changes.record(keys),
      changesSince: (after) => {
        looks++;
        return b.changes.changesSince(after);
      },
    };
    // No local mark: a store shared by many nodes has none (see ChangeCache).
    const cache = new ChangeCache<string>(1 << 20, null, counted, (t) => 2 * t.length);
    const app = 'rc';
    const build = async (feed: string) => JSON.stringify(await b.ports.timelines.scan(app, { feed, limit: 25 }));
    const read = async (feed: string) => {
      const at = { position: 0 };
      const hit = await cache.get(feed, at);
      if (hit !== undefined) return { body: hit, hit: true };
      const body = await build(feed);
      await cache.set(feed, at.position, [changeKey.feed(app, feed)], body);
      return { body, hit: false };
    };
    const post = (feed: string, n: number) => a.ports.timelines.apply(app, [{ kind: 'add', feed, entries: [{ id: activityAt(n, feed).id, origin: null }], maxLength: 100 }]);
    return { a, b, cache, build, read, post, looks: () => looks, close: async () => Promise.all([a.close(), b.close()]) };
  }

  it('every answer on one node after a write acknowledged on the other is what a fresh build returns', async () => {
    const n = await twoNodes();
    try {
      const feeds = ['user:ann', 'user:bob', 'user:cat'];
      let hits = 0;
      for (let i = 1; i <= 40; i++) {
        // Writes on A land on one feed at a time (chosen by a fixed pattern), reads on B go to all.
        if (i % 3 !== 0) await n.post(feeds[Math.floor(i / 2) % feeds.length], i);
        for (const f of feeds) {
          const got = await n.read(f);
          assert.equal(got.body, await n.build(f), `round ${i}, ${f}`);
          if (got.hit) hits++;
        }
      }
      assert.ok(hits > 40, `pages not written since are served from the cache (${hits} hits)`);
      for (const f of feeds) assert.ok(JSON.parse((await n.read(f)).body).length > 5, `${f} was written`);
    } finally {
      await n.close();
    }
  });

  it('a page built on one node while the other wrote its feed is not kept', async () => {
    const n = await twoNodes();
    try {
      const at = { position: 0 };
      assert.equal(await n.cache.get('user:dan', at), undefined);
      const stale = await n.build('user:dan');
      await n.post('user:dan', 1);
      assert.equal(await n.cache.set('user:dan', at.position, [changeKey.feed('rc', 'user:dan')], stale), false);
      const next = await n.read('user:dan');
      assert.equal(next.hit, false);
      assert.equal(JSON.parse(next.body).length, 1);
    } finally {
      await n.close();
    }
  });

  it('reads in flight together share one look at the marks, and each sees the writes acknowledged before it', async () => {
    const n = await twoNodes();
    try {
      await n.read('user:eve');
      assert.equal((await n.read('user:eve')).hit, true);
      await n.post('user:eve', 1);
      const before = n.looks();
      const pages = await Promise.all(Array.from({ length: 20 }, () => n.read('user:eve')));
      const fresh = await n.build('user:eve');
      for (const p of pages) assert.equal(p.body, fresh);
      // One look for the 20 gets (plus the sets of the misses, which also share looks).
      assert.ok(n.looks() - before <= 4, `${n.looks() - before} looks for 20 reads`);
    } finally {
      await n.close();
    }
  });
});
