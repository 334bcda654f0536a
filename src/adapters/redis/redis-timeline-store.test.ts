import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { activityId } from '../../core/activities/activity-id.js';
import type { ActivityRecord, ActivityStore } from '../../ports/activity-store.js';
import { onRedisCluster, sharedCluster } from '../../../test/support/redis-cluster.js';
import { RedisConnection } from './connection.js';
import { RedisActivityHolds } from './redis-activity-holds.js';
import { LAZY_TRIM_MIN, RedisTimelineStore, TRIM_EVERY } from './redis-timeline-store.js';
import { PARTITIONS, partitionBase, partitionOf } from './partitions.js';
import { encodeActivity } from './redis-intent-queue.js';

/** Activity bodies for scans with `bodies` (the records themselves are not this store's). */
class Bodies implements ActivityStore {
  readonly records = new Map<string, ActivityRecord>();
  async getActivities(_app: string, ids: readonly string[]) {
    return new Map(ids.flatMap((id) => (this.records.has(id) ? [[id, this.records.get(id)!] as const] : [])));
  }
  async idsByForeignId(_app: string, foreignId: string) {
    return [...this.records.values()].filter((r) => r.foreignId === foreignId).map((r) => r.id).reverse();
  }
}

onRedisCluster('timeline store', () => {
  let store: RedisTimelineStore;
  let bodies: Bodies;
  let n = 0;
  const app = () => `tl${++n}`;
  const ids = Array.from({ length: 10 }, (_, i) => activityId(1_700_000_000_000_000 + i * 1000, `a${i}`));
  let r: RedisConnection;
  before(async () => {
    bodies = new Bodies();
    r = new RedisConnection({ ...(await sharedCluster()), durability: 'fast' });
    store = new RedisTimelineStore(r, bodies, new RedisActivityHolds(r));
  });
  after(() => r?.close());

  it('in durable mode an operation no intent covers resolves only once a replica has it; a covered one does not wait', async () => {
    // This cluster has no replicas: WAIT 1 never gets one.
    const durable = new RedisConnection({ ...(await sharedCluster()), durability: 'durable', waitTimeoutMs: 50 });
    try {
      const s = new RedisTimelineStore(durable, bodies, new RedisActivityHolds(durable));
      const a = app();
      const unhide = [{ kind: 'unhide' as const, feed: 'timeline:d', ids: [ids[0]] }];
      await assert.rejects(s.apply(a, unhide), /reached no replica/);
      assert.deepEqual(await s.apply(a, unhide, { covered: true }), []);
    } finally {
      await durable.close();
    }
  });

  it('a fan-out page larger than one pipeline, and one sent after the masters lost the fan-out function, adds to every feed once', async () => {
    const a = app();
    const page = (id: string, from: number, n: number) =>
      Array.from({ length: n }, (_, k) => ({ kind: 'add' as const, feed: `timeline:p${from + k}`, entries: [{ id, origin: 'user:star' }], maxLength: 2 }));
    const first = await store.apply(a, page(ids[0], 0, 700));
    assert.equal(first.length, 700);
    assert.deepEqual(first[699], { feed: 'timeline:p699', added: [{ id: ids[0], origin: 'user:star' }], removed: [] });
    // A master restarted without its data (or a new one) has no functions.
    for (const node of r.cluster.nodes('master')) await node.call('FUNCTION', 'FLUSH');
    const second = await store.apply(a, page(ids[1], 0, 700));
    assert.deepEqual(second.map((c) => c.feed), first.map((c) => c.feed));
    assert.ok(second.every((c) => c.added.length === 1 && c.added[0].id === ids[1] && c.removed.length === 0));
    assert.deepEqual(await store.apply(a, page(ids[1], 0, 700)), [], 'twice = once');
    const trimmed = await store.apply(a, page(ids[2], 0, 3));
    assert.deepEqual(trimmed[2], { feed: 'timeline:p2', added: [{ id: ids[2], origin: 'user:star' }], removed: [ids[0]] });
    assert.deepEqual(await store.scan(a, { feed: 'timeline:p2', limit: 5 }), [
      { id: ids[2], origin: 'user:star' },
      { id: ids[1], origin: 'user:star' },
    ]);
    assert.equal((await store.scan(a, { feed: 'timeline:p650', limit: 5 })).length, 2);
  });

  it('a fan-out page into full feeds trims their oldest entries, reports them unless asked not to, and keeps the counts of holding entries', async () => {
    const a = app();
    const held = async (id: string) => Number((await r.cluster.hget(`${partitionBase(r.keys, partitionOf(id))}ho:${a}`, id)) ?? 0);
    const page = (id: string, origin: string) => Array.from({ length: 4 }, (_, k) => ({ kind: 'add' as const, feed: `timeline:t${k}`, entries: [{ id, origin }], maxLength: 2 }));
    await store.apply(a, page(ids[2], 'user:s'));
    await store.apply(a, page(ids[4], 'user:s'));
    assert.deepEqual([await held(ids[2]), await held(ids[4])], [4, 4]);
    // Every feed is full: each add trims the oldest entry; an entry older than all is trimmed at once.
    const changes = await store.apply(a, page(ids[6], 'user:s'));
    assert.deepEqual(changes[3], { feed: 'timeline:t3', added: [{ id: ids[6], origin: 'user:s' }], removed: [ids[2]] });
    assert.deepEqual([await held(ids[2]), await held(ids[6])], [0, 4]);
    assert.deepEqual(await store.apply(a, page(ids[1], 'user:s')), [], 'older than every entry: neither added nor removed');
    assert.equal(await held(ids[1]), 0);
    // Without change records: the same effect, and an empty list.
    assert.deepEqual(await store.apply(a, page(ids[8], 'user:t'), { changes: false }), []);
    assert.deepEqual(await store.scan(a, { feed: 'timeline:t0', limit: 5 }), [
      { id: ids[8], origin: 'user:t' },
      { id: ids[6], origin: 'user:s' },
    ]);
    assert.deepEqual([await held(ids[4]), await held(ids[6]), await held(ids[8])], [0, 4, 4]);
    // The same id under another origin is not added again (the first origin is kept).
    assert.deepEqual(await store.apply(a, page(ids[8], 'user:s'), { changes: false }), []);
    assert.deepEqual(await store.apply(a, page(ids[8], 'user:s')), []);
    assert.equal(await held(ids[8]), 4);
    // A general call (two entries in one feed) without change records.
    assert.deepEqual(await store.apply(a, [{ kind: 'add', feed: 'timeline:t0', entries: [{ id: ids[9], origin: null }, { id: ids[7], origin: null }], maxLength: 2 }], { changes: false }), []);
    assert.deepEqual((await store.scan(a, { feed: 'timeline:t0', limit: 5 })).map((e) => e.id), [ids[9], ids[8]]);
    assert.deepEqual([await held(ids[6]), await held(ids[7]), await held(ids[9])], [3, 0, 1]);
  });

  /** Calls of the store's feed functions on every master so far. */
  const fcalls = async () => {
    let n = 0;
    for (const node of r.cluster.nodes('master')) n += Number(/cmdstat_fcall:calls=(\d+)/.exec(await node.info('commandstats'))?.[1] ?? 0);
    return n;
  };
  /** Every count of holding entries of the app, summed. */
  const allHeld = async (a: string) => {
    let n = 0;
    for (let p = 0; p < PARTITIONS; p++) for (const v of await r.cluster.hvals(`${partitionBase(r.keys, p)}ho:${a}`)) n += Number(v);
    return n;
  };
  const big = (id: string, feed: string, origin: string | null = 'user:s') => ({ kind: 'add' as const, feed, entries: [{ id, origin }], maxLength: LAZY_TRIM_MIN });

  it('a page of an activity with one source puts plain members into long feeds: once each, counted, few function calls', async () => {
    const a = app();
    await store.apply(a, [{ kind: 'add', feed: 'user:s', entries: [{ id: ids[0], origin: null }], maxLength: 10 }]);
    const calls = await fcalls();
    const feeds = Array.from({ length: 2000 }, (_, k) => `timeline:q${k}`);
    const changes = await store.apply(a, feeds.map((f) => big(ids[0], f)));
    assert.equal(changes.length, 2000);
    assert.ok(changes.every((c) => c.added.length === 1 && c.added[0].origin === 'user:s' && c.removed.length === 0));
    // Feeds below their maximum need no function: the adds whose turn it is to trim (about one in
    // TRIM_EVERY) look at the feed's length with a plain ZCARD.
    assert.equal((await fcalls()) - calls, 0);
    assert.deepEqual(await store.apply(a, feeds.map((f) => big(ids[0], f))), [], 'twice = once');
    assert.equal(await allHeld(a), 2001);
    assert.deepEqual(await store.scan(a, { feed: 'timeline:q1999', limit: 5 }), [{ id: ids[0], origin: 'user:s' }]);
  });

  it('an activity without a source record gets one from its first page when that is sure, and its pages take plain adds', async () => {
    const a = app();
    const hs = (id: string) => `${partitionBase(r.keys, partitionOf(id))}hs:${a}`;
    const record = async (id: string, home: string, to: string[]) => {
      const base = partitionBase(r.keys, partitionOf(id));
      await r.cluster.hset(`${base}a:${a}`, id, encodeActivity({ id, timeUs: 1, foreignId: '', to, body: '{}' }), `${id}/h`, home);
    };
    // Written by a version without source records: its direct entry in its home, counted, no record.
    const written = async (id: string, home: string, to: string[]) => {
      await record(id, home, to);
      await store.apply(a, [{ kind: 'add', feed: home, entries: [{ id, origin: null }], maxLength: 10 }]);
      await r.cluster.hdel(hs(id), id);
    };
    const feeds = Array.from({ length: 800 }, (_, k) => `timeline:l${k}`);
    const spread = async (id: string, origin: string) => {
      const calls = await fcalls();
      const changes = await store.apply(a, feeds.map((f) => big(id, f, origin)));
      assert.equal(changes.length, feeds.length);
      return (await fcalls()) - calls;
    };
    await written(ids[4], 'user:s', []);
    const few = (800 / TRIM_EVERY) * 2;
    assert.ok((await spread(ids[4], 'user:s')) < few, 'its home is its one source');
    assert.equal(await r.cluster.hget(hs(ids[4]), ids[4]), 'user:s');
    // No entry holds it at all (spread without a direct entry first).
    assert.ok((await spread(ids[5], 'user:s')) < few, 'nothing holds it yet');
    assert.equal(await r.cluster.hget(hs(ids[5]), ids[5]), 'user:s');
    // A `to` target, another home, or more than one entry counted: no record, every add looks.
    await written(ids[6], 'user:s', ['user:t']);
    await written(ids[7], 'user:o', []);
    await written(ids[8], 'user:s', []);
    await store.apply(a, [{ kind: 'add', feed: 'user:x', entries: [{ id: ids[8], origin: null }], maxLength: 10 }]);
    await r.cluster.hdel(hs(ids[8]), ids[8]);
    for (const id of [ids[6], ids[7], ids[8]]) {
      assert.equal(await spread(id, 'user:s'), feeds.length);
      assert.equal(await r.cluster.hget(hs(id), id), null);
    }
    assert.equal(await allHeld(a), 5 * 800 + 5);
    // Once recorded, a second source is told apart as before.
    await store.apply(a, [{ kind: 'add', feed: 'user:b', entries: [{ id: ids[5], origin: null }], maxLength: 10 }]);
    assert.equal(await r.cluster.hget(hs(ids[5]), ids[5]), '*');
  });

  it('a long feed filled by pages holds at most a few entries beyond its maximum, counted, and a trimming add brings it back to it', async () => {
    const a = app();
    const many = Array.from({ length: LAZY_TRIM_MIN + 300 }, (_, i) => activityId(1_700_000_000_000_000 + i * 1000, `z${i}`));
    // Written into their own feed first (one source each), then spread into one follower feed, one page each.
    await store.apply(a, [{ kind: 'add', feed: 'user:s', entries: many.map((id) => ({ id, origin: null })), maxLength: 100_000 }]);
    for (let i = 0; i < many.length; i += 50) await Promise.all(many.slice(i, i + 50).map((id) => store.apply(a, [big(id, 'timeline:z')])));
    const count = (await store.readerState(a, 'timeline:z')).count;
    assert.ok(count >= LAZY_TRIM_MIN && count <= LAZY_TRIM_MIN + 10 * TRIM_EVERY, `${count} entries`);
    assert.equal(await allHeld(a), many.length + count);
    // What the feed holds is always its newest entries.
    const newest = await store.scan(a, { feed: 'timeline:z', limit: LAZY_TRIM_MIN });
    assert.deepEqual(newest.map((e) => e.id), many.slice(-LAZY_TRIM_MIN).reverse());
    const late = activityId(1_800_000_000_000_000, 'late');
    await store.apply(a, [{ kind: 'add', feed: 'timeline:z', entries: [{ id: late, origin: null }, { id: ids[0], origin: null }], maxLength: LAZY_TRIM_MIN }]);
    assert.equal((await store.readerState(a, 'timeline:z')).count, LAZY_TRIM_MIN);
    assert.equal(await allHeld(a), many.length + LAZY_TRIM_MIN);
  });

  it('a page of an activity that has had two sources looks for the id under the other origin and keeps the first', async () => {
    const a = app();
    await store.apply(a, [{ kind: 'add', feed: 'user:a', entries: [{ id: ids[1], origin: null }], maxLength: 10 }]);
    await store.apply(a, [{ kind: 'add', feed: 'user:b', entries: [{ id: ids[1], origin: null }], maxLength: 10 }]);
    const feeds = Array.from({ length: 40 }, (_, k) => `timeline:m${k}`);
    await store.apply(a, feeds.map((f) => big(ids[1], f, 'user:b')));
    assert.deepEqual(await store.apply(a, feeds.map((f) => big(ids[1], f, 'user:a'))), []);
    const scans = await store.scanMany(a, feeds.map((feed) => ({ feed, limit: 5 })));
    assert.ok(scans.every((l) => l.length === 1 && l[0].origin === 'user:b'));
    // An entry whose origin is its own feed (a feed following itself) meets its direct entry.
    assert.deepEqual(await store.apply(a, [big(ids[1], 'user:a', 'user:a'), big(ids[1], 'timeline:m0', 'user:b')]), []);
    assert.equal(await allHeld(a), 42);
  });

  it('a second source that lands between a page\'s look at the sources and its adds keeps its entries; the page takes its own out', async () => {
    const a = app();
    await store.apply(a, [{ kind: 'add', feed: 'user:a', entries: [{ id: ids[2], origin: null }], maxLength: 10 }]);
    const feeds = Array.from({ length: 8 }, (_, k) => `timeline:x${k}`);
    const other = new RedisTimelineStore(r, bodies, new RedisActivityHolds(r));
    let interloped = false;
    class Interloping extends RedisActivityHolds {
      override async adjustWithSources(...args: Parameters<RedisActivityHolds['adjustWithSources']>) {
        const single = await super.adjustWithSources(...args);
        if (!interloped) {
          interloped = true;
          // Another write puts the activity into user:b directly and spreads it to the same feeds.
          await other.apply(a, [{ kind: 'add', feed: 'user:b', entries: [{ id: ids[2], origin: null }], maxLength: 10 }]);
          await other.apply(a, feeds.map((f) => big(ids[2], f, 'user:b')));
        }
        return single;
      }
    }
    const racing = new RedisTimelineStore(r, bodies, new Interloping(r));
    const changes = await racing.apply(a, feeds.map((f) => big(ids[2], f, 'user:a')));
    assert.ok(interloped);
    assert.deepEqual(changes, []);
    const scans = await store.scanMany(a, feeds.map((feed) => ({ feed, limit: 5 })));
    assert.deepEqual(scans, feeds.map(() => [{ id: ids[2], origin: 'user:b' }]));
    assert.equal(await allHeld(a), 10);
  });

  it('a page done again after one that stopped between its plain adds and its second look takes the duplicate it left out', async () => {
    const a = app();
    const id = ids[3];
    await store.apply(a, [{ kind: 'add', feed: 'user:a', entries: [{ id, origin: null }], maxLength: 10 }]);
    await store.apply(a, [{ kind: 'add', feed: 'user:b', entries: [{ id, origin: null }], maxLength: 10 }]);
    await store.apply(a, [big(id, 'timeline:d0', 'user:b'), big(id, 'timeline:d1', 'user:b')]);
    // What the stopped page left: its member in timeline:d0 beside the other source's, counted.
    const hex = `${id.slice(14, 18)}${id.slice(9, 13)}${id.slice(0, 8)}${id.slice(19, 23)}${id.slice(24, 36)}`;
    await r.cluster.zadd(r.keys.feed(a, 'timeline:d0', 'tl'), 0, `${hex}user:a`);
    await r.cluster.hincrby(`${partitionBase(r.keys, partitionOf(id))}ho:${a}`, id, 1);
    assert.equal((await store.readerState(a, 'timeline:d0')).count, 2);
    assert.deepEqual(await store.apply(a, [big(id, 'timeline:d0', 'user:a'), big(id, 'timeline:d1', 'user:a')]), []);
    assert.deepEqual(await store.scanMany(a, [{ feed: 'timeline:d0', limit: 5 }, { feed: 'timeline:d1', limit: 5 }]), [[{ id, origin: 'user:b' }], [{ id, origin: 'user:b' }]]);
    assert.equal(await allHeld(a), 4);
  });

  it('adds idempotently, keeps the first origin and the newest maxLength, and reports what changed', async () => {
    const a = app();
    const first = await store.apply(a, [{ kind: 'add', feed: 'timeline:u', entries: [{ id: ids[1], origin: 'user:x' }, { id: ids[0], origin: null }], maxLength: 3 }]);
    assert.deepEqual(first, [{ feed: 'timeline:u', added: [{ id: ids[1], origin: 'user:x' }, { id: ids[0], origin: null }], removed: [] }]);
    assert.deepEqual(await store.apply(a, [{ kind: 'add', feed: 'timeline:u', entries: [{ id: ids[1], origin: 'user:y' }], maxLength: 3 }]), [], 'twice = once');
    await store.apply(a, [{ kind: 'add', feed: 'timeline:u', entries: [{ id: ids[3], origin: null }, { id: ids[2], origin: 'user:y' }], maxLength: 3 }]);
    assert.deepEqual(await store.scan(a, { feed: 'timeline:u', limit: 10 }), [
      { id: ids[3], origin: null },
      { id: ids[2], origin: 'user:y' },
      { id: ids[1], origin: 'user:x' },
    ]);
    const late = await store.apply(a, [{ kind: 'add', feed: 'timeline:u', entries: [{ id: ids[0], origin: null }], maxLength: 3 }]);
    assert.deepEqual(late, [], 'an entry trimmed at once is not reported as added');
    assert.equal((await store.readerState(a, 'timeline:u')).count, 3);
  });

  it('scans by id bounds newest first, with offset, direct entries only, and bodies', async () => {
    const a = app();
    await store.apply(a, [{ kind: 'add', feed: 'user:b', entries: ids.map((id, i) => ({ id, origin: i % 2 ? 'user:o' : null })), maxLength: 100 }]);
    const page = (s: object) => store.scan(a, { feed: 'user:b', limit: 100, ...s }).then((l) => l.map((e) => ids.indexOf(e.id)));
    assert.deepEqual(await page({}), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    assert.deepEqual(await page({ idLt: ids[5] }), [4, 3, 2, 1, 0]);
    assert.deepEqual(await page({ idLte: ids[5], idGt: ids[2] }), [5, 4, 3]);
    assert.deepEqual(await page({ idGte: ids[7], idLt: ids[9], idLte: ids[9] }), [8, 7]);
    assert.deepEqual(await page({ offset: 2, limit: 3 }), [7, 6, 5]);
    assert.deepEqual(await page({ directOnly: true, offset: 1, limit: 2 }), [6, 4]);
    bodies.records.set(ids[9], { id: ids[9], timeUs: 1, foreignId: 'f', to: [], body: '{"x":9}', home: 'user:b' });
    const withBodies = await store.scan(a, { feed: 'user:b', limit: 2, bodies: true });
    assert.deepEqual(withBodies, [{ id: ids[9], origin: 'user:o', body: '{"x":9}' }], 'entries whose activity is gone are left out');
    const many = await store.scanMany(a, [{ feed: 'user:b', limit: 1 }, { feed: 'user:none', limit: 5 }, { feed: 'user:b', idLt: ids[1], limit: 5 }]);
    assert.deepEqual(many.map((l) => l.map((e) => ids.indexOf(e.id))), [[9], [], [0]]);
    assert.deepEqual((await store.entriesOf(a, 'user:b', [ids[3], ids[3], activityId(5, 'none')])), [{ id: ids[3], origin: 'user:o' }]);
    assert.deepEqual(await store.entriesByForeignId(a, 'user:b', 'f'), [{ id: ids[9], origin: 'user:o' }]);
  });

  it('removes by id (any origin, one origin, direct only) and by origin; twice = once', async () => {
    const a = app();
    const f = 'timeline:r';
    await store.apply(a, [{ kind: 'add', feed: f, entries: [{ id: ids[0], origin: null }, { id: ids[1], origin: 'user:p' }, { id: ids[2], origin: 'user:p' }, { id: ids[3], origin: 'user:q' }], maxLength: 10 }]);
    assert.deepEqual(await store.apply(a, [{ kind: 'remove', feed: f, ids: [ids[1], ids[3]], origin: 'user:q' }]), [{ feed: f, added: [], removed: [ids[3]] }]);
    assert.deepEqual(await store.apply(a, [{ kind: 'remove', feed: f, ids: [ids[0], ids[1]], origin: null }]), [{ feed: f, added: [], removed: [ids[0]] }]);
    assert.deepEqual(await store.apply(a, [{ kind: 'removeOrigin', feed: f, origin: 'user:p' }]), [{ feed: f, added: [], removed: [ids[1], ids[2]] }]);
    assert.deepEqual(await store.apply(a, [{ kind: 'removeOrigin', feed: f, origin: 'user:p' }, { kind: 'remove', feed: f, ids: [ids[0]] }]), []);
    assert.equal((await store.readerState(a, f)).count, 0);
  });

  it('hides and unhides ids, and raises the floor but never lowers it', async () => {
    const a = app();
    const f = 'timeline:h';
    await store.apply(a, [{ kind: 'hide', feed: f, ids: [ids[1], ids[2]], floor: ids[4] }, { kind: 'hide', feed: f, ids: [ids[2]], floor: ids[3] }]);
    let s = await store.readerState(a, f);
    assert.deepEqual([s.floor, [...s.hidden].sort()], [ids[4], [ids[1], ids[2]].sort()]);
    await store.apply(a, [{ kind: 'unhide', feed: f, ids: [ids[1]] }, { kind: 'hide', feed: f, ids: [], floor: ids[6] }]);
    s = await store.readerState(a, f);
    assert.deepEqual([s.floor, s.hidden, s.count], [ids[6], [ids[2]], 0]);
  });

  it('applies the operations of many feeds in one call, each feed in its own slot', async () => {
    const a = app();
    const feeds = Array.from({ length: 50 }, (_, i) => `timeline:f${i}`);
    const changes = await store.apply(a, feeds.map((feed) => ({ kind: 'add' as const, feed, entries: [{ id: ids[0], origin: 'user:src' }], maxLength: 5 })));
    assert.equal(changes.length, 50);
    const scans = await store.scanMany(a, feeds.map((feed) => ({ feed, limit: 5 })));
    assert.ok(scans.every((l) => l.length === 1 && l[0].origin === 'user:src'));
  });
});
