import assert from 'node:assert/strict';
import { it } from 'node:test';
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

  it('an import keeps audit ids above every id the log holds and numbers the others anew; appends go on after them', async () => {
    const o = await open();
    try {
      const audit = new RedisAuditLog(o.r);
      const entry = (id: string, n: number) => ({ id, createdUs: 1_000 + n, entityType: 'user' as const, entityId: `u${n}`, action: 'created', userId: `u${n}`, custom: '{}' });
      await audit.restore('imp', [entry('5', 1), entry('9', 2), entry('12', 3)]);
      await audit.restore('imp', [entry('7', 4), entry('x', 5), entry('40', 6)]);
      await audit.append('imp', [{ entityType: 'user', entityId: 'u7', action: 'updated', userId: 'u7', custom: '{}' }], 2_000);
      const all = await audit.list('imp', { limit: 10 });
      assert.deepEqual(all.map((e) => [e.id, e.entityId, e.createdUs]).reverse(), [
        ['5', 'u1', 1_001], ['9', 'u2', 1_002], ['12', 'u3', 1_003], ['13', 'u4', 1_004], ['14', 'u5', 1_005], ['40', 'u6', 1_006], ['41', 'u7', 2_000],
      ]);
      assert.deepEqual((await audit.list('imp', { entityType: 'user', entityId: 'u2', limit: 5 })).map((e) => e.id), ['9']);
      assert.deepEqual((await audit.list('imp', { before: '13', limit: 2 })).map((e) => e.id), ['12', '9']);
    } finally {
      await o.close();
    }
  });
});
