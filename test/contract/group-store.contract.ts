import assert from 'node:assert/strict';
import { markGroups, oldestNeeded, placeInGroups, type Placement } from '../../src/core/aggregation/groups.js';
import type { StoragePorts } from '../../src/ports/storage.js';
import { activityAt, portContract, type PortsFactory } from './ports-support.js';

/** The contract of {@link GroupStore} (docs/storage-ports.md): read and compare-and-set replace of one feed's groups. */
export function groupStoreContract(adapter: string, makePorts: PortsFactory, skip: Readonly<Record<string, string>> = {}): void {
  portContract('group store', adapter, makePorts, skip, (test) => {
    const limits = { maxGroups: 2, maxPerGroup: 2 };

    /** Stores activities and places them into `feed` the way a fan-out does: read, core merge, write. */
    async function place(p: StoragePorts, app: string, feed: string, acts: ReturnType<typeof activityAt>[]): Promise<void> {
      await p.intents.commit(app, acts.map((activity) => ({ activity })));
      const placements: Placement[] = acts.map((a) => {
        const body = JSON.parse(a.body) as { actor: string; verb: string };
        return { id: a.id, origin: a.home, key: body.verb, timeUs: a.timeUs, actor: body.actor, verb: body.verb };
      });
      const [read] = await p.groups.readForMerge(app, [
        { feed, keys: placements.map((x) => x.key), ids: placements.map((x) => x.id), entryIds: placements.map((x) => x.id), oldest: oldestNeeded(placements.length) },
      ]);
      const change = placeInGroups(read, placements, limits);
      if (change) assert.deepEqual(await p.groups.writeGroups(app, [{ feed, version: read.version, ...change }]), []);
    }

    test('an unknown feed reads as empty, with counters at zero', async (p, app) => {
      const [g] = await p.groups.readForMerge(app, [{ feed: 'notification:x', keys: ['a'], oldest: 5 }]);
      assert.deepEqual({ ...g, version: 0 }, { feed: 'notification:x', version: 0, counts: { groups: 0, unseen: 0, unread: 0 }, groups: [] });
      assert.deepEqual(await p.groups.readGroups(app, 'notification:x', { limit: 10, offset: 0, perGroup: 5 }), []);
      assert.deepEqual(await p.groups.groupCounts(app, 'notification:x'), { unseen: 0, unread: 0 });
    });

    test('written groups read back whole, in pages by recency, with counters', async (p, app) => {
      const feed = 'notification:b';
      const acts = [activityAt(1, 'user:a', { verb: 'like', actor: 'x' }), activityAt(2, 'user:a', { verb: 'like', actor: 'y' }), activityAt(3, 'user:a', { verb: 'like', actor: 'x' }), activityAt(4, 'user:c', { verb: 'follow' })];
      await place(p, app, feed, acts);
      await place(p, app, feed, acts); // a replay changes nothing
      const page = await p.groups.readGroups(app, feed, { limit: 10, offset: 0, perGroup: 5 });
      assert.deepEqual(page.map((g) => [g.key, g.activityCount, g.actorCount, g.entries.map((e) => e.id)]), [
        ['follow', 1, 1, [acts[3].id]],
        ['like', 3, 2, [acts[2].id, acts[1].id]],
      ]);
      assert.equal(page[1].id, acts[0].id);
      assert.deepEqual(page[1].entries[0], { id: acts[2].id, origin: 'user:a' });
      assert.deepEqual(await p.groups.groupCounts(app, feed), { unseen: 2, unread: 2 });
      const [read] = await p.groups.readForMerge(app, [{ feed, keys: ['like'] }]);
      assert.equal(read.groups.length, 1);
      const like = read.groups[0];
      assert.deepEqual(like.actors, ['x', 'y']);
      assert.equal(like.trimmed, acts[0].id);
      assert.deepEqual(like.entries.map((e) => [e.id, e.origin, e.timeUs, e.actor, e.verb]), [
        [acts[2].id, 'user:a', acts[2].timeUs, 'x', 'like'],
        [acts[1].id, 'user:a', acts[1].timeUs, 'y', 'like'],
      ]);
    });

    test('asks select groups by key, by id, by a retained activity and among the oldest, each group once', async (p, app) => {
      const feed = 'aggregated:b';
      const acts = [activityAt(1, 'user:a', { verb: 'like' }), activityAt(2, 'user:a', { verb: 'share' })];
      await place(p, app, feed, acts);
      const [r] = await p.groups.readForMerge(app, [{ feed, keys: ['like'], ids: [acts[0].id], entryIds: [acts[0].id], oldest: 1 }]);
      assert.deepEqual(r.groups.map((g) => g.key), ['like']);
      const [all] = await p.groups.readForMerge(app, [{ feed, oldest: 5 }]);
      assert.deepEqual(all.groups.map((g) => g.key).sort(), ['like', 'share']);
      const [byEntry] = await p.groups.readForMerge(app, [{ feed, entryIds: [acts[1].id] }]);
      assert.deepEqual(byEntry.groups.map((g) => g.key), ['share']);
    });

    test('the timeline store finds the activities a grouped feed retains in its groups (removals look there)', async (p, app) => {
      const feed = 'notification:held';
      const acts = [activityAt(1, 'user:a', { verb: 'like', actor: 'x' }), activityAt(2, 'user:b', { verb: 'follow', actor: 'y' })];
      await place(p, app, feed, acts);
      const found = await p.timelines.entriesOf(app, feed, [acts[0].id, acts[1].id, activityAt(9, 'user:z').id]);
      assert.deepEqual(
        found.map((e) => [e.id, e.origin]).sort(),
        [
          [acts[0].id, 'user:a'],
          [acts[1].id, 'user:b'],
        ].sort(),
      );
    });

    test('a write computed from a stale read changes nothing and names the feed', async (p, app) => {
      const feed = 'notification:b';
      await place(p, app, feed, [activityAt(1, 'user:a', { verb: 'like' })]);
      const [stale] = await p.groups.readForMerge(app, [{ feed, keys: ['share'], oldest: 2 }]);
      await place(p, app, feed, [activityAt(2, 'user:a', { verb: 'comment' })]);
      const change = placeInGroups(stale, [{ id: activityAt(3, 'user:a').id, origin: null, key: 'share', timeUs: 3, actor: 'a', verb: 'share' }], limits)!;
      assert.deepEqual(await p.groups.writeGroups(app, [{ feed, version: stale.version, ...change }]), [feed]);
      const keys = (await p.groups.readGroups(app, feed, { limit: 10, offset: 0, perGroup: 1 })).map((g) => g.key);
      assert.deepEqual(keys, ['comment', 'like']);
    });

    test('the feed keeps its group limit by dropping the least recently updated group', async (p, app) => {
      const feed = 'notification:b';
      await place(p, app, feed, [activityAt(1, 'user:a', { verb: 'a' }), activityAt(2, 'user:a', { verb: 'b' }), activityAt(3, 'user:a', { verb: 'c' })]);
      const keys = (await p.groups.readGroups(app, feed, { limit: 10, offset: 0, perGroup: 1 })).map((g) => g.key);
      assert.deepEqual(keys, ['c', 'b']);
      assert.deepEqual(await p.groups.groupCounts(app, feed), { unseen: 2, unread: 2 });
    });

    test('marks: some groups, then every group of the feed', async (p, app) => {
      const feed = 'notification:b';
      await place(p, app, feed, [activityAt(1, 'user:a', { verb: 'a' }), activityAt(2, 'user:a', { verb: 'b' })]);
      const [g1, g2] = await p.groups.readGroups(app, feed, { limit: 10, offset: 0, perGroup: 1 });
      let [read] = await p.groups.readForMerge(app, [{ feed, ids: [g1.id] }]);
      await p.groups.writeGroups(app, [{ feed, version: read.version, ...markGroups(read, undefined, [g1.id])! }]);
      assert.deepEqual(await p.groups.groupCounts(app, feed), { unseen: 1, unread: 1 });
      [read] = await p.groups.readForMerge(app, [{ feed }]);
      await p.groups.writeGroups(app, [{ feed, version: read.version, ...markGroups(read, 'all', undefined)! }]);
      assert.deepEqual(await p.groups.groupCounts(app, feed), { unseen: 0, unread: 1 });
      const after = await p.groups.readGroups(app, feed, { limit: 10, offset: 0, perGroup: 1 });
      assert.deepEqual(after.map((g) => [g.id, g.seen, g.read]), [[g1.id, true, true], [g2.id, true, false]]);
    });
  });
}
