import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { activityId } from '../../core/activities/activity-id.js';
import type { ActivityRecord } from '../../ports/activity-store.js';
import { onRedisCluster, sharedCluster } from '../../../test/support/redis-cluster.js';
import { RedisActivityHolds } from './redis-activity-holds.js';
import { RedisStore } from './redis-store.js';

// The activity sweep's deleting script on Redis, beside the shared contract
// (redis-activity-sweep.test.ts): what it sees in the activity's own slot.
onRedisCluster('activity holds', () => {
  let store: RedisStore;
  let n = 0;
  before(async () => {
    store = await RedisStore.open({ ...(await sharedCluster()), durability: 'fast' });
  });
  after(() => store?.close());

  /** An activity in `user:s` only, then removed from it: held by no feed, a candidate of the sweep. */
  async function unheld(app: string): Promise<ActivityRecord> {
    const id = activityId(1_700_000_000_000_000 + ++n, `h${n}`);
    const a: ActivityRecord = { id, timeUs: 1_700_000_000_000_000 + n, foreignId: '', to: [], body: `{"id":"${id}"}`, home: 'user:s' };
    await store.ports.intents.commit(app, [{ activity: a }]);
    await store.ports.timelines.apply(app, [{ kind: 'add', feed: 'user:s', entries: [{ id, origin: null }], maxLength: 10 }]);
    await store.ports.timelines.apply(app, [{ kind: 'remove', feed: 'user:s', ids: [id] }]);
    return a;
  }

  for (const retentionMs of [500, 0]) {
    it(`an activity written again after a sweep step checked its jobs is not deleted by that step (retention ${retentionMs} ms)`, async () => {
      const app = `holds${++n}`;
      const holds = new RedisActivityHolds(store.connection);
      const a = await unheld(app);
      const b = await unheld(app);
      const nothingNeeded = async () => new Set<string>();
      const cleanUp = async () => {};
      /** A whole pass (one step per partition holding candidates); returns the deleted count. */
      const pass = async (now: number, needed: (ids: readonly string[]) => Promise<Set<string>>) => {
        let deleted = 0;
        let cursor: string | null = null;
        do {
          const s = await holds.step(app, cursor, 10, now, retentionMs, needed, cleanUp);
          deleted += s.deleted;
          cursor = s.next;
        } while (cursor !== null);
        return deleted;
      };
      // A first pass marks both (with a retention); the next, after it, would delete them.
      if (retentionMs > 0) assert.equal(await pass(1_000, nothingNeeded), 0);
      // Between the check of the step that looks at `a` and its deleting script, `a` is posted
      // again with a fan-out job.
      const repost = async (ids: readonly string[]) => {
        if (ids.includes(a.id)) await store.ports.intents.commit(app, [{ activity: a, intents: [{ kind: 'fanout.add', source: 'user:s', ids: [a.id], mode: 'queued' }] }]);
        return new Set<string>();
      };
      assert.equal(await pass(2_000, repost), 1);
      assert.deepEqual([...(await store.ports.activities.getActivities(app, [a.id, b.id])).keys()], [a.id]);
      // The next pass checks again: the queued job keeps it.
      assert.equal((await store.sweepActivities(app, null, 10, 10_000, retentionMs)).deleted, 0);
      assert.ok((await store.ports.activities.getActivities(app, [a.id])).has(a.id));
    });
  }
});
