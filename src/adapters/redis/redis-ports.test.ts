import assert from 'node:assert/strict';
import { it } from 'node:test';
import { activityStoreContract } from '../../../test/contract/activity-store.contract.js';
import { changeMarksContract } from '../../../test/contract/change-marks.contract.js';
import { followStoreContract } from '../../../test/contract/follow-store.contract.js';
import { groupStoreContract } from '../../../test/contract/group-store.contract.js';
import { intentQueueContract } from '../../../test/contract/intent-queue.contract.js';
import { activityAt, type PortsFactory } from '../../../test/contract/ports-support.js';
import { reactionStoreContract } from '../../../test/contract/reaction-store.contract.js';
import { timelineStoreContract } from '../../../test/contract/timeline-store.contract.js';
import { usersCollectionsContract } from '../../../test/contract/users-collections.contract.js';
import { onRedisCluster, sharedCluster } from '../../../test/support/redis-cluster.js';
import { changeKey } from '../../ports/change-marks.js';
import { RedisStore } from './redis-store.js';

/** Every storage port's contract on one Redis Cluster (shared by this file), each suite on its own key prefix. */
const redis: PortsFactory = async () => {
  const store = await RedisStore.open({ ...(await sharedCluster()), durability: 'fast' });
  return { ports: store.ports, close: () => store.close() };
};

onRedisCluster('storage ports', () => {
  intentQueueContract('redis', redis);
  activityStoreContract('redis', redis);
  timelineStoreContract('redis', redis);
  groupStoreContract('redis', redis);
  followStoreContract('redis', redis);
  reactionStoreContract('redis', redis);
  usersCollectionsContract('redis', async () => {
    const store = await RedisStore.open({ ...(await sharedCluster()), durability: 'fast' });
    return Object.assign(Object.create(null) as object, {
      getUsers: store.ports.users.getUsers,
      putUsers: store.ports.users.putUsers,
      updateUser: store.ports.users.updateUser,
      deleteUsers: store.ports.users.deleteUsers,
      getEntries: store.ports.collections.getEntries,
      putEntries: store.ports.collections.putEntries,
      updateEntry: store.ports.collections.updateEntry,
      deleteEntries: store.ports.collections.deleteEntries,
      close: () => store.close(),
    });
  });
  // Two stores on one key prefix stand for two API nodes.
  changeMarksContract('redis', async () => {
    const where = await sharedCluster();
    const a = await RedisStore.open({ ...where, durability: 'fast' }, { marksKept: 64 });
    const b = await RedisStore.open({ ...where, durability: 'fast' }, { marksKept: 64 });
    return {
      a: a.changes,
      b: b.changes,
      keep: 64,
      close: async () => {
        await a.close();
        await b.close();
      },
    };
  });
});

onRedisCluster('change marks of RedisStore writes', () => {
  it('a step, per-feed operations, a group write, a user and an entry write each leave the mark of what they changed', async () => {
    const store = await RedisStore.open({ ...(await sharedCluster()), durability: 'fast' });
    try {
      const p = store.ports;
      const start = await store.changes.position();
      const act = activityAt(1, 'user:ann');
      await p.intents.commit('1', [{ activity: act }, { follow: { source: 'timeline:bob', target: 'user:ann', createdUs: 1, grouped: false, since: null } }]);
      await p.timelines.apply('1', [{ kind: 'add', feed: 'user:ann', entries: [{ id: act.id, origin: null }], maxLength: 10 }]);
      const [g] = await p.groups.readForMerge('1', [{ feed: 'notification:ann' }]);
      await p.groups.writeGroups('1', [{ feed: 'notification:ann', version: g.version, put: [], drop: [], counts: g.counts }]);
      await p.users.putUsers('1', [{ id: 'ann', data: '{}', createdUs: 1, updatedUs: 1 }], 'replace');
      await p.collections.putEntries('1', [{ collection: 'food', id: 'soup', userId: null, data: '{}', createdUs: 1, updatedUs: 1 }], 'replace');
      const got = await store.changes.changesSince(start);
      assert.equal(got.complete, true);
      assert.deepEqual(new Set(got.keys), new Set([
        changeKey.activity('1', act.id),
        changeKey.feed('1', 'timeline:bob'),
        changeKey.feed('1', 'user:ann'),
        changeKey.feed('1', 'notification:ann'),
        changeKey.user('1', 'ann'),
        changeKey.object('1', 'food', 'soup'),
      ]));
      // Reads leave no mark; a direct entry of a pull-served feed marks the app's merged reads.
      await p.users.getUsers('1', ['ann']);
      assert.equal(await store.changes.position(), got.position);
      await p.follows.markPullServed('1', ['user:ann']);
      const before = await store.changes.position();
      await p.timelines.apply('1', [{ kind: 'add', feed: 'user:ann', entries: [{ id: activityAt(2, 'user:ann').id, origin: null }], maxLength: 10 }]);
      assert.ok((await store.changes.changesSince(before)).keys.includes(changeKey.pulled('1')));
    } finally {
      await store.close();
    }
  });
});
