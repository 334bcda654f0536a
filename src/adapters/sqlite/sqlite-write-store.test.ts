import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { act, placed, post } from '../../../test/support/write-batches.js';
import { SqliteStore } from './sqlite-store.js';

// The group commit of SqliteWriteStore, seen through the storage ports and from a second
// connection to the same file, which sees only what was committed.

const dir = mkdtempSync(join(tmpdir(), 'rivulet-group-commit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
let store: SqliteStore;
let other: Database.Database;

beforeEach(() => {
  const path = join(dir, `db${++n}.sqlite`);
  store = new SqliteStore(path, { writer: 'inline' });
  other = new Database(path, { readonly: true });
});
afterEach(async () => {
  other.close();
  await store.close();
});

const APP = 'app';
/** Activity ids committed so far, as another connection sees them. */
const committedActivities = () => (other.prepare('SELECT id FROM activities ORDER BY id').pluck().all() as string[]).sort();
const committedEntries = (fid: string) =>
  other
    .prepare(
      `SELECT (SELECT count(*) FROM entries e WHERE e.feed = f.id) + (SELECT count(*) FROM recent_entries r WHERE r.feed = f.id)
       FROM feeds f WHERE f.fid = ?`,
    )
    .pluck()
    .get(fid) as number;

describe('SQLite group commit', () => {
  it('commits the writes of one turn together, and each promise resolves only once its write is committed', async () => {
    const acts = Array.from({ length: 20 }, (_, i) => act(1000 + i));
    const settled: string[] = [];
    const seenAtAck: number[] = [];
    const commits = acts.map((a) =>
      post(store, APP, a).then(() => {
        settled.push(a.id);
        seenAtAck.push(committedActivities().length);
      }),
    );
    // Handed over, not yet committed: another connection sees nothing.
    assert.deepEqual(committedActivities(), []);
    await Promise.all(commits);
    assert.deepEqual(settled, acts.map((a) => a.id), 'promises settle in the order the writes were handed over');
    // Every ack came after the commit of the whole group (one transaction: all 20 at once).
    assert.deepEqual(seenAtAck, acts.map(() => 20));
    assert.deepEqual(committedActivities(), acts.map((a) => a.id).sort());
  });

  it('applies waiting writes in the order they were handed over', async () => {
    const a = act(1000);
    const t = store.ports.timelines;
    const first = post(store, APP, a);
    const second = t.apply(APP, placed(a, ['user:a', 'timeline:x']));
    const third = t.apply(APP, [{ kind: 'remove', feed: 'timeline:x', ids: [a.id] }]);
    const fourth = t.apply(APP, [{ kind: 'add', feed: 'timeline:y', entries: [{ id: a.id, origin: 'user:a' }], maxLength: 100 }]);
    await Promise.all([first, second, third, fourth]);
    assert.equal(committedEntries('timeline:x'), 0, 'the removal ran after the insert');
    assert.equal(committedEntries('timeline:y'), 1);
    assert.deepEqual(await t.scan(APP, { feed: 'timeline:x', limit: 10 }), []);
  });

  it('fails a bad write alone; the others of its group still commit, and feeds it created are forgotten', async () => {
    const good1 = act(1000);
    const good2 = act(2000);
    const t = store.ports.timelines;
    // The bad write creates feed `timeline:new` and then fails on a malformed id, rolling back.
    const bad = t.apply(APP, [{ kind: 'add', feed: 'timeline:new', entries: [{ id: good1.id, origin: null }, { id: 'not-an-id', origin: null }], maxLength: 100 }]);
    const results = await Promise.allSettled([post(store, APP, good1), bad, post(store, APP, good2), t.apply(APP, placed(good2, ['user:a', 'timeline:new']))]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    assert.match(String((results[1] as PromiseRejectedResult).reason), /not an activity id/);
    assert.deepEqual(committedActivities(), [good1.id, good2.id].sort());
    // The last write wrote into `timeline:new` after the bad one's rollback dropped that feed row.
    assert.deepEqual((await t.scan(APP, { feed: 'timeline:new', limit: 10 })).map((e) => e.id), [good2.id]);
    assert.equal(committedEntries('timeline:new'), 1);
  });

  it('rejects a failing write that was alone in its turn', async () => {
    await assert.rejects(store.ports.timelines.apply(APP, [{ kind: 'add', feed: 'user:a', entries: [{ id: 'bad', origin: null }], maxLength: 100 }]), /not an activity id/);
    await post(store, APP, act(1000));
    assert.equal(committedActivities().length, 1);
  });

  it('commits waiting writes before any other store call, so a read sees every write handed over before it', async () => {
    const a = act(1000);
    const pending = post(store, APP, a);
    // Not awaited: the read itself must commit the waiting write first.
    assert.deepEqual([...(await store.ports.activities.getActivities(APP, [a.id])).keys()], [a.id]);
    assert.deepEqual(committedActivities(), [a.id], 'the read committed it (no uncommitted data is read)');
    await pending;
  });

  it('lets writes wait across follow-graph reads unless a waiting write changes the graph', async () => {
    const follow = (source: string, createdUs: number) => store.ports.intents.commit(APP, [{ follow: { source, target: 'user:a', createdUs, grouped: false, since: null } }]);
    await follow('timeline:f', 1);
    const a = act(1000);
    const pending = store.ports.timelines.apply(APP, placed(a));
    const page = await store.ports.follows.followerPage(APP, 'user:a', null, 10);
    assert.deepEqual(page.followers.map((f) => f.feed), ['timeline:f']);
    assert.equal(committedEntries('user:a'), 0, 'a post does not change the graph: it may wait');
    const second = follow('timeline:g', 2);
    const after = await store.ports.follows.followerPage(APP, 'user:a', null, 10);
    assert.deepEqual(after.followers.map((f) => f.feed), ['timeline:f', 'timeline:g'], 'a waiting follow is committed before a graph read');
    assert.equal(committedEntries('user:a'), 1);
    await Promise.all([pending, second]);
  });

  it('commits waiting writes when the store closes', async () => {
    const a = act(1000);
    const pending = post(store, APP, a);
    await store.close();
    await pending;
    assert.deepEqual(committedActivities(), [a.id]);
  });

  it('writes an activity named with the body it was made from only while that body is stored, and otherwise refuses the whole write', async () => {
    const a = act(5000);
    await post(store, APP, a);
    const stored = () => other.prepare('SELECT body FROM activities WHERE id = ?').pluck().get(a.id);
    const first = { ...a, body: JSON.stringify({ id: a.id, n: 1 }) };
    await store.ports.intents.commit(APP, [{ activity: first, expectBody: a.body }]);
    assert.equal(stored(), first.body);
    // Made from the body before `first`: refused, with its intents and audit entry.
    const stale = { ...a, body: JSON.stringify({ id: a.id, n: 2 }) };
    const beside = post(store, APP, act(5001));
    await assert.rejects(
      store.ports.intents.commit(APP, [{ activity: stale, expectBody: a.body, intents: [{ kind: 'fanout.add', source: 'user:a', ids: [a.id], mode: 'queued' }] }]),
      (err: Error) => err.name === 'ConflictError',
    );
    await beside;
    assert.equal(stored(), first.body);
    assert.equal(await store.ports.intents.pendingCount(), 0);
    assert.deepEqual(committedActivities(), [a.id, act(5001).id].sort(), 'the write handed over beside it is committed');
  });
});
