import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { activityId } from '../../core/activities/activity-id.js';
import type { ActivityRecord } from '../../ports/activity-store.js';
import { onRedisCluster, sharedCluster } from '../../../test/support/redis-cluster.js';
import { PARTITIONS, partitionBase } from './partitions.js';
import { RedisStore } from './redis-store.js';

onRedisCluster('activities and the intent queue', () => {
  let store: RedisStore;
  let n = 0;
  const app = () => `iq${++n}`;
  const act = (t: number, extra: Partial<ActivityRecord> = {}): ActivityRecord => {
    const id = activityId(1_700_000_000_000_000 + t, `x${t}-${n}`);
    return { id, timeUs: 1_700_000_000_000_000 + t, foreignId: '', to: [], body: JSON.stringify({ id, actor: 'a', verb: 'post' }), home: 'user:a', ...extra };
  };
  before(async () => {
    store = await RedisStore.open({ ...(await sharedCluster()), durability: 'fast' });
  });
  after(() => store?.close());

  it('spreads activities and intents over the partitions; many workers claim each intent once', async () => {
    const a = app();
    const acts = Array.from({ length: 64 }, (_, i) => act(100 + i));
    const q = store.ports.intents;
    await q.commit(a, acts.map((x) => ({ activity: x, intents: [{ kind: 'fanout.add' as const, source: 'user:a', ids: [x.id], mode: 'queued' as const }] })));
    assert.equal((await store.ports.activities.getActivities(a, acts.map((x) => x.id))).size, 64);
    const seen: string[] = [];
    await Promise.all(
      [0, 1, 2].map(async () => {
        for (;;) {
          const got = await q.claim(5, 60_000, Date.now());
          if (got.length === 0) break;
          seen.push(...got.map((i) => i.id));
          await q.complete(got.map((i) => i.id));
        }
      }),
    );
    assert.equal(seen.length, 64);
    assert.equal(new Set(seen).size, 64, 'no intent handed out twice');
    assert.ok(new Set(seen.map((id) => id.split('-')[0])).size > PARTITIONS / 2, 'intents sit in many partitions');
  });

  it('a follow whose writer died after its step reaches the follower indexes at the next claim', async () => {
    const a = app();
    const r = store.connection;
    // The step as the writer left it: the edge's truth and its follow-up operation, nothing else.
    const source = 'timeline:crash';
    const follows = store.raw.follows;
    const truth = follows.edgeTruth(a, source, 'user:star');
    const base = truth.key.slice(0, truth.key.lastIndexOf('e:'));
    await r.cluster.hset(truth.key, truth.field, JSON.stringify({ c: 7, g: false, s: null }));
    await r.cluster.hset(`${base}px`, 'crash1', JSON.stringify({ t: 'edge', app: a, source, target: 'user:star' }));
    await r.cluster.zadd(`${base}pz`, Date.now(), 'crash1');
    assert.deepEqual(await follows.followers(a, 'user:star', 10, 0), []);
    await store.ports.intents.claim(10, 60_000, Date.now());
    assert.deepEqual(await follows.followers(a, 'user:star', 10, 0), [], 'a writer still within its lease is left alone');
    await store.ports.intents.claim(10, 60_000, Date.now() + 120_000);
    assert.deepEqual(await follows.followers(a, 'user:star', 10, 0), [{ source, target: 'user:star', createdUs: 7 }]);
    assert.equal(await r.cluster.zcard(`${base}pz`), 0);
    assert.ok(partitionBase(r.keys, 0).length > 0);
  });
});
