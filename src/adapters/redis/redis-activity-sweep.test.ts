import { activitySweepContract } from '../../../test/contract/activity-sweep.contract.js';
import { onRedisCluster, sharedCluster } from '../../../test/support/redis-cluster.js';
import { RedisStore } from './redis-store.js';

// The sweep of activities no feed holds, on Redis Cluster: the same contract as on SQLite.
onRedisCluster('activity sweep', () => {
  activitySweepContract('redis', async () => {
    const store = await RedisStore.open({ ...(await sharedCluster()), durability: 'fast' });
    return { ports: store.ports, signals: store.signals, sweepActivities: (...a) => store.sweepActivities(...a), close: () => store.close() };
  });
});
