import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { oldestNeeded, placeInGroups, type Placement } from '../../src/core/aggregation/groups.js';
import type { SignalStore } from '../../src/ports/signal-store.js';
import type { StoragePorts } from '../../src/ports/storage.js';
import type { Store } from '../../src/ports/store.js';
import { placed, postInto } from '../support/write-batches.js';

/** A store under test for the activity sweep: its ports, personalization stores and sweep. */
export interface SweepUnderTest {
  readonly ports: StoragePorts;
  readonly signals: SignalStore;
  sweepActivities: NonNullable<Store['sweepActivities']>;
  close(): Promise<void>;
}

/**
 * The contract of {@link Store.sweepActivities}: activities no feed holds any more (trimmed out of
 * every feed, removed, dropped from every group) are deleted in bounded steps, after the
 * retention counted from when a pass first found them so; anything a feed, a group, a queued or
 * dead-lettered fan-out job or a personalization hide still needs stays. Each case on its own app.
 */
export function activitySweepContract(adapter: string, open: () => Promise<SweepUnderTest>): void {
  describe(`activity sweep contract: ${adapter}`, () => {
    let store: SweepUnderTest;
    let n = 0;
    let APP = '';
    before(async () => {
      store = await open();
    });
    after(() => store.close());
    const test = (title: string, fn: () => Promise<void>) =>
      it(title, async () => {
        APP = `sweep${++n}`;
        await fn();
      });

    /** Writes `count` activities into `feed`, which keeps its `max` newest. */
    const post = (count: number, feed?: string, max?: number, from?: number) => postInto(store, APP, count, feed, max, from);
    const present = async (ids: string[]) => [...(await store.ports.activities.getActivities(APP, ids)).keys()].sort();
    /** A whole pass in steps of `limit`; returns the deleted count. */
    async function pass(now: number, retention: number, limit = 2): Promise<number> {
      let afterCursor: string | null = null;
      let deleted = 0;
      let steps = 0;
      do {
        const s = await store.sweepActivities(APP, afterCursor, limit, now, retention);
        assert.ok(s.examined <= limit, 'a step looks at no more than its limit');
        deleted += s.deleted;
        afterCursor = s.next;
        assert.ok(++steps < 1000, 'a pass ends');
      } while (afterCursor !== null);
      return deleted;
    }

    test('deletes trimmed activities in bounded steps and keeps the ones a feed holds', async () => {
      const ids = await post(7);
      assert.equal(await pass(0, 0), 4);
      assert.deepEqual(await present(ids), ids.slice(4).sort());
      assert.equal(await pass(0, 0), 0);
    });

    test('a deleted activity takes the feeds\' hides of its id with it: the same id written again is not hidden', async () => {
      const [a, b] = await post(2, 'user:h', 10);
      await store.ports.timelines.apply(APP, [
        { kind: 'hide', feed: 'timeline:h1', ids: [a, b] },
        { kind: 'hide', feed: 'timeline:h2', ids: [a] },
        { kind: 'remove', feed: 'user:h', ids: [a] },
      ]);
      assert.equal(await pass(0, 0), 1);
      assert.deepEqual(await present([a, b]), [b]);
      assert.deepEqual((await store.ports.timelines.readerState(APP, 'timeline:h1')).hidden, [b]);
      assert.deepEqual((await store.ports.timelines.readerState(APP, 'timeline:h2')).hidden, []);
    });

    test('deletes an activity removed from its only feed; an entry added twice and removed once holds nothing', async () => {
      const [a, b] = await post(2, 'user:r', 10);
      await store.ports.timelines.apply(APP, placed((await store.ports.activities.getActivities(APP, [a])).get(a)!, ['user:r'], 10));
      await store.ports.timelines.apply(APP, [{ kind: 'remove', feed: 'user:r', ids: [a] }]);
      assert.equal(await pass(0, 0), 1);
      assert.deepEqual(await present([a, b]), [b]);
    });

    test('keeps an activity still held by another feed, a queued or dead-lettered fan-out job or a personalization hide', async () => {
      const ids = await post(7);
      const p = store.ports;
      await p.timelines.apply(APP, [{ kind: 'add', feed: 'timeline:b', entries: [{ id: ids[0], origin: 'user:a' }], maxLength: 100 }]);
      await p.intents.commit(APP, [{ intents: [{ kind: 'fanout.add', source: 'user:a', ids: [ids[1]], mode: 'queued' }] }]);
      const [[dead]] = (await p.intents.commit(APP, [{ intents: [{ kind: 'fanout.add', source: 'user:a', ids: [ids[3]], mode: 'queued' }] }])).map((c) => c.intents);
      await p.intents.failed(dead.id, 'failed for good', null, 0);
      await store.signals.recordSignals(APP, { hides: [{ user: 'u', activityId: ids[2], hidden: true, atUs: 1, placements: [] }] });
      assert.equal(await pass(0, 0), 0);
      assert.deepEqual(await present(ids), [...ids].sort());
      // Once nothing needs them any more, they go.
      await store.signals.recordSignals(APP, { hides: [{ user: 'u', activityId: ids[2], hidden: false, atUs: 2, placements: [] }] });
      await p.timelines.apply(APP, [{ kind: 'remove', feed: 'timeline:b', ids: [ids[0]] }]);
      assert.equal(await pass(0, 0), 2);
      assert.deepEqual(await present([ids[0], ids[2]]), []);
    });

    test('keeps an activity an aggregated feed retains in its groups, and deletes it once the group is dropped', async () => {
      const [first] = await post(4);
      const [a] = (await store.ports.activities.getActivities(APP, [first])).values();
      const feed = 'aggregated:g';
      const placements: Placement[] = [{ id: a.id, origin: a.home, key: 'post', timeUs: a.timeUs, actor: 'x', verb: 'post' }];
      const [read] = await store.ports.groups.readForMerge(APP, [{ feed, keys: ['post'], ids: [a.id], entryIds: [a.id], oldest: oldestNeeded(1) }]);
      const change = placeInGroups(read, placements, { maxGroups: 5, maxPerGroup: 5 })!;
      assert.deepEqual(await store.ports.groups.writeGroups(APP, [{ feed, version: read.version, ...change }]), []);
      assert.equal(await pass(0, 0), 0, 'trimmed out of user:a, but retained by the group');
      assert.deepEqual(await present([first]), [first]);
      const [now] = await store.ports.groups.readForMerge(APP, [{ feed, oldest: 5 }]);
      assert.deepEqual(
        await store.ports.groups.writeGroups(APP, [{ feed, version: now.version, put: [], drop: now.groups.map((g) => g.id), counts: { groups: 0, unseen: 0, unread: 0 } }]),
        [],
      );
      assert.equal(await pass(0, 0), 1);
      assert.deepEqual(await present([first]), []);
    });

    test('keeps an unheld activity for the retention, counted from when a pass first found it unheld', async () => {
      const ids = await post(5);
      assert.equal(await pass(1_000, 60_000), 0);
      assert.equal(await pass(60_999, 60_000), 0);
      assert.deepEqual(await present(ids), [...ids].sort());
      assert.equal(await pass(61_000, 60_000), 2);
      assert.deepEqual(await present(ids), ids.slice(2).sort());
    });

    test('forgets when an activity was found unheld once a feed holds it again', async () => {
      const [first] = await post(4);
      await pass(1_000, 60_000);
      await store.ports.timelines.apply(APP, [{ kind: 'add', feed: 'timeline:b', entries: [{ id: first, origin: null }], maxLength: 100 }]);
      await pass(2_000, 60_000);
      await store.ports.timelines.apply(APP, [{ kind: 'remove', feed: 'timeline:b', ids: [first] }]);
      // Unheld again since 70,000: the mark from 1,000 no longer counts.
      await pass(70_000, 60_000);
      assert.deepEqual(await present([first]), [first]);
      await pass(130_000, 60_000);
      assert.deepEqual(await present([first]), []);
    });

    test('leaves other apps alone', async () => {
      const ids = await post(4);
      assert.equal((await store.sweepActivities(`${APP}-other`, null, 10, 0, 0)).deleted, 0);
      assert.deepEqual(await present(ids), [...ids].sort());
    });
  });
}
