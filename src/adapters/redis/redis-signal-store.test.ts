import { contentTagStoreContract } from '../../../test/contract/content-tag-store.contract.js';
import { eventLogContract } from '../../../test/contract/event-log.contract.js';
import { profileStoreContract } from '../../../test/contract/profile-store.contract.js';
import { seenStoreContract } from '../../../test/contract/seen-store.contract.js';
import type { SignalBackend } from '../../../test/contract/signal-support.js';
import { onRedisCluster, sharedCluster } from '../../../test/support/redis-cluster.js';
import { RedisConnection } from './connection.js';
import { RedisFollowStore } from './redis-follow-store.js';
import { RedisIntentQueue } from './redis-intent-queue.js';
import { RedisAuditLog } from './redis-records.js';
import { RedisSignalStore } from './redis-signal-store.js';

async function open(): Promise<SignalBackend> {
  const r = new RedisConnection({ ...(await sharedCluster()), durability: 'fast' });
  const queue = new RedisIntentQueue(r, new RedisAuditLog(r), new RedisFollowStore(r));
  return { signals: new RedisSignalStore(r), ports: { intents: queue }, close: () => r.close() };
}

onRedisCluster('signal stores', () => {
  eventLogContract('redis', open);
  profileStoreContract('redis', open);
  contentTagStoreContract('redis', open);
  seenStoreContract('redis', open);
});
