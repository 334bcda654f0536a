import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { FeedEvent } from '../../ports/pubsub.js';
import { pubsubContract } from '../../../test/contract/pubsub.contract.js';
import { rateLimiterContract } from '../../../test/contract/rate-limiter.contract.js';
import { onRedisCluster, sharedCluster } from '../../../test/support/redis-cluster.js';
import { RedisConnection } from './connection.js';
import { RedisPubSub } from './redis-pubsub.js';
import { RedisRateLimiter } from './redis-rate-limiter.js';

const event = (feed: string, n = 0): FeedEvent => ({
  app: '1',
  feed,
  message: { feed, app_id: '1', new: [{ n }], deleted: [], deleted_foreign_ids: [], published_at: '2024-05-01T10:00:00.000000Z' },
});

/** One "node": its connection and its pubsub, on a key prefix shared with the other nodes of a test. */
async function node(shared: { nodes: string[]; keyPrefix: string }) {
  const r = new RedisConnection({ ...shared, durability: 'fast' });
  const pubsub = new RedisPubSub({ nodes: shared.nodes, keys: r.keys, publisher: r.cluster });
  await pubsub.started();
  return {
    r,
    pubsub,
    async close() {
      await pubsub.close();
      await r.close();
    },
  };
}

function until(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (cond()) resolve();
      else if (Date.now() > deadline) reject(new Error('timed out'));
      else setTimeout(poll, 10);
    };
    poll();
  });
}

onRedisCluster('pubsub across nodes', () => {
  it('a listener on one node hears what another node publishes, once synced, and only while it listens', async () => {
    const shared = await sharedCluster();
    const a = await node(shared);
    const b = await node(shared);
    try {
      const got: string[] = [];
      b.pubsub.subscribe((e) => got.push(`${e.feed}:${(e.message.new[0] as { n: number }).n}`));
      assert.equal(a.pubsub.isWatched('1', 'user:x'), false);
      b.pubsub.watch('1', 'user:x');
      b.pubsub.watch('1', 'user:x');
      await b.pubsub.synced();
      assert.equal(a.pubsub.isWatched('1', 'user:x'), true, 'the watch counts on the other node once synced');
      assert.deepEqual(a.pubsub.watchedFeeds('1'), ['user:x']);
      assert.equal(a.pubsub.hasWatchers('1'), true);
      await a.pubsub.publish([event('user:x', 1), event('user:x', 2), event('user:y', 3)]);
      await until(() => got.length >= 2);
      assert.deepEqual(got, ['user:x:1', 'user:x:2'], 'in order; feeds nobody on b watches do not travel');
      b.pubsub.unwatch('1', 'user:x');
      await b.pubsub.synced();
      assert.equal(a.pubsub.isWatched('1', 'user:x'), true, 'one listener is left');
      b.pubsub.unwatch('1', 'user:x');
      b.pubsub.unwatch('1', 'user:x'); // one too many: ignored
      await b.pubsub.synced();
      assert.equal(a.pubsub.isWatched('1', 'user:x'), false);
      assert.equal(a.pubsub.hasWatchers('1'), false);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a node that starts later learns what the others watch; a node that closes takes its counts away', async () => {
    const shared = await sharedCluster();
    const a = await node(shared);
    a.pubsub.watch('1', 'timeline:z');
    await a.pubsub.synced();
    const b = await node(shared);
    try {
      await until(() => b.pubsub.isWatched('1', 'timeline:z'));
      const local: string[] = [];
      a.pubsub.subscribe((e) => local.push(e.feed));
      await b.pubsub.publish([event('timeline:z')]);
      await until(() => local.length === 1);
      await a.close();
      await until(() => !b.pubsub.isWatched('1', 'timeline:z'));
    } finally {
      await b.close();
    }
  });

  it('events published on a node reach its own listeners at once, without a round trip', async () => {
    const a = await node(await sharedCluster());
    try {
      const got: string[] = [];
      a.pubsub.subscribe((e) => got.push(e.feed));
      a.pubsub.watch('1', 'user:self');
      await a.pubsub.publish([event('user:self')]);
      assert.deepEqual(got, ['user:self']);
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(got, ['user:self'], 'its own message coming back over Redis is not delivered twice');
    } finally {
      await a.close();
    }
  });
});

onRedisCluster('pubsub and rate limiter contracts', () => {
  // Two nodes on one key prefix.
  pubsubContract('redis', async () => {
    const shared = await sharedCluster();
    const a = await node(shared);
    const b = await node(shared);
    return {
      a: a.pubsub,
      b: b.pubsub,
      close: async () => {
        await a.close();
        await b.close();
      },
    };
  });
  rateLimiterContract('redis', async () => {
    const shared = await sharedCluster();
    const a = new RedisConnection({ ...shared, durability: 'fast' });
    const b = new RedisConnection({ ...shared, durability: 'fast' });
    return {
      a: new RedisRateLimiter(a),
      b: new RedisRateLimiter(b),
      close: async () => {
        await a.close();
        await b.close();
      },
    };
  });

  it('fan-out wake-ups reach every other node, not the sender, one message for a burst of calls', async () => {
    const shared = await sharedCluster();
    const a = await node(shared);
    const b = await node(shared);
    const c = await node(shared);
    try {
      const heard = { a: 0, b: 0, c1: 0, c2: 0 };
      a.pubsub.onJobsQueued(() => heard.a++);
      b.pubsub.onJobsQueued(() => heard.b++);
      const stopC1 = c.pubsub.onJobsQueued(() => heard.c1++);
      c.pubsub.onJobsQueued(() => heard.c2++);
      for (let i = 0; i < 100; i++) a.pubsub.jobsQueued();
      await until(() => heard.b >= 1 && heard.c2 >= 1);
      stopC1();
      // Messages of one node arrive in order: a second wake-up heard means the burst sent no more than one.
      a.pubsub.jobsQueued();
      await until(() => heard.b >= 2 && heard.c2 >= 2);
      assert.deepEqual(heard, { a: 0, b: 2, c1: 1, c2: 2 });
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });
});
