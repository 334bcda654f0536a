import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ConflictError, StoreError } from '../../core/errors.js';
import { changeKey } from '../../ports/change-marks.js';
import { act, placed, post } from '../../../test/support/write-batches.js';
import { SqliteStore } from './sqlite-store.js';

// The SQLite writer thread: every write of a store over a file applied by a dedicated thread, seen
// through the storage ports on the main thread and from a second connection to the same file.

const dir = mkdtempSync(join(tmpdir(), 'rivulet-writer-thread-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

function threaded(path = join(dir, `db${++n}.sqlite`)): { store: SqliteStore; path: string; other: Database.Database } {
  const store = new SqliteStore(path, { writer: 'thread' });
  const other = new Database(path, { readonly: true });
  open.push(other, store);
  return { store, path, other };
}

const APP = 'app';
const count = (db: Database.Database, sql: string) => db.prepare(sql).pluck().get() as number;

describe('SQLite writer thread', () => {
  it('is used for a database file when asked, never for :memory:', async () => {
    const { store } = threaded();
    assert.notEqual(store.writerThread, null);
    const memory = new SqliteStore(':memory:', { writer: 'thread' });
    open.push(memory);
    assert.equal(memory.writerThread, null);
  });

  it('acknowledges a write once committed; a read after it sees it, and the change mark moved', async () => {
    const { store, other } = threaded();
    const a = act(1000);
    const before = store.changeMark();
    const done = post(store, APP, a);
    const entry = store.ports.timelines.apply(APP, placed(a));
    // Handed over, not yet committed: another connection sees nothing.
    assert.equal(count(other, 'SELECT count(*) FROM activities'), 0);
    await Promise.all([done, entry]);
    assert.equal(count(other, 'SELECT count(*) FROM activities'), 1, 'committed when acknowledged');
    assert.notEqual(store.changeMark(), before);
    assert.deepEqual([...(await store.ports.activities.getActivities(APP, [a.id])).keys()], [a.id]);
    assert.deepEqual((await store.ports.timelines.scan(APP, { feed: 'user:a', limit: 10 })).map((e) => e.id), [a.id]);
    const marks = await store.changes.changesSince(0);
    assert.ok(marks.keys.includes(changeKey.feed(APP, 'user:a')), 'the change mark written by the thread is read here');
  });

  it('moves the change mark of another store over the same file (another process)', async () => {
    const { store, path } = threaded();
    const other = new SqliteStore(path, { writer: 'thread' });
    open.push(other);
    await post(store, APP, act(1500));
    const before = other.changeMark();
    const a = act(1501);
    await post(store, APP, a);
    assert.notEqual(other.changeMark(), before);
    assert.ok((await other.ports.activities.getActivities(APP, [a.id])).has(a.id));
  });

  it('commits the writes handed over together in one transaction, in order', async () => {
    const { store } = threaded();
    await post(store, APP, act(999));
    const commits = () => Atomics.load(store.writerThread!.commits, 0);
    const before = commits();
    const acts = Array.from({ length: 20 }, (_, i) => act(1000 + i));
    const settled: string[] = [];
    await Promise.all(acts.map((a) => post(store, APP, a).then(() => settled.push(a.id))));
    assert.deepEqual(settled, acts.map((a) => a.id), 'promises settle in the order the writes were handed over');
    assert.equal(commits() - before, 1, 'one transaction for the 20 writes');
  });

  it('holds a lazy completion back until the next write, which commits it in its own transaction', async () => {
    const { store, other } = threaded();
    const a = act(3000);
    const [step] = await store.ports.intents.commit(APP, [{ activity: a, intents: [{ kind: 'fanout.add', source: 'user:a', ids: [a.id], mode: 'inline' }] }]);
    const commits = () => Atomics.load(store.writerThread!.commits, 0);
    const before = commits();
    let completed = false;
    const completion = store.ports.intents.complete([step.intents[0].id], true).then(() => (completed = true));
    // Turns of the event loop pass: it is not sent on its own.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    assert.equal(completed, false);
    assert.equal(count(other, 'SELECT count(*) FROM outbox'), 1);
    const b = act(3001);
    await post(store, APP, b);
    await completion;
    assert.equal(commits() - before, 1, 'the completion went with the next write, in one transaction');
    assert.equal(count(other, 'SELECT count(*) FROM outbox'), 0);
    assert.equal(count(other, 'SELECT count(*) FROM activities'), 2);
  });

  it('sends a lazy completion alone after a while, and at once when someone waits for the writes', async () => {
    const { store, other } = threaded();
    const ids = [];
    for (const t of [3100, 3101]) {
      const a = act(t);
      const [step] = await store.ports.intents.commit(APP, [{ activity: a, intents: [{ kind: 'fanout.add', source: 'user:a', ids: [a.id], mode: 'inline' }] }]);
      ids.push(step.intents[0].id);
    }
    // Nothing else is written: it goes on its own.
    await store.ports.intents.complete([ids[0]], true);
    assert.equal(count(other, 'SELECT count(*) FROM outbox'), 1);
    // A caller waiting for every write handed over (close, tests, handedOver) does not wait for a later one.
    const completion = store.ports.intents.complete([ids[1]], true);
    await store.writes.handedOver();
    await completion;
    assert.equal(count(other, 'SELECT count(*) FROM outbox'), 0);
  });

  it('runs named operations of the ports there and returns their results', async () => {
    const { store } = threaded();
    const a = act(2000);
    const [step] = await store.ports.intents.commit(APP, [{ activity: a, intents: [{ kind: 'fanout.add', source: 'user:a', ids: [a.id], mode: 'queued' }] }]);
    assert.equal(step.intents.length, 1);
    assert.equal(step.intents[0].source, 'user:a');
    const changes = await store.ports.timelines.apply(APP, [{ kind: 'add', feed: 'timeline:b', entries: [{ id: a.id, origin: 'user:a' }], maxLength: 10 }]);
    assert.deepEqual(changes, [{ feed: 'timeline:b', added: [{ id: a.id, origin: 'user:a' }], removed: [] }]);
    const claimed = await store.ports.intents.claim(10, 60_000, Date.now());
    assert.deepEqual(claimed.map((i) => i.id), [step.intents[0].id]);
    await store.ports.intents.complete([step.intents[0].id]);
    assert.equal(await store.ports.intents.pendingCount(), 0);
    const [put] = await store.ports.users.putUsers(APP, [{ id: 'u1', data: '{"name":"x"}', createdUs: 1, updatedUs: 1 }], 'replace');
    assert.equal(put.record.id, 'u1');
    assert.equal((await store.ports.users.getUsers(APP, ['u1'])).get('u1')?.data, '{"name":"x"}');
  });

  it('saves model snapshots there, not on the connection that answers reads', async () => {
    const { store, other } = threaded();
    const own = () => store.database.db.prepare('SELECT total_changes()').pluck().get() as number;
    const before = own();
    const snapshot = { seq: 7, updates: 1.5, createdUs: 1, model: new Uint8Array([1, 2, 3]), state: new Uint8Array([4]) };
    assert.equal(await store.models.saveSnapshot(APP, snapshot, 2), 1);
    assert.equal(await store.models.saveSnapshot(APP, { ...snapshot, seq: 8 }, 2), 2);
    assert.equal(await store.models.saveSnapshot(APP, { ...snapshot, seq: 9 }, 2), 3);
    assert.equal(own(), before, 'no row written by the main connection');
    assert.equal(count(other, 'SELECT count(*) FROM p_models'), 2, 'the newest two kept');
    const latest = await store.models.latestSnapshot(APP);
    assert.deepEqual({ version: latest?.version, seq: latest?.seq, model: [...(latest?.model ?? [])] }, { version: 3, seq: 9, model: [1, 2, 3] });
  });

  it('sweeps expired signal events there too', async () => {
    const { store, other } = threaded();
    const event = (i: number, receivedUs: number) => ({
      event: { id: `e${i}`, source: 'analytics' as const, user: 'u', kind: 'engage' as const, label: 'click', activity: null, foreignId: null, weight: 1, feedId: null, location: null, position: null, features: [], trackedUs: receivedUs, receivedUs },
      dedupeKey: `k${i}`,
      dedupeUntilUs: receivedUs + 1,
    });
    await store.signals.recordSignals(APP, { events: [event(1, 100), event(2, 200), event(3, 5000)] });
    const own = () => store.database.db.prepare('SELECT total_changes()').pluck().get() as number;
    const before = own();
    assert.equal(await store.signals.sweepEvents(APP, 1000, 6000, 100), 2);
    assert.equal(own(), before, 'no row deleted by the main connection');
    assert.equal(count(other, 'SELECT count(*) FROM p_events'), 1);
  });

  it('fails a bad write alone with its own error class; the others of its transaction commit', async () => {
    const { store } = threaded();
    const a = act(3000);
    await post(store, APP, a);
    const like = { id: 'r1', kind: 'like', activityId: a.id, userId: 'u', parent: '', depth: 1, data: '{}', targetFeeds: [], createdUs: 1, updatedUs: 1, deletedUs: null };
    await store.ports.intents.commit(APP, [{ reactions: { add: [like] } }]);
    const b = act(3001);
    const [dup, ok] = await Promise.allSettled([store.ports.intents.commit(APP, [{ reactions: { add: [like] } }]), post(store, APP, b)]);
    assert.equal(dup.status, 'rejected');
    assert.ok((dup as PromiseRejectedResult).reason instanceof ConflictError, String((dup as PromiseRejectedResult).reason));
    assert.equal(ok.status, 'fulfilled');
    assert.ok((await store.ports.activities.getActivities(APP, [b.id])).has(b.id));
  });

  it('commits what it holds when the store closes, and ends the thread', async () => {
    const path = join(dir, `db${++n}.sqlite`);
    const store = new SqliteStore(path, { writer: 'thread' });
    const acts = Array.from({ length: 5 }, (_, i) => act(4000 + i));
    const writes = acts.map((a) => post(store, APP, a));
    await store.close();
    await Promise.all(writes);
    const again = new SqliteStore(path, { writer: 'inline' });
    open.push(again);
    assert.equal((await again.ports.activities.getActivities(APP, acts.map((a) => a.id))).size, 5);
  });

  it('fails the writes a crashed thread held with a store error, never hangs, and starts a new thread for later writes', async () => {
    const { store, other } = threaded();
    await post(store, APP, act(5000));
    const held = Array.from({ length: 50 }, (_, i) => post(store, APP, act(5001 + i)));
    // The writes go at the end of this turn; the thread ends right after.
    await new Promise((r) => setImmediate(r));
    const settled = Promise.allSettled(held);
    await store.writerThread!.stop();
    const outcomes = await settled;
    for (const o of outcomes) if (o.status === 'rejected') assert.ok(o.reason instanceof StoreError, String(o.reason));
    // Whatever was acknowledged is committed.
    const acknowledged = outcomes.filter((o) => o.status === 'fulfilled').length;
    assert.ok(count(other, 'SELECT count(*) FROM activities') >= 1 + acknowledged);
    const later = act(6000);
    await post(store, APP, later);
    assert.ok((await store.ports.activities.getActivities(APP, [later.id])).has(later.id));
  });

  it('ends a thread whose acknowledgement is on its way without hanging, and fails those writes', async () => {
    const { store } = threaded();
    await post(store, APP, act(7000));
    const thread = store.writerThread!;
    const before = Atomics.load(thread.commits, 0);
    const held = Array.from({ length: 20 }, (_, i) => post(store, APP, act(7001 + i)));
    await new Promise((r) => setImmediate(r)); // the writes went to the thread
    // Wait, without giving the event loop a turn, until the thread has committed them and sent its
    // acknowledgement: it arrives only after the thread was told to end.
    const deadline = Date.now() + 10_000;
    while (Atomics.load(thread.commits, 0) === before) assert.ok(Date.now() < deadline, 'the thread commits the held writes');
    const settle = Date.now() + 50;
    while (Date.now() < settle);
    const settled = Promise.allSettled(held);
    await thread.stop();
    for (const o of await settled) {
      assert.equal(o.status, 'rejected', 'a write whose acknowledgement had not arrived when the thread ended fails');
      assert.ok(o.reason instanceof StoreError, String(o.reason));
    }
    const later = act(7100);
    await post(store, APP, later);
    assert.ok((await store.ports.activities.getActivities(APP, [later.id])).has(later.id));
  });

  it("hands the change marks of its commits back with their acknowledgement, as the log has them; another process's marks are never skipped", async () => {
    const { store, path } = threaded();
    const marks = store.changes;
    const asRead = async (after: number) => {
      const c = await marks.changesSince(after);
      return { position: c.position, keys: [...c.keys].sort(), complete: c.complete };
    };
    const known = (after: number) => {
      const c = marks.known(after);
      return c === null ? null : { position: c.position, keys: [...c.keys].sort(), complete: c.complete };
    };
    await post(store, APP, act(8000));
    const p0 = await marks.position();
    const a1 = act(8001);
    await post(store, APP, a1);
    await store.ports.timelines.apply(APP, placed(a1));
    const k1 = known(p0);
    assert.notEqual(k1, null, 'known from the acknowledgements, alone');
    assert.deepEqual(k1, await asRead(p0));
    assert.ok(k1!.keys.includes(changeKey.activity(APP, a1.id)));

    // Committed, its acknowledgement sent but not received (the event loop has not turned): taken
    // ahead of the event loop, the write settled as it would have been.
    const p1 = await marks.position();
    const thread = store.writerThread!;
    const before = Atomics.load(thread.commits, 0);
    let settled = false;
    const held = post(store, APP, act(8002)).then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    const deadline = Date.now() + 10_000;
    while (Atomics.load(thread.commits, 0) === before) assert.ok(Date.now() < deadline, 'the thread commits');
    const sent = Date.now() + 50;
    while (Date.now() < sent);
    const taken = known(p1);
    assert.notEqual(taken, null, 'the acknowledgement on its way is taken');
    await held;
    assert.equal(settled, true);
    assert.deepEqual(taken, await asRead(p1));

    // A mark recorded on this connection (outside the thread) shows in the reports after it.
    const p2 = await marks.position();
    await marks.record([changeKey.app(APP)]);
    assert.equal(marks.known(p2), null, 'not known until a report reaches past it');
    await post(store, APP, act(8003));
    assert.deepEqual(known(p2), await asRead(p2));
    assert.ok(known(p2)!.keys.includes(changeKey.app(APP)));

    // Another process opens the file and writes: nothing is taken from the reports meanwhile.
    const p3 = await marks.position();
    const other = new SqliteStore(path, { writer: 'thread' });
    await other.ready();
    const b1 = act(8004, 'user:b');
    await post(other, APP, b1);
    await post(store, APP, act(8005));
    assert.equal(marks.known(p3), null, 'beside another process, the log is read');
    await other.close();
    // Gone again (noticed within the writers check): the other's marks are in the next reports.
    await new Promise((r) => setTimeout(r, 300));
    const b2 = act(8006, 'user:b');
    const late = new SqliteStore(path, { writer: 'thread' });
    await late.ready();
    await post(late, APP, b2);
    await late.close();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(marks.known(p3), null, 'a process came, wrote and left: not known until a report covers it');
    await post(store, APP, act(8007));
    const k3 = known(p3);
    assert.notEqual(k3, null, 'known again once a report reached the log as it was when the other left');
    assert.deepEqual(k3, await asRead(p3));
    assert.ok(k3!.keys.includes(changeKey.activity(APP, b1.id)) && k3!.keys.includes(changeKey.activity(APP, b2.id)));
    const p4 = await marks.position();
    await post(store, APP, act(8008));
    assert.deepEqual(known(p4), await asRead(p4), 'alone again: known from the acknowledgements');

    // A new thread (the old one ended) starts its reports afresh; nothing before them is known.
    await thread.stop();
    const p5 = await marks.position();
    await post(store, APP, act(8009));
    assert.deepEqual(known(p5), await asRead(p5));
    const p6 = await marks.position();
    await post(store, APP, act(8010));
    assert.deepEqual(known(p6), await asRead(p6));
  });
});
