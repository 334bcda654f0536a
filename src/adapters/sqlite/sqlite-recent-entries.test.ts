import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { activityAt, idAt } from '../../../test/contract/ports-support.js';
import { timelineStoreContract } from '../../../test/contract/timeline-store.contract.js';
import { groupStoreContract } from '../../../test/contract/group-store.contract.js';
import type { PortsFactory } from '../../../test/contract/ports-support.js';
import type { TimelineStore } from '../../ports/timeline-store.js';
import { DIRECT_ADD_ROWS, MERGE_AT_ROWS, type SqliteTimelines } from './sqlite-feed-stores.js';
import { SqliteStore } from './sqlite-store.js';

// Flat entries live in two tables (SqliteTimelines): adds land in `recent_entries`, the writer
// merges them into `entries`. Every answer must be the same wherever the entries are.

/** The timeline and group contracts again, with every recent entry merged after each write. */
const mergedAfterEveryWrite: PortsFactory = async () => {
  const store = new SqliteStore(':memory:');
  const t = store.ports.timelines as SqliteTimelines;
  const timelines: TimelineStore = {
    scan: (app, s) => t.scan(app, s),
    scanMany: (app, s) => t.scanMany(app, s),
    readerState: (app, f) => t.readerState(app, f),
    entriesOf: (app, f, ids) => t.entriesOf(app, f, ids),
    entriesByForeignId: (app, f, id) => t.entriesByForeignId(app, f, id),
    apply: async (app, ops, opts) => {
      const changes = await t.apply(app, ops, opts);
      t.mergeAll();
      return changes;
    },
  };
  return { ports: { ...store.ports, timelines }, close: () => store.close() };
};
timelineStoreContract('sqlite, recent entries merged after every write', mergedAfterEveryWrite);
groupStoreContract('sqlite, recent entries merged after every write', mergedAfterEveryWrite);

const APP = 'app';
const ids = (list: { id: string }[]) => list.map((e) => e.id);
const rowsIn = (store: SqliteStore, table: 'entries' | 'recent_entries') => store.database.db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;

describe('SQLite recent entries', () => {
  it('checkpoints the WAL of a file store every 40,000 pages (rarer copies of pages many commits rewrite)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rivulet-wal-'));
    const store = new SqliteStore(join(dir, 'db.sqlite'));
    try {
      assert.equal(store.database.db.pragma('wal_autocheckpoint', { simple: true }), 40_000);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('trims a feed to its length after another connection added to it (the writer forgets its count bounds)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rivulet-totals-'));
    const a = new SqliteStore(join(dir, 'db.sqlite'));
    const b = new SqliteStore(join(dir, 'db.sqlite'));
    try {
      const feed = 'timeline:t';
      const acts = Array.from({ length: 6 }, (_, i) => activityAt(i + 1, 'user:a'));
      await a.ports.intents.commit(APP, acts.map((activity) => ({ activity })));
      const add = (store: SqliteStore, from: number, to: number) =>
        store.ports.timelines.apply(APP, [{ kind: 'add', feed, entries: acts.slice(from, to).map((x) => ({ id: x.id, origin: 'user:a' })), maxLength: 5 }]);
      await add(a, 0, 3);
      await add(b, 3, 5);
      // Six entries for a length of five: the oldest goes, though this writer added only four.
      await add(a, 5, 6);
      assert.equal((await a.ports.timelines.readerState(APP, feed)).count, 5);
      assert.deepEqual(ids(await a.ports.timelines.scan(APP, { feed, limit: 10 })), acts.slice(1).map((x) => x.id).reverse());
    } finally {
      await a.close();
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers the same with a feed split between both tables: scans, counts, trims, removals, idempotent adds', async () => {
    const store = new SqliteStore(':memory:');
    const t = store.ports.timelines as SqliteTimelines;
    const feed = 'timeline:r';
    const acts = Array.from({ length: 10 }, (_, i) => activityAt(i + 1, 'user:a', { foreignId: i === 2 ? 'fid:3' : i === 7 ? 'fid:8' : '' }));
    await store.ports.intents.commit(APP, acts.map((activity) => ({ activity })));
    const a = acts.map((x) => x.id);
    // 1..5 merged into the main table, 6..8 recent.
    await t.apply(APP, [{ kind: 'add', feed, entries: a.slice(0, 5).map((id) => ({ id, origin: 'user:a' })), maxLength: 100 }]);
    t.mergeAll();
    await t.apply(APP, [{ kind: 'add', feed, entries: a.slice(5, 8).map((id) => ({ id, origin: 'user:b' })), maxLength: 100 }]);
    assert.equal(rowsIn(store, 'entries'), 5);
    assert.equal(rowsIn(store, 'recent_entries'), 3);

    assert.deepEqual(ids(await t.scan(APP, { feed, limit: 4 })), [a[7], a[6], a[5], a[4]]);
    assert.deepEqual(ids(await t.scan(APP, { feed, limit: 3, offset: 2, idLt: a[7] })), [a[4], a[3], a[2]]);
    assert.deepEqual(ids(await t.scan(APP, { feed, idGt: a[3], idLte: a[6], limit: 10 })), [a[6], a[5], a[4]]);
    const bodies = await t.scan(APP, { feed, bodies: true, limit: 4, offset: 1 });
    assert.deepEqual(bodies, [6, 5, 4, 3].map((i) => ({ id: a[i], origin: i >= 5 ? 'user:b' : 'user:a', body: acts[i].body })));
    assert.equal((await t.readerState(APP, feed)).count, 8);
    assert.deepEqual(
      (await t.entriesOf(APP, feed, [a[0], a[6], a[9]])).sort((x, y) => (x.id < y.id ? -1 : 1)),
      [{ id: a[0], origin: 'user:a' }, { id: a[6], origin: 'user:b' }],
    );
    assert.deepEqual(await t.entriesByForeignId(APP, feed, 'fid:3'), [{ id: a[2], origin: 'user:a' }]);
    assert.deepEqual(await t.entriesByForeignId(APP, feed, 'fid:8'), [{ id: a[7], origin: 'user:b' }]);

    // Adding what either table holds changes nothing and keeps the first origin.
    assert.deepEqual(await t.apply(APP, [{ kind: 'add', feed, entries: [{ id: a[1], origin: 'user:z' }, { id: a[6], origin: 'user:z' }], maxLength: 100 }]), []);
    assert.deepEqual(await t.entriesOf(APP, feed, [a[1]]), [{ id: a[1], origin: 'user:a' }]);

    // A trim takes the oldest out of the main table first, then out of the recent one.
    const trim = await t.apply(APP, [{ kind: 'add', feed, entries: [{ id: a[8], origin: null }], maxLength: 7 }]);
    assert.deepEqual(trim.map((c) => [ids([...c.added]), [...c.removed].sort()]), [[[a[8]], [a[0], a[1]].sort()]]);
    const deep = await t.apply(APP, [{ kind: 'add', feed, entries: [{ id: a[9], origin: null }], maxLength: 2 }]);
    assert.deepEqual([...deep[0].removed].sort(), [a[2], a[3], a[4], a[5], a[6], a[7]].sort());
    assert.deepEqual(ids(await t.scan(APP, { feed, limit: 10 })), [a[9], a[8]]);
    assert.equal((await t.readerState(APP, feed)).count, 2);
    assert.equal(rowsIn(store, 'entries'), 0);

    // Removals find an entry in either table; counts stay exact through merges.
    const other = 'timeline:o';
    await t.apply(APP, [{ kind: 'add', feed: other, entries: a.slice(0, 4).map((id) => ({ id, origin: 'user:a' })), maxLength: 100 }]);
    t.mergeAll();
    await t.apply(APP, [{ kind: 'add', feed: other, entries: a.slice(4, 8).map((id) => ({ id, origin: id === a[7] ? 'user:c' : 'user:a' })), maxLength: 100 }]);
    const removed = await t.apply(APP, [
      { kind: 'remove', feed: other, ids: [a[0], a[5]] },
      { kind: 'remove', feed: other, ids: [a[7]], origin: 'user:a' },
    ]);
    assert.deepEqual([...removed[0].removed].sort(), [a[0], a[5]].sort());
    assert.equal((await t.readerState(APP, other)).count, 6);
    const byOrigin = await t.apply(APP, [{ kind: 'removeOrigin', feed: other, origin: 'user:a' }]);
    assert.deepEqual([...byOrigin[0].removed].sort(), [a[1], a[2], a[3], a[4], a[6]].sort());
    t.mergeAll();
    assert.deepEqual(await t.scan(APP, { feed: other, limit: 10 }), [{ id: a[7], origin: 'user:c' }]);
    assert.equal((await t.readerState(APP, other)).count, 1);
    assert.equal(rowsIn(store, 'recent_entries'), 0);
    await store.close();
  });

  for (const report of [true, false]) it(`a large call writes into the main table, never twice what the recent table holds${report ? '' : ' (no change records)'}`, async () => {
    const store = new SqliteStore(':memory:');
    const t = store.ports.timelines as SqliteTimelines;
    const feeds = Array.from({ length: DIRECT_ADD_ROWS }, (_, i) => `timeline:d${i}`);
    await t.apply(APP, [{ kind: 'add', feed: 'timeline:d0', entries: [{ id: idAt(1), origin: 'user:first' }, { id: idAt(3), origin: null }], maxLength: 100 }]);
    assert.equal(rowsIn(store, 'recent_entries'), 2);
    const shared = [{ id: idAt(1), origin: 'user:a' }, { id: idAt(2), origin: 'user:a' }];
    const changes = await t.apply(APP, feeds.map((feed) => ({ kind: 'add' as const, feed, entries: shared, maxLength: 2 })), { changes: report });
    assert.equal(rowsIn(store, 'recent_entries'), 1, 'the trim took idAt(1) out of the recent table');
    assert.equal(rowsIn(store, 'entries'), 2 * DIRECT_ADD_ROWS - 1);
    if (report) {
      const d0 = changes.find((c) => c.feed === 'timeline:d0')!;
      assert.deepEqual([ids([...d0.added]), d0.removed], [[idAt(2)], [idAt(1)]]);
      assert.equal(changes.length, DIRECT_ADD_ROWS);
    } else assert.deepEqual(changes, []);
    assert.deepEqual(await t.scan(APP, { feed: 'timeline:d0', limit: 10 }), [{ id: idAt(3), origin: null }, { id: idAt(2), origin: 'user:a' }]);
    assert.deepEqual(ids(await t.scan(APP, { feed: 'timeline:d7', limit: 10 })), [idAt(2), idAt(1)]);
    assert.deepEqual(
      await Promise.all(['timeline:d0', 'timeline:d7'].map(async (f) => (await t.readerState(APP, f)).count)),
      [2, 2],
    );
    t.mergeAll();
    assert.equal((await t.readerState(APP, 'timeline:d0')).count, 2);
    await store.close();
  });

  it('a large add sent to the writer thread by feed integers: known and new feeds, in order, with their changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rivulet-numbered-'));
    const store = new SqliteStore(join(dir, 'db.sqlite'), { writer: 'thread' });
    try {
      const t = store.ports.timelines;
      // Every other feed exists before (and this connection learns its integer by reading it).
      const feeds = Array.from({ length: 200 }, (_, i) => `timeline:n${i}`);
      const known = feeds.filter((_, i) => i % 2 === 0);
      await t.apply(APP, known.map((feed) => ({ kind: 'add' as const, feed, entries: [{ id: idAt(1), origin: 'user:a' }], maxLength: 2 })));
      for (const feed of known) assert.equal((await t.readerState(APP, feed)).count, 1);
      const entries = [{ id: idAt(2), origin: 'user:a' }, { id: idAt(3), origin: 'user:a' }];
      const changes = await t.apply(APP, [
        ...feeds.map((feed) => ({ kind: 'add' as const, feed, entries, maxLength: 2 })),
        { kind: 'remove' as const, feed: 'timeline:n1', ids: [idAt(3)] },
      ]);
      const byFeed = new Map(changes.map((c) => [c.feed, c]));
      assert.equal(byFeed.size, feeds.length);
      assert.deepEqual([ids([...byFeed.get('timeline:n0')!.added]).sort(), byFeed.get('timeline:n0')!.removed], [[idAt(2), idAt(3)].sort(), [idAt(1)]]);
      assert.deepEqual([ids([...byFeed.get('timeline:n1')!.added]), byFeed.get('timeline:n1')!.removed], [[idAt(2)], []]);
      for (const [i, feed] of feeds.entries()) {
        assert.deepEqual(ids(await t.scan(APP, { feed, limit: 10 })), i === 1 ? [idAt(2)] : [idAt(3), idAt(2)], feed);
        assert.equal((await t.readerState(APP, feed)).count, i === 1 ? 1 : 2, feed);
      }
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an add of an activity some feeds hold in the main table puts it only where it is missing', async () => {
    const store = new SqliteStore(':memory:');
    const t = store.ports.timelines as SqliteTimelines;
    const [x, y] = [idAt(1), idAt(2)];
    await t.apply(APP, [{ kind: 'add', feed: 'timeline:m1', entries: [{ id: x, origin: 'user:a' }], maxLength: 100 }]);
    t.mergeAll();
    // x is in the main table for m1 only; y is new. One call adds both to m1, m2 and m3.
    const changes = await t.apply(
      APP,
      ['timeline:m1', 'timeline:m2', 'timeline:m3'].map((feed) => ({ kind: 'add' as const, feed, entries: [{ id: x, origin: 'user:b' }, { id: y, origin: 'user:b' }], maxLength: 100 })),
    );
    const added = new Map(changes.map((c) => [c.feed, ids([...c.added]).sort()]));
    assert.deepEqual(added.get('timeline:m1'), [y]);
    assert.deepEqual(added.get('timeline:m2'), [x, y].sort());
    assert.equal(rowsIn(store, 'entries') + rowsIn(store, 'recent_entries'), 6);
    assert.deepEqual(await t.scan(APP, { feed: 'timeline:m1', limit: 10 }), [{ id: y, origin: 'user:b' }, { id: x, origin: 'user:a' }]);
    assert.equal((await t.readerState(APP, 'timeline:m1')).count, 2);
    t.mergeAll();
    assert.deepEqual(await t.scan(APP, { feed: 'timeline:m3', limit: 10 }), [{ id: y, origin: 'user:b' }, { id: x, origin: 'user:b' }]);
    await store.close();
  });

  it('merges in steps of whole feeds, a feed with more recent entries than a step included', async () => {
    const store = new SqliteStore(':memory:');
    const t = store.ports.timelines as SqliteTimelines;
    const entries = Array.from({ length: 30 }, (_, i) => ({ id: idAt(i + 1), origin: 'user:a' }));
    await t.apply(APP, ['timeline:1', 'timeline:2', 'timeline:3'].map((feed, k) => ({ kind: 'add' as const, feed, entries: entries.slice(0, 10 * (k + 1)), maxLength: 100 })));
    const before = await t.scanMany(APP, ['timeline:1', 'timeline:2', 'timeline:3'].map((feed) => ({ feed, limit: 100 })));
    const moved: number[] = [];
    for (let i = 0; i < 5 && rowsIn(store, 'recent_entries') > 0; i++) moved.push(t.mergeStep(5));
    assert.deepEqual(moved, [10, 20, 30], 'one whole feed per step of 5 rows');
    assert.deepEqual(await t.scanMany(APP, ['timeline:1', 'timeline:2', 'timeline:3'].map((feed) => ({ feed, limit: 100 }))), before);
    assert.deepEqual(
      await Promise.all(['timeline:1', 'timeline:2', 'timeline:3'].map(async (f) => (await t.readerState(APP, f)).count)),
      [10, 20, 30],
    );
    await store.close();
  });

  it('the writer merges on its own once enough recent entries wait, between commits', async () => {
    const store = new SqliteStore(':memory:');
    const t = store.ports.timelines;
    const feeds = Array.from({ length: 100 }, (_, i) => `timeline:f${i}`);
    const per = Math.ceil((MERGE_AT_ROWS + 500) / feeds.length);
    const entries = Array.from({ length: per }, (_, i) => ({ id: idAt(i + 1), origin: 'user:a' }));
    await t.apply(APP, feeds.map((feed) => ({ kind: 'add' as const, feed, entries, maxLength: 1000 })));
    for (let i = 0; i < 50 && rowsIn(store, 'recent_entries') > 0; i++) await new Promise((r) => setImmediate(r));
    assert.equal(rowsIn(store, 'recent_entries'), 0);
    assert.equal(rowsIn(store, 'entries'), per * feeds.length);
    assert.equal((await t.readerState(APP, 'timeline:f42')).count, per);
    assert.deepEqual(ids(await t.scan(APP, { feed: 'timeline:f7', limit: 2 })), [idAt(per), idAt(per - 1)]);
    await store.close();
  });

  it('a database from before the recent table gets it, and its entries read as before', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rivulet-recent-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'old.db');
    let store = new SqliteStore(path, { writer: 'inline' });
    const latest = store.database.migrations().latest;
    await store.ports.timelines.apply(APP, [{ kind: 'add', feed: 'timeline:x', entries: [1, 2, 3].map((s) => ({ id: idAt(s), origin: null })), maxLength: 100 }]);
    (store.ports.timelines as SqliteTimelines).mergeAll();
    await store.close();
    // Back to the schema before this step (and the one after it, the own-reactions index): the
    // entries are all in the main table.
    const raw = new Database(path);
    raw.exec('DROP TABLE recent_entries; DROP INDEX reactions_own');
    raw.pragma(`user_version = ${latest - 2}`);
    raw.close();
    store = new SqliteStore(path, { writer: 'inline' });
    assert.deepEqual(store.database.migrations(), { applied: latest, latest });
    const t = store.ports.timelines;
    assert.deepEqual(ids(await t.scan(APP, { feed: 'timeline:x', limit: 10 })), [idAt(3), idAt(2), idAt(1)]);
    await t.apply(APP, [{ kind: 'add', feed: 'timeline:x', entries: [{ id: idAt(4), origin: null }], maxLength: 3 }]);
    assert.deepEqual(ids(await t.scan(APP, { feed: 'timeline:x', limit: 10 })), [idAt(4), idAt(3), idAt(2)]);
    assert.equal((await t.readerState(APP, 'timeline:x')).count, 3);
    await store.close();
  });
});
