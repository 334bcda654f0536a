import { activityStoreContract } from '../../../test/contract/activity-store.contract.js';
import { changeMarksContract, portWriteMarksContract } from '../../../test/contract/change-marks.contract.js';
import { followStoreContract } from '../../../test/contract/follow-store.contract.js';
import { groupStoreContract } from '../../../test/contract/group-store.contract.js';
import { intentQueueContract } from '../../../test/contract/intent-queue.contract.js';
import type { PortsFactory } from '../../../test/contract/ports-support.js';
import { reactionStoreContract } from '../../../test/contract/reaction-store.contract.js';
import { timelineStoreContract } from '../../../test/contract/timeline-store.contract.js';
import { userStoreContract } from '../../../test/contract/user-store.contract.js';
import { collectionStoreContract } from '../../../test/contract/collection-store.contract.js';
import { onRedisCluster, sharedCluster } from '../../../test/support/redis-cluster.js';
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
  userStoreContract('redis', redis);
  collectionStoreContract('redis', redis);
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
  portWriteMarksContract('redis', async () => {
    const store = await RedisStore.open({ ...(await sharedCluster()), durability: 'fast' });
    return { ports: store.ports, changes: store.changes, close: () => store.close() };
  });
});
