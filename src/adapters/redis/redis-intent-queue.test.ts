import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { activityId } from '../../core/activities/activity-id.js';
import type { ActivityRecord } from '../../ports/activity-store.js';
import { onRedisCluster, sharedCluster } from '../../../test/support/redis-cluster.js';
import { PARTITIONS, partitionBase, partitionOf } from './partitions.js';
import { decodeActivity, encodeActivity } from './redis-intent-queue.js';
import { RedisStore } from './redis-store.js';

onRedisCluster('activities and the intent queue', () => {
  let store: RedisStore;
  let n = 0;
  it('reads back every activity record as written: bodies and foreign ids with line breaks, and records of the earlier JSON form', async () => {
    const a = app();
    const odd = act(1, { foreignId: 'post:\n1', to: ['user:b', 'timeline:\nc'], body: '{"id":"x","text":"two\nlines\n"}' });
    const old = act(2, { timeUs: -5, foreignId: 'f', to: ['user:z'] });
    await store.ports.intents.commit(a, [{ activity: odd }, { activity: old }]);
    // A record as versions before the compact form wrote it (one JSON object).
    const p = partitionBase(store.connection.keys, partitionOf(old.id));
    await store.connection.cluster.hset(`${p}a:${a}`, old.id, JSON.stringify({ id: old.id, timeUs: old.timeUs, foreignId: old.foreignId, to: old.to, body: old.body }));
    const got = await store.ports.activities.getActivities(a, [odd.id, old.id]);
    assert.deepEqual(got.get(odd.id), odd);
    assert.deepEqual(got.get(old.id), old);
    assert.deepEqual(decodeActivity(odd.id, encodeActivity(odd), odd.home), odd);
  });

  const app = () => `iq${++n}`;
  const act = (t: number, extra: Partial<ActivityRecord> = {}): ActivityRecord => {
    const id = activityId(1_700_000_000_000_000 + t, `x${t}-${n}`);
    return { id, timeUs: 1_700_000_000_000_000 + t, foreignId: '', to: [], body: JSON.stringify({ id, actor: 'a', verb: 'post' }), home: 'user:a', ...extra };
  };
  before(async () => {
    store = await RedisStore.open({ ...(await sharedCluster()), durability: 'fast' });
  });
  after(() => store?.close());

  it('a step with a reaction and the activity of its target feeds, in two partitions, lands both; a conflicting reaction id lands neither', async () => {
    const a = app();
    const target = act(900);
    await store.ports.intents.commit(a, [{ activity: target }]);
    // The reaction's own activity (for its target feeds) in a partition other than the target's.
    let own = act(901);
    for (let i = 902; partitionOf(own.id) === partitionOf(target.id); i++) own = act(i);
    const reaction = { id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, kind: 'like', activityId: target.id, userId: 'u', parent: '', depth: 1, data: '{}', targetFeeds: ['user:u'], createdUs: 5, updatedUs: 5, deletedUs: null };
    const step = { activity: own, reactions: { add: [reaction] }, intents: [{ kind: 'fanout.add' as const, source: 'user:u', ids: [own.id], mode: 'queued' as const }] };
    const [done] = await store.ports.intents.commit(a, [step]);
    assert.equal(done.intents.length, 1);
    await store.ports.intents.complete(done.intents.map((i) => i.id)); // the other tests count the queue
    assert.equal((await store.ports.activities.getActivities(a, [own.id])).size, 1);
    assert.equal((await store.ports.reactions.getReactions(a, [reaction.id])).size, 1);
    const other = act(1900);
    await assert.rejects(store.ports.intents.commit(a, [{ ...step, activity: other, intents: [] }]), (err: Error) => err.name === 'ConflictError');
    assert.equal((await store.ports.activities.getActivities(a, [other.id])).size, 0, 'the activity of a refused reaction is not written');
  });

  it('spreads activities and intents over the partitions; workers in three processes claim each intent once', async () => {
    const a = app();
    const acts = Array.from({ length: 64 }, (_, i) => act(100 + i));
    const q = store.ports.intents;
    await q.commit(a, acts.map((x) => ({ activity: x, intents: [{ kind: 'fanout.add' as const, source: 'user:a', ids: [x.id], mode: 'queued' as const }] })));
    assert.equal((await store.ports.activities.getActivities(a, acts.map((x) => x.id))).size, 64);
    const seen: string[] = [];
    // Two more stores on the same keys stand for worker processes of their own.
    const others = await Promise.all([0, 1].map(() => RedisStore.open({ nodes: store.connection.settings.nodes, keyPrefix: store.connection.settings.keyPrefix, durability: 'fast' })));
    await Promise.all(
      [q, ...others.map((o) => o.ports.intents)].map(async (q) => {
        for (;;) {
          const got = await q.claim(5, 60_000, Date.now());
          if (got.length === 0) break;
          seen.push(...got.map((i) => i.id));
          await q.complete(got.map((i) => i.id));
        }
      }),
    );
    await Promise.all(others.map((o) => o.close()));
    assert.equal(seen.length, 64);
    assert.equal(new Set(seen).size, 64, 'no intent handed out twice');
    assert.ok(new Set(seen.map((id) => id.split('-')[0])).size > PARTITIONS / 2, 'intents sit in many partitions');
  });

  it('jobs are entries of a stream per partition, read by one consumer group; consumers of gone workers that hold no job are pruned', async () => {
    const a = app();
    const x = act(8000);
    const q = store.ports.intents;
    const [step] = await q.commit(a, [{ activity: x, intents: [{ kind: 'fanout.add', source: 'user:a', ids: [x.id], mode: 'queued' }] }]);
    const stream = `${partitionBase(store.connection.keys, partitionOf(x.id))}s`;
    const entries = async () => (await store.connection.cluster.xrange(stream, '-', '+')).length;
    assert.equal(await entries(), 1, 'XADDed with its step');
    // Another worker process claims the job and stops; this one's claims find it leased to that consumer.
    const other = await RedisStore.open({ nodes: store.connection.settings.nodes, keyPrefix: store.connection.settings.keyPrefix, durability: 'fast' });
    assert.deepEqual((await other.ports.intents.claim(10, 60_000, Date.now())).filter((i) => i.app === a).map((i) => i.id), [step.intents[0].id]);
    const holder = other.raw.intents.consumer;
    await other.close();
    const consumers = async () => ((await store.connection.cluster.call('XINFO', 'CONSUMERS', stream, 'w')) as string[][]).map((c) => c[1]);
    const pending = (await store.connection.cluster.call('XPENDING', stream, 'w')) as [number, string, string, [string, string][]];
    assert.deepEqual(pending[3], [[holder, '1']], 'XPENDING names the worker holding the job');
    await store.raw.intents.pruneConsumers(0);
    assert.ok((await consumers()).includes(holder), 'a consumer holding a job stays');
    await new Promise((r) => setTimeout(r, 40));
    const [taken] = (await q.claim(10, 20, Date.now())).filter((i) => i.app === a);
    assert.equal(taken.id, step.intents[0].id, 'taken over (XAUTOCLAIM) once idle for the lease');
    await q.complete([taken.id]);
    assert.equal(await entries(), 0, 'acknowledged and deleted when complete');
    await store.raw.intents.pruneConsumers(0);
    assert.ok(!(await consumers()).includes(holder), 'the gone worker holds nothing now: pruned');
  });

  it('a worker killed in the middle of a fan-out: another takes the intent over at its cursor, and every follower gets the activity exactly once', async () => {
    const a = app();
    const p = store.ports;
    const FOLLOWERS = 2000;
    const PAGE = 250;
    for (let i = 0; i < FOLLOWERS; i += 200) {
      await p.intents.commit(a, Array.from({ length: 200 }, (_, k) => ({ follow: { source: `timeline:f${i + k}`, target: 'user:star', createdUs: i + k, grouped: false, since: null } })));
    }
    const x = act(7, { home: 'user:star' });
    await p.intents.commit(a, [{ activity: x, intents: [{ kind: 'fanout.add', source: 'user:star', ids: [x.id], mode: 'queued' }] }]);
    // A second store on the same keys stands for the second worker process (a consumer of its own).
    const other = await RedisStore.open({ nodes: store.connection.settings.nodes, keyPrefix: store.connection.settings.keyPrefix, durability: 'fast' });
    /** One worker's run over an intent: pages of followers from its cursor; `pages` limits it (a crash after that many). */
    const work = async (q: typeof p.intents, lease: number, pages: number) => {
      const [intent] = (await q.claim(10, lease, Date.now())).filter((i) => i.app === a);
      assert.ok(intent, 'the intent is handed out');
      let cursor = intent.cursor;
      for (let n = 0; n < pages; n++) {
        const page = await p.follows.followerPage(a, intent.source, cursor, PAGE);
        await p.timelines.apply(a, page.followers.map((f) => ({ kind: 'add' as const, feed: f.feed, entries: intent.ids.map((id) => ({ id, origin: intent.source })), maxLength: 100 })));
        // The crash comes after the page was applied and before its progress was recorded.
        if (n === pages - 1 && page.cursor !== null) return intent;
        cursor = page.cursor;
        if (cursor === null) {
          await q.complete([intent.id]);
          return intent;
        }
        await q.progress([{ id: intent.id, cursor }]);
      }
      return intent;
    };
    const first = await work(p.intents, 60_000, 3);
    assert.deepEqual((await other.ports.intents.claim(10, 60_000, Date.now())).filter((i) => i.app === a), [], 'leased: nobody else takes it');
    // The lease is the stream entry's idle time on the server: the other worker's claim with a
    // lease of 20 ms takes it over (XAUTOCLAIM) once the first worker made no progress for that long.
    await new Promise((r) => setTimeout(r, 40));
    const second = await work(other.ports.intents, 20, 1000);
    await other.close();
    assert.equal(second.id, first.id);
    assert.notEqual(second.cursor, null, 'the second worker starts at the cursor the first one recorded');
    const scans = await p.timelines.scanMany(a, Array.from({ length: FOLLOWERS }, (_, i) => ({ feed: `timeline:f${i}`, limit: 10 })));
    assert.equal(scans.filter((l) => l.length === 1 && l[0].id === x.id).length, FOLLOWERS, 'every follower holds the activity once');
    await new Promise((r) => setTimeout(r, 40));
    assert.equal((await p.intents.claim(10, 20, Date.now())).filter((i) => i.app === a).length, 0, 'the intent is done');
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
    // A process that died while turning the feed to pull: the walk to its followers is done by a claim.
    const pullBase = follows.edgeTruth(a, 'user:star', 'x').key.replace(/e:[^:]*$/, '');
    await r.cluster.hset(`${pullBase}px`, 'crash2', JSON.stringify({ t: 'pull', app: a, feed: 'user:star' }));
    await r.cluster.zadd(`${pullBase}pz`, Date.now(), 'crash2');
    await store.ports.intents.claim(10, 60_000, Date.now() + 120_000);
    assert.deepEqual(await follows.pullSources(a, source), [{ feed: 'user:star', since: null, count: 0 }]);
    assert.deepEqual([...(await follows.pullServed(a, ['user:star']))], ['user:star']);
    assert.ok(partitionBase(r.keys, 0).length > 0);
  });
  it('a reaction with target feeds whose writer died between its two steps: the next claim commits its activity with the intents, once', async () => {
    const a = app();
    const q = store.ports.intents;
    const target = act(3000);
    await q.commit(a, [{ activity: target }]);
    let own = act(3001);
    for (let i = 3002; partitionOf(own.id) === partitionOf(target.id); i++) own = act(i);
    const reaction = (k: number) => ({ id: `00000000-0000-4000-9000-${String(n * 10 + k).padStart(12, '0')}`, kind: 'like', activityId: target.id, userId: 'u', parent: '', depth: 1, data: '{}', targetFeeds: ['user:u'], createdUs: 5, updatedUs: 5, deletedUs: null });
    const step = (r: ReturnType<typeof reaction>, x: ActivityRecord) => ({ activity: x, reactions: { add: [r] }, intents: [{ kind: 'fanout.add' as const, source: 'user:u', ids: [x.id], mode: 'inline' as const }] });
    // The writer dies right after the reaction's step landed.
    store.raw.intents.beforeFollowUps = async () => {
      throw new Error('the writer died');
    };
    try {
      await assert.rejects(q.commit(a, [step(reaction(1), own)]), /the writer died/);
    } finally {
      store.raw.intents.beforeFollowUps = null;
    }
    assert.equal((await store.ports.reactions.getReactions(a, [reaction(1).id])).size, 1, 'the reaction landed');
    assert.equal((await store.ports.activities.getActivities(a, [own.id])).size, 0, 'its activity did not, yet');
    const mine = async (now: number, lease = 60_000) => (await q.claim(100, lease, now)).filter((i) => i.app === a);
    assert.deepEqual(await mine(Date.now()), [], 'a writer still within its lease is left alone');
    assert.equal((await store.ports.activities.getActivities(a, [own.id])).size, 0);
    // Follow-up operations age by the writer's clock against the claim's `now`; the second step's
    // inline intent by the server's clock from the claim that committed it.
    assert.deepEqual(await mine(Date.now() + 120_000), [], 'the inline intent of the step the claim just committed is within its lease');
    assert.equal((await store.ports.activities.getActivities(a, [own.id])).size, 1, 'the claim committed the second step');
    await new Promise((r) => setTimeout(r, 40));
    const claimed = await mine(Date.now(), 20);
    assert.deepEqual(claimed.map((i) => i.ids), [[own.id]], 'with its fan-out intent, claimable like any inline intent its writer left');
    await q.complete(claimed.map((i) => i.id));

    // A writer dying after the second step landed and before it forgot the operation: applying it
    // again commits nothing twice.
    let other = act(4001);
    for (let i = 4002; partitionOf(other.id) === partitionOf(target.id); i++) other = act(i);
    let calls = 0;
    store.raw.intents.beforeFollowUps = async () => {
      if (++calls === 2) throw new Error('the writer died');
    };
    try {
      await assert.rejects(q.commit(a, [step(reaction(2), other)]), /the writer died/);
    } finally {
      store.raw.intents.beforeFollowUps = null;
    }
    assert.equal((await store.ports.activities.getActivities(a, [other.id])).size, 1);
    await new Promise((r) => setTimeout(r, 40));
    const again = await mine(Date.now() + 240_000, 20);
    assert.deepEqual(again.map((i) => i.ids), [[other.id]], 'one intent, not one per application');
    await q.complete(again.map((i) => i.id));
    assert.deepEqual(await mine(Date.now() + 360_000, 20), []);
  });

  it("a follow whose writer died after its step lifts the follower's hides of the target's entries at the next claim", async () => {
    const a = app();
    const p = store.ports;
    const x = act(5000, { home: 'user:hider-target' });
    await p.intents.commit(a, [{ activity: x }]);
    await p.timelines.apply(a, [{ kind: 'add', feed: 'user:hider-target', entries: [{ id: x.id, origin: null }], maxLength: 100 }]);
    await p.timelines.apply(a, [{ kind: 'hide', feed: 'timeline:hider', ids: [x.id] }]);
    store.raw.intents.beforeFollowUps = async () => {
      throw new Error('the writer died');
    };
    try {
      await assert.rejects(p.intents.commit(a, [{ follow: { source: 'timeline:hider', target: 'user:hider-target', createdUs: 1, grouped: false, since: null } }]), /the writer died/);
    } finally {
      store.raw.intents.beforeFollowUps = null;
    }
    assert.deepEqual((await p.timelines.readerState(a, 'timeline:hider')).hidden, [x.id], 'the follow step landed, its hides are not lifted yet');
    await p.intents.claim(10, 60_000, Date.now() + 120_000);
    assert.deepEqual((await p.timelines.readerState(a, 'timeline:hider')).hidden, [], 'the claim lifted them');
    assert.deepEqual(await store.raw.follows.followers(a, 'user:hider-target', 10, 0), [{ source: 'timeline:hider', target: 'user:hider-target', createdUs: 1 }]);
  });
});
