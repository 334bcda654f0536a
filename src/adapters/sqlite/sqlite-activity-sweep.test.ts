import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { act, placed, post as storeActivity } from '../../../test/support/write-batches.js';
import { activitySweepContract } from '../../../test/contract/activity-sweep.contract.js';
import { SqliteStore } from './sqlite-store.js';

// The sweep of activities no feed holds, through the store's ports and its sweep.

let store: SqliteStore;
beforeEach(() => {
  store = new SqliteStore(':memory:');
});
afterEach(() => store.close());

const APP = 'app';
/** Writes `n` activities into `feed`, which keeps its `max` newest. */
async function post(n: number, feed = 'user:a', max = 3, from = 1000): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = act(from + i, feed);
    await storeActivity(store, APP, a);
    await store.ports.timelines.apply(APP, placed(a, [feed], max));
    ids.push(a.id);
  }
  return ids;
}
const present = async (ids: string[]) => [...(await store.ports.activities.getActivities(APP, ids)).keys()].sort();
/** A whole pass in steps of `limit`; returns the deleted count and the number of steps. */
async function pass(now: number, retention: number, limit = 2): Promise<{ deleted: number; steps: number }> {
  let after: string | null = null;
  let deleted = 0;
  let steps = 0;
  do {
    const s = await store.sweepActivities(APP, after, limit, now, retention);
    deleted += s.deleted;
    after = s.next;
    steps++;
  } while (after !== null);
  return { deleted, steps };
}

describe('SQLite activity sweep', () => {
  it('deletes trimmed activities in bounded steps and keeps the ones a feed holds', async () => {
    const ids = await post(7);
    assert.deepEqual(await pass(0, 0), { deleted: 4, steps: 4 });
    assert.deepEqual(await present(ids), ids.slice(4).sort());
    assert.deepEqual(await pass(0, 0), { deleted: 0, steps: 2 });
  });

  it('keeps an activity still held by another feed, a queued or dead-lettered fan-out job or a personalization hide', async () => {
    const ids = await post(7);
    const p = store.ports;
    await p.timelines.apply(APP, [{ kind: 'add', feed: 'timeline:b', entries: [{ id: ids[0], origin: 'user:a' }], maxLength: 100 }]);
    await p.intents.commit(APP, [{ intents: [{ kind: 'fanout.add', source: 'user:a', ids: [ids[1]], mode: 'queued' }] }]);
    const [[dead]] = (await p.intents.commit(APP, [{ intents: [{ kind: 'fanout.add', source: 'user:a', ids: [ids[3]], mode: 'queued' }] }])).map((c) => c.intents);
    await p.intents.failed(dead.id, 'failed for good', null, 0);
    assert.equal(await p.intents.deadLetterCount(), 1);
    await store.signals.recordSignals(APP, { hides: [{ user: 'u', activityId: ids[2], hidden: true, atUs: 1, placements: [] }] });
    await pass(0, 0);
    assert.deepEqual(await present(ids), ids.sort());
  });

  it('keeps an unheld activity for the retention, counted from when a pass first found it unheld', async () => {
    const ids = await post(5);
    assert.equal((await pass(1_000, 60_000)).deleted, 0);
    assert.equal((await pass(60_999, 60_000)).deleted, 0);
    assert.deepEqual(await present(ids), ids.sort());
    assert.equal((await pass(61_000, 60_000)).deleted, 2);
    assert.deepEqual(await present(ids), ids.slice(2).sort());
  });

  it('forgets when an activity was found unheld once a feed holds it again', async () => {
    const [first] = await post(4);
    await pass(1_000, 60_000);
    await store.ports.timelines.apply(APP, [{ kind: 'add', feed: 'timeline:b', entries: [{ id: first, origin: null }], maxLength: 100 }]);
    await pass(2_000, 60_000);
    await store.ports.timelines.apply(APP, [{ kind: 'remove', feed: 'timeline:b', ids: [first] }]);
    // Unheld again since 70,000: the mark from 1,000 no longer counts.
    await pass(70_000, 60_000);
    assert.deepEqual(await present([first]), [first]);
    await pass(130_000, 60_000);
    assert.deepEqual(await present([first]), []);
  });

  it('leaves other apps alone', async () => {
    const ids = await post(4);
    assert.equal((await store.sweepActivities('other', null, 10, 0, 0)).deleted, 0);
    assert.deepEqual(await present(ids), ids.sort());
  });
});

activitySweepContract('sqlite', async () => new SqliteStore(':memory:'));
