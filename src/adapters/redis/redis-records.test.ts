import { auditLogContract } from '../../../test/contract/audit-log.contract.js';
import { fileIndexContract } from '../../../test/contract/file-index.contract.js';
import { flagStoreContract } from '../../../test/contract/flag-store.contract.js';
import { userDataContract } from '../../../test/contract/user-data.contract.js';
import { onRedisCluster, sharedCluster } from '../../../test/support/redis-cluster.js';
import { RedisConnection } from './connection.js';
import { RedisAuditLog, RedisFileIndex, RedisFlagStore } from './redis-records.js';
import { RedisStore } from './redis-store.js';

async function open() {
  const r = new RedisConnection({ ...(await sharedCluster()), durability: 'fast' });
  return { r, close: () => r.close() };
}

onRedisCluster('record stores', () => {
  fileIndexContract('redis', async () => {
    const o = await open();
    return { index: new RedisFileIndex(o.r), close: o.close };
  });
  flagStoreContract('redis', async () => {
    const o = await open();
    return { flags: new RedisFlagStore(o.r), close: o.close };
  });
  auditLogContract('redis', async () => {
    const o = await open();
    return { audit: new RedisAuditLog(o.r), close: o.close };
  });
  userDataContract('redis', async () => {
    const store = await RedisStore.open({ ...(await sharedCluster()), durability: 'fast' });
    return { index: store.records.userData, ports: store.ports, close: () => store.close() };
  });
});
