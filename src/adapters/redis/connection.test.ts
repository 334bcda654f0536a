import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { onRedisCluster, sharedCluster, startRedisCluster, type TestCluster } from '../../../test/support/redis-cluster.js';
import { RedisConnection } from './connection.js';
import { Keys } from './keys.js';
import { RedisStore } from './redis-store.js';

it('keys put everything of one feed, activity, user or app in one hash slot', () => {
  const k = new Keys('rv:');
  assert.equal(k.feed('1', 'user:42', 'tl'), 'rv:{1|f|user:42}:tl');
  assert.equal(k.activity('1', 'abc', 'body'), 'rv:{1|a|abc}:body');
  assert.equal(k.user('1', 'bob', 'hid'), 'rv:{1|u|bob}:hid');
  assert.equal(k.app('1', 'audit:seq'), 'rv:{1}:audit:seq');
  assert.equal(k.shared('jobs', 'q'), 'rv:{rv:|jobs}:q');
  assert.throws(() => new Keys('a{'), /cannot hold/);
});

onRedisCluster('durability', () => {
  let durable: TestCluster;
  before(async () => {
    durable = await startRedisCluster({ masters: 3, replicas: 1 });
  });
  after(async () => durable?.stop());

  it('durable mode starts on masters with an append-only file and a replica, and acknowledges after WAIT 1', async () => {
    const r = new RedisConnection({ nodes: durable.nodes, durability: 'durable', keyPrefix: 'd:' });
    try {
      await r.checkPersistence();
      const key = r.keys.feed('1', 'user:a', 'x');
      const [set] = await r.write((p) => p.set(key, 'v'));
      assert.equal(set, 'OK');
      assert.equal(await r.cluster.get(key), 'v');
    } finally {
      await r.close();
    }
  });

  it('refuses to start durable on a cluster without persistence or replicas, saying what to change', async () => {
    const r = new RedisConnection({ ...(await sharedCluster()), durability: 'durable' });
    try {
      await assert.rejects(r.checkPersistence(), (err: Error) => {
        assert.match(err.message, /storage\.durability is "durable"/);
        assert.match(err.message, /appendonly is no, needs yes/);
        assert.match(err.message, /has no connected replica/);
        assert.match(err.message, /set storage\.durability to "fast"/);
        return true;
      });
      await assert.rejects(RedisStore.open({ ...(await sharedCluster()), durability: 'durable' }), /storage\.durability is "durable"/);
      const fast = await RedisStore.open({ ...(await sharedCluster()), durability: 'fast' });
      await fast.close();
    } finally {
      await r.close();
    }
  });
});
