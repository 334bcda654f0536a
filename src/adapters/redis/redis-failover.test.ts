import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { activityId } from '../../core/activities/activity-id.js';
import { onRedisCluster, startRedisCluster, type TestCluster } from '../../../test/support/redis-cluster.js';
import type { FeedEvent } from '../../ports/pubsub.js';
import { RedisConnection } from './connection.js';
import { partitionOf } from './partitions.js';
import { RedisPubSub } from './redis-pubsub.js';
import { RedisStore } from './redis-store.js';

onRedisCluster('failover', () => {
  let cluster: TestCluster;
  before(async () => {
    // Two replicas per master: after a failover the new master still has one, so durable writes
    // (acknowledged after WAIT 1) can go on; with one replica its shard would refuse them.
    cluster = await startRedisCluster({ masters: 3, replicas: 2, nodeTimeoutMs: 1000 });
  });
  after(async () => cluster?.stop());

  it('durable: a master killed under steady writes loses no acknowledged write, and writes go on after its replica takes over', async () => {
    const store = await RedisStore.open({ nodes: cluster.nodes, durability: 'durable', keyPrefix: 'f:' });
    const r = store.connection;
    try {
      const queue = store.ports.intents;
      const activities = store.ports.activities;
      // The master holding partition 0 is the one killed.
      const slotKey = `f:{f:|p0}:`;
      const victim = (r.cluster.slots[Number(await r.cluster.cluster('KEYSLOT', slotKey))] ?? [])[0];
      assert.ok(victim, 'the slot of partition 0 has a master');
      const acked: string[] = [];
      let failed = 0;
      let killedAt = 0;
      let lastFailureAfterKill = 0;
      let longestAfterKill = 0;
      let n = 0;
      const deadline = Date.now() + 60_000;
      // Four writers; each write is one activity in one partition (spread over every master).
      const writer = async () => {
        while (Date.now() < deadline) {
          const t = 1_700_000_000_000_000 + n++;
          const id = activityId(t, `w${t}`);
          const started = Date.now();
          try {
            await queue.commit('1', [{ activity: { id, timeUs: t, foreignId: '', to: [], body: '{}', home: 'user:w' } }]);
            acked.push(id);
            if (killedAt > 0) longestAfterKill = Math.max(longestAfterKill, Date.now() - Math.max(started, killedAt));
          } catch {
            failed++;
            if (killedAt > 0) lastFailureAfterKill = Date.now();
          }
          // Enough writes after the failover to show they go on, on the killed master's slots too.
          if (killedAt > 0 && Date.now() - killedAt > 3000 && acked.filter((a) => partitionOf(a) === 0).length > 0 && Date.now() - Math.max(lastFailureAfterKill, killedAt) > 2000) return;
        }
      };
      const writers = [writer(), writer(), writer(), writer()];
      await new Promise((res) => setTimeout(res, 1000));
      const before = acked.length;
      killedAt = Date.now();
      await cluster.kill9(victim);
      await Promise.all(writers);
      // Writes to the dead master's slots wait (or fail) until its replica took over.
      const recoveryMs = Math.max(lastFailureAfterKill === 0 ? 0 : lastFailureAfterKill - killedAt, longestAfterKill);
      process.stdout.write(`# failover: ${acked.length} writes acknowledged (${before} before the kill), ${failed} failed, writes stalled at most ${recoveryMs} ms after the kill\n`);
      assert.ok(acked.length > before, 'writes were acknowledged after the kill');
      assert.ok(recoveryMs < 15_000, `writes succeed again after the failover (${recoveryMs} ms)`);
      const stored = await activities.getActivities('1', acked);
      const lost = acked.filter((id) => !stored.has(id));
      assert.deepEqual(lost, [], 'every acknowledged write is there after the failover');
    } finally {
      await store.close();
    }
  });

  it('realtime: a listener keeps hearing a feed whose channel was on a killed master, once its replica took over', async () => {
    const nodes = await Promise.all(
      [0, 1].map(async () => {
        const r = new RedisConnection({ nodes: cluster.nodes, durability: 'fast', keyPrefix: 'f:' });
        const pubsub = new RedisPubSub({ nodes: cluster.nodes, keys: r.keys, publisher: r.cluster });
        await pubsub.started();
        return { r, pubsub };
      }),
    );
    const [a, b] = nodes;
    try {
      const got: number[] = [];
      b.pubsub.subscribe((e) => got.push((e.message.new[0] as { n: number }).n));
      b.pubsub.watch('1', 'user:fo');
      await b.pubsub.synced();
      const event = (n: number): FeedEvent => ({
        app: '1',
        feed: 'user:fo',
        message: { feed: 'user:fo', app_id: '1', new: [{ n }], deleted: [], deleted_foreign_ids: [], published_at: '2024-05-01T10:00:00.000000Z' },
      });
      await a.pubsub.publish([event(0)]);
      const deadline = Date.now() + 60_000;
      while (!got.includes(0) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      assert.deepEqual(got, [0], 'heard before the kill');
      // The master holding the feed's channel is the one killed.
      const channel = a.r.keys.feed('1', 'user:fo', 'rt');
      const victim = (a.r.cluster.slots[Number(await a.r.cluster.cluster('KEYSLOT', channel))] ?? [])[0];
      assert.ok(victim, "the channel's slot has a master");
      const killedAt = Date.now();
      await cluster.kill9(victim);
      // Published every 200 ms until one sent after the kill is heard (the subscriber client
      // reloads the slot table when its subscriber is lost, not on a timer).
      let n = 0;
      let heardAt = 0;
      while (Date.now() < deadline) {
        n++;
        await a.pubsub.publish([event(n)]).catch(() => {});
        await new Promise((res) => setTimeout(res, 200));
        if (got.some((x) => x > 0)) {
          heardAt = Date.now();
          break;
        }
      }
      process.stdout.write(`# failover (realtime): an event published after the kill was heard ${heardAt - killedAt} ms after it\n`);
      assert.ok(heardAt > 0, 'an event published after the failover reached the listener');
    } finally {
      for (const x of nodes) {
        await x.pubsub.close();
        await x.r.close();
      }
    }
  });
});
