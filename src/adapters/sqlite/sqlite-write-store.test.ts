import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { WriteBatch } from '../../ports/write-store.js';
import { act, post } from '../../../test/support/write-batches.js';
import { SqliteStore } from './sqlite-store.js';

// The group commit of SqliteWriteStore, seen from the store's public methods and from a second
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
  other.prepare('SELECT count(*) FROM entries e JOIN feeds f ON f.id = e.feed WHERE f.fid = ?').pluck().get(fid) as number;

describe('SQLite group commit', () => {
  it('commits the batches of one turn together, and each promise resolves only once its batch is committed', async () => {
    const acts = Array.from({ length: 20 }, (_, i) => act(1000 + i));
    const settled: string[] = [];
    const seenAtAck: number[] = [];
    const commits = acts.map((a) =>
      store.commit(APP, post(a)).then(() => {
        settled.push(a.id);
        seenAtAck.push(committedActivities().length);
      }),
    );
    // Handed over, not yet committed: another connection sees nothing.
    assert.deepEqual(committedActivities(), []);
    await Promise.all(commits);
    assert.deepEqual(settled, acts.map((a) => a.id), 'promises settle in the order the batches were handed over');
    // Every ack came after the commit of the whole group (one transaction: all 20 at once).
    assert.deepEqual(seenAtAck, acts.map(() => 20));
    assert.deepEqual(committedActivities(), acts.map((a) => a.id).sort());
  });

  it('applies waiting batches in the order they were handed over', async () => {
    const a = act(1000);
    const first = store.commit(APP, post(a, ['user:a', 'timeline:x']));
    const second = store.commit(APP, { removals: [{ feed: 'timeline:x', ids: [a.id] }] });
    const third = store.commit(APP, { entries: [{ feed: 'timeline:y', id: a.id, origin: 'user:a', maxLength: 100 }] });
    await Promise.all([first, second, third]);
    assert.equal(committedEntries('timeline:x'), 0, 'the removal ran after the insert');
    assert.equal(committedEntries('timeline:y'), 1);
    assert.deepEqual((await store.readFeed(APP, 'timeline:x', { limit: 10, offset: 0 })).length, 0);
  });

  it('fails a bad batch alone; the others of its group still commit, and feeds it created are forgotten', async () => {
    const good1 = act(1000);
    const good2 = act(2000);
    // The bad batch creates feed `timeline:new` and then fails on a malformed id, rolling back.
    const bad: WriteBatch = {
      entries: [
        { feed: 'timeline:new', id: good1.id, origin: null, maxLength: 100 },
        { feed: 'timeline:new', id: 'not-an-id', origin: null, maxLength: 100 },
      ],
    };
    const results = await Promise.allSettled([
      store.commit(APP, post(good1)),
      store.commit(APP, bad),
      store.commit(APP, post(good2, ['user:a', 'timeline:new'])),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.match(String((results[1] as PromiseRejectedResult).reason), /not an activity id/);
    assert.deepEqual(committedActivities(), [good1.id, good2.id].sort());
    // The third batch wrote into `timeline:new` after the bad one's rollback dropped that feed row.
    const feed = await store.readFeed(APP, 'timeline:new', { limit: 10, offset: 0 });
    assert.deepEqual(feed.map((e) => e.id), [good2.id]);
    assert.equal(committedEntries('timeline:new'), 1);
  });

  it('rejects a failing batch that was alone in its turn', async () => {
    await assert.rejects(store.commit(APP, { entries: [{ feed: 'user:a', id: 'bad', origin: null, maxLength: 100 }] }), /not an activity id/);
    await store.commit(APP, post(act(1000)));
    assert.equal(committedActivities().length, 1);
  });

  it('commits waiting batches before any other store call, so a read sees every write handed over before it', async () => {
    const a = act(1000);
    const pending = store.commit(APP, post(a));
    // Not awaited: the read itself must commit the waiting batch first.
    const feed = await store.readFeed(APP, 'user:a', { limit: 10, offset: 0 });
    assert.deepEqual(feed.map((e) => e.id), [a.id]);
    assert.deepEqual(committedActivities(), [a.id], 'the read committed it (no uncommitted data is read)');
    await pending;
  });

  it('lets batches wait across follow-graph reads unless a waiting batch changes the graph', async () => {
    await store.commit(APP, { follows: [{ source: 'timeline:f', target: 'user:a', createdUs: 1 }] });
    const a = act(1000);
    const pending = store.commit(APP, post(a));
    const page = await store.followerPage(APP, 'user:a', null, 10);
    assert.deepEqual(page.feeds, ['timeline:f']);
    assert.deepEqual(committedActivities(), [], 'a post does not change the graph: it may wait');
    const follow = store.commit(APP, { follows: [{ source: 'timeline:g', target: 'user:a', createdUs: 2 }] });
    const after = await store.followerPage(APP, 'user:a', null, 10);
    assert.deepEqual(after.feeds, ['timeline:f', 'timeline:g'], 'a waiting follow is committed before a graph read');
    assert.deepEqual(committedActivities(), [a.id]);
    await Promise.all([pending, follow]);
  });

  it('commits waiting batches when the store closes', async () => {
    const a = act(1000);
    const pending = store.commit(APP, post(a));
    await store.close();
    await pending;
    assert.deepEqual(committedActivities(), [a.id]);
  });
});
