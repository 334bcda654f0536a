import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { activityId } from '../../core/activities/activity-id.js';
import type { ActivityRecord } from '../../ports/activity-store.js';
import { onRedisCluster, sharedCluster } from '../../../test/support/redis-cluster.js';
import { RedisConnection } from './connection.js';
import { PARTITIONS, RedisIntentQueue } from './redis-intent-queue.js';
import { RedisAuditLog } from './redis-records.js';

/** Long enough that a busy machine still makes the next call within it. */
const LEASE = 3000;

onRedisCluster('activities and the intent queue', () => {
  let r: RedisConnection;
  let q: RedisIntentQueue;
  let audit: RedisAuditLog;
  let n = 0;
  const app = () => `iq${++n}`;
  const act = (t: number, extra: Partial<ActivityRecord> = {}): ActivityRecord => {
    const id = activityId(1_700_000_000_000_000 + t, `x${t}-${n}`);
    return { id, timeUs: 1_700_000_000_000_000 + t, foreignId: '', to: [], body: JSON.stringify({ id, actor: 'a', verb: 'post' }), home: 'user:a', ...extra };
  };
  // The queue is shared by every app on a key prefix; each test leaves it empty (drain).
  before(async () => {
    r = new RedisConnection({ ...(await sharedCluster()), durability: 'fast' });
    audit = new RedisAuditLog(r);
    q = new RedisIntentQueue(r, audit);
  });
  after(() => r?.close());

  const drain = async () => {
    for (;;) {
      const got = await q.claim(1000, 60_000);
      if (got.length === 0) break;
      await q.complete(got.map((i) => i.id));
    }
  };

  it('writes an activity with its intents in one step; the home feed of an existing activity is kept', async () => {
    const a = app();
    const x = act(1, { foreignId: 'post:1' });
    const [step] = await q.commit(a, [{ activity: x, intents: [{ kind: 'fanout.add', source: 'user:a', ids: [x.id], mode: 'queued' }], audit: { atUs: 5, changes: [{ entityType: 'activity', entityId: x.id, action: 'created', userId: 'a', custom: '{}' }] } }]);
    assert.equal(step.intents.length, 1);
    assert.deepEqual({ ...step.intents[0], id: '' }, { id: '', kind: 'fanout.add', source: 'user:a', ids: [x.id], mode: 'queued', app: a, cursor: null, queuedAt: step.intents[0].queuedAt, attempts: 0 });
    await q.commit(a, [{ activity: { ...x, body: '{"v":2}', home: 'user:other' } }]);
    const got = await q.getActivities(a, [x.id, x.id, activityId(1, 'none')]);
    assert.deepEqual([...got.keys()], [x.id]);
    assert.deepEqual(got.get(x.id), { ...x, body: '{"v":2}', home: 'user:a' });
    assert.deepEqual(await q.idsByForeignId(a, 'post:1'), [x.id]);
    assert.equal((await audit.latest(a, 'activity', x.id))?.action, 'created');
    await q.commit(a, [{ erase: [x.id] }]);
    assert.equal((await q.getActivities(a, [x.id])).size, 0);
    assert.deepEqual(await q.idsByForeignId(a, 'post:1'), []);
    await drain();
  });

  it('hands a queued intent out once per lease, takes it back when the lease runs out, keeps the cursor', async () => {
    const a = app();
    const x = act(2);
    await q.commit(a, [{ activity: x, intents: [{ kind: 'fanout.add', source: 'user:a', ids: [x.id], mode: 'queued' }] }]);
    assert.equal(await q.pendingCount(), 1);
    const other = new RedisIntentQueue(r, audit);
    const [first] = await q.claim(10, LEASE);
    assert.equal(first.attempts, 0);
    assert.deepEqual(await other.claim(10, LEASE), [], 'leased: another worker does not get it');
    await q.progress([{ id: first.id, cursor: 'f500' }]);
    await new Promise((res) => setTimeout(res, LEASE + 300));
    const [again] = await other.claim(10, LEASE);
    assert.equal(again.id, first.id);
    assert.equal(again.attempts, 1);
    assert.equal(again.cursor, 'f500');
    await other.complete([again.id]);
    await other.complete([again.id]); // twice: no error
    assert.equal(await q.pendingCount(), 0);
    await drain();
  });

  it('leaves an inline intent to its writer until the lease ran out', async () => {
    const a = app();
    const x = act(3);
    const [step] = await q.commit(a, [{ activity: x, intents: [{ kind: 'fanout.add', source: 'user:a', ids: [x.id], mode: 'inline' }] }]);
    assert.deepEqual(await q.claim(10, LEASE), []);
    await new Promise((res) => setTimeout(res, LEASE + 300));
    const [taken] = await q.claim(10, LEASE);
    assert.equal(taken.id, step.intents[0].id);
    await q.deadLetter(taken.id, 'boom');
    assert.equal(await q.pendingCount(), 0);
    assert.deepEqual((await q.deadLetters()).map((d) => [d.id, d.app, d.error]), [[taken.id, a, 'boom']]);
    await drain();
  });

  it('spreads activities and intents over the partitions; many workers claim each intent once', async () => {
    const a = app();
    const acts = Array.from({ length: 64 }, (_, i) => act(100 + i));
    await q.commit(a, acts.map((x) => ({ activity: x, intents: [{ kind: 'fanout.add' as const, source: 'user:a', ids: [x.id], mode: 'queued' as const }] })));
    assert.equal((await q.getActivities(a, acts.map((x) => x.id))).size, 64);
    const workers = [q, new RedisIntentQueue(r, audit), new RedisIntentQueue(r, audit)];
    const seen: string[] = [];
    await Promise.all(
      workers.map(async (w) => {
        for (;;) {
          const got = await w.claim(5, 60_000);
          if (got.length === 0) break;
          seen.push(...got.map((i) => i.id));
          await w.complete(got.map((i) => i.id));
        }
      }),
    );
    assert.equal(seen.length, 64);
    assert.equal(new Set(seen).size, 64, 'no intent handed out twice');
    assert.ok(new Set(seen.map((id) => id.split('-')[0])).size > PARTITIONS / 2, 'intents sit in many partitions');
    await assert.rejects(q.commit(a, [{ follow: { source: 'timeline:a', target: 'user:b', createdUs: 1, grouped: false, since: null } }]), /not stored on Redis yet/);
  });
});
