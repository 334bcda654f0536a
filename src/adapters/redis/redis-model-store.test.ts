import assert from 'node:assert/strict';
import { it } from 'node:test';
import { modelStoreContract } from '../../../test/contract/model-store.contract.js';
import { onRedisCluster, sharedCluster } from '../../../test/support/redis-cluster.js';
import { RedisConnection } from './connection.js';
import { modelStore, openRecords } from '../../compose/adapters.js';
import { RedisModelStore } from './redis-model-store.js';
import { RedisStore } from './redis-store.js';

onRedisCluster('model store', () => {
  modelStoreContract('redis', async () => {
    const r = new RedisConnection({ ...(await sharedCluster()), durability: 'fast' });
    return { models: new RedisModelStore(r), close: () => r.close() };
  });

  it('a snapshot saved by one node is loaded by another, and trimmed snapshots are deleted', async () => {
    const where = await sharedCluster();
    const a = new RedisConnection({ ...where, durability: 'fast' });
    const b = new RedisConnection({ ...where, durability: 'fast' });
    try {
      const learner = new RedisModelStore(a);
      const reader = new RedisModelStore(b);
      const model = Buffer.from([0, 255, 10, 13, 0, 1]);
      for (let i = 1; i <= 4; i++) await learner.saveSnapshot('7', { seq: i, updates: i, createdUs: i, model, state: Buffer.from([i]) }, 2);
      assert.equal(await reader.latestVersion('7'), 4);
      const s = await reader.latestSnapshot('7');
      assert.deepEqual(Buffer.from(s!.model), model, 'binary bytes intact');
      assert.deepEqual([...s!.state], [4]);
      const kept = await Promise.all([1, 2, 3, 4].map((v) => b.cluster.exists(b.keys.app('7', `model:${v}`))));
      assert.deepEqual(kept, [0, 0, 1, 1]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

onRedisCluster('compose on RedisStore', () => {
  it('the server takes model snapshots and record stores from RedisStore', async () => {
    const store = await RedisStore.open({ ...(await sharedCluster()), durability: 'fast' });
    try {
      assert.equal(modelStore(store), store.models);
      assert.equal(openRecords(store), store.records);
    } finally {
      await store.close();
    }
  });
});
