import { contentTagStoreContract } from '../../../test/contract/content-tag-store.contract.js';
import { eventLogContract } from '../../../test/contract/event-log.contract.js';
import { profileStoreContract } from '../../../test/contract/profile-store.contract.js';
import { seenStoreContract } from '../../../test/contract/seen-store.contract.js';
import type { SignalBackend } from '../../../test/contract/signal-support.js';
import { onRedisCluster, sharedCluster } from '../../../test/support/redis-cluster.js';
import { RedisConnection } from './connection.js';
import { RedisSignalStore } from './redis-signal-store.js';

async function open(): Promise<SignalBackend> {
  const r = new RedisConnection({ ...(await sharedCluster()), durability: 'fast' });
  return {
    signals: new RedisSignalStore(r),
    commit: () => Promise.reject(new Error('the feed store is not on Redis yet')),
    close: () => r.close(),
  };
}

onRedisCluster('signal stores', () => {
  eventLogContract('redis', open);
  profileStoreContract('redis', open);
  contentTagStoreContract('redis', open, { 'finds the newest activity of each foreign id': 'activities are not stored on Redis yet' });
  seenStoreContract('redis', open);
});
