import assert from 'node:assert/strict';
import { activityAt, idAt, portContract, type PortsFactory } from './ports-support.js';

/** The contract of {@link FollowStore} (docs/storage-ports.md): follower pages, pull-served sources, listings. */
export function followStoreContract(adapter: string, makePorts: PortsFactory, skip: Readonly<Record<string, string>> = {}): void {
  portContract('follow store', adapter, makePorts, skip, (test) => {
    test('follower pages never repeat or skip a follower, carry the total, and can keep grouped followers only', async (p, app) => {
      const sources = Array.from({ length: 7 }, (_, i) => (i % 3 === 0 ? `notification:u${i}` : `timeline:u${i}`));
      await p.intents.commit(app, sources.map((source, i) => ({ follow: { source, target: 'user:a', createdUs: i, grouped: source.startsWith('notification'), since: null } })));
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await p.follows.followerPage(app, 'user:a', cursor, 3);
        assert.equal(page.total, 7);
        for (const f of page.followers) {
          seen.push(f.feed);
          assert.equal(f.grouped, f.feed.startsWith('notification'));
        }
        cursor = page.cursor;
        pages++;
      } while (cursor !== null && pages < 10);
      assert.deepEqual(seen.sort(), [...sources].sort());
      const grouped = await p.follows.followerPage(app, 'user:a', null, 100, true);
      assert.deepEqual(grouped.followers.map((f) => f.feed).sort(), sources.filter((s) => s.startsWith('notification')).sort());
      assert.deepEqual(await p.follows.followerPage(app, 'user:none', null, 10), { followers: [], cursor: null, total: 0 });
    });

    test('a follower page and the pull flags read again see every follow, unfollow and pull mark acknowledged meanwhile', async (p, app) => {
      const follow = (source: string, createdUs: number) => ({ follow: { source, target: 'user:c', createdUs, grouped: source.startsWith('notification'), since: null } });
      const firstPage = async () => {
        const [all, grouped] = await Promise.all([p.follows.followerPage(app, 'user:c', null, 1), p.follows.followerPage(app, 'user:c', null, 3, true)]);
        return { total: all.total, grouped: grouped.followers.map((f) => f.feed).sort() };
      };
      // Read first (a store may keep what it read), then change the graph between reads.
      assert.deepEqual(await firstPage(), { total: 0, grouped: [] });
      assert.deepEqual([...(await p.follows.pullServed(app, ['user:c', 'user:d']))], []);
      await p.intents.commit(app, [follow('timeline:x', 1), follow('notification:y', 2)]);
      assert.deepEqual(await firstPage(), { total: 2, grouped: ['notification:y'] });
      await p.intents.commit(app, [follow('notification:z', 3)]);
      assert.deepEqual(await firstPage(), { total: 3, grouped: ['notification:y', 'notification:z'] });
      await p.intents.commit(app, [{ unfollow: { source: 'notification:y', target: 'user:c' } }]);
      assert.deepEqual(await firstPage(), { total: 2, grouped: ['notification:z'] });
      await p.intents.commit(app, [{ unfollow: { source: 'timeline:x', target: 'user:c' } }]);
      assert.deepEqual(await firstPage(), { total: 1, grouped: ['notification:z'] });
      await p.follows.markPullServed(app, ['user:c']);
      assert.deepEqual([...(await p.follows.pullServed(app, ['user:c', 'user:d']))], ['user:c']);
    });

    test('pull-served feeds: the flag is sticky and idempotent; a reader gets its pulled sources with since bounds', async (p, app) => {
      await p.intents.commit(app, [
        { follow: { source: 'timeline:b', target: 'user:star', createdUs: 1, grouped: false, since: { id: idAt(5) } } },
        { follow: { source: 'timeline:b', target: 'user:other', createdUs: 2, grouped: false, since: null } },
        { follow: { source: 'timeline:b', target: 'user:plain', createdUs: 3, grouped: false, since: null } },
      ]);
      assert.deepEqual(await p.follows.pullSources(app, 'timeline:b'), []);
      await p.follows.markPullServed(app, ['user:star', 'user:other']);
      await p.follows.markPullServed(app, ['user:star']);
      assert.deepEqual([...(await p.follows.pullServed(app, ['user:star', 'user:plain', 'user:other']))].sort(), ['user:other', 'user:star']);
      const sources = (await p.follows.pullSources(app, 'timeline:b')).sort((x, y) => x.feed.localeCompare(y.feed));
      assert.deepEqual(sources.map((s) => [s.feed, s.since]), [['user:other', null], ['user:star', idAt(5)]]);
      assert.deepEqual(await p.follows.pullSources(app, 'timeline:nobody'), []);
    });

    test('a follow shows again the target’s direct entries from its bound on that the follower had hidden', async (p, app) => {
      const [old, kept, fresh, copy] = [activityAt(1, 'user:h'), activityAt(2, 'user:h'), activityAt(3, 'user:h'), activityAt(4, 'user:other')];
      await p.intents.commit(app, [old, kept, fresh, copy].map((activity) => ({ activity })));
      await p.timelines.apply(app, [
        { kind: 'add', feed: 'user:h', entries: [old, kept, fresh].map((a) => ({ id: a.id, origin: null })), maxLength: 100 },
        { kind: 'add', feed: 'user:h', entries: [{ id: copy.id, origin: 'user:other' }], maxLength: 100 },
        { kind: 'hide', feed: 'timeline:f', ids: [old.id, kept.id, fresh.id, copy.id] },
      ]);
      await p.intents.commit(app, [{ follow: { source: 'timeline:f', target: 'user:h', createdUs: 1, grouped: false, since: { id: kept.id } } }]);
      // Hides of entries older than the bound, or not direct entries of the target, stay.
      assert.deepEqual(new Set((await p.timelines.readerState(app, 'timeline:f')).hidden), new Set([old.id, copy.id]));
    });

    test('listings and counts follow the edges', async (p, app) => {
      await p.intents.commit(app, [
        { follow: { source: 'timeline:b', target: 'user:a', createdUs: 10, grouped: false, since: null } },
        { follow: { source: 'timeline:c', target: 'user:a', createdUs: 20, grouped: false, since: null } },
        { follow: { source: 'timeline:b', target: 'user:d', createdUs: 30, grouped: false, since: null } },
      ]);
      assert.deepEqual((await p.follows.followers(app, 'user:a', 10, 0)).map((e) => e.source), ['timeline:c', 'timeline:b']);
      assert.deepEqual((await p.follows.following(app, 'timeline:b', 10, 0)).map((e) => e.target), ['user:d', 'user:a']);
      assert.deepEqual((await p.follows.following(app, 'timeline:b', 10, 0, ['user:a'])).map((e) => e.target), ['user:a']);
      assert.deepEqual(await p.follows.followCounts(app, 'user:a'), { followers: 2, following: 0 });
      assert.deepEqual(await p.follows.followersAmong(app, 'user:a', ['timeline:b', 'timeline:x']), ['timeline:b']);
      await p.intents.commit(app, [{ unfollow: { source: 'timeline:b', target: 'user:a' } }]);
      assert.deepEqual(await p.follows.followCounts(app, 'user:a'), { followers: 1, following: 0 });
      assert.equal((await p.follows.followerPage(app, 'user:a', null, 10)).total, 1);
    });

    test('edges among pairs answer each pair, feeds never written to included', async (p, app) => {
      if (p.follows.edgesAmong === undefined) return;
      await p.intents.commit(app, [
        { follow: { source: 'timeline:b', target: 'user:a', createdUs: 10, grouped: false, since: null } },
        { follow: { source: 'timeline:c', target: 'user:d', createdUs: 20, grouped: false, since: null } },
      ]);
      const pairs: [string, string][] = [
        ['timeline:b', 'user:a'],
        ['timeline:b', 'user:d'],
        ['timeline:nobody', 'user:a'],
        ['timeline:c', 'user:d'],
        ['timeline:c', 'user:nobody'],
        ['timeline:c', 'user:a'],
        ['timeline:b', 'user:a'],
      ];
      assert.deepEqual(await p.follows.edgesAmong(app, pairs), [true, false, false, true, false, false, true]);
      assert.deepEqual(await p.follows.edgesAmong(app, []), []);
      await p.intents.commit(app, [{ unfollow: { source: 'timeline:b', target: 'user:a' } }]);
      assert.deepEqual(await p.follows.edgesAmong(app, pairs.slice(0, 1)), [false]);
    });
  });
}
