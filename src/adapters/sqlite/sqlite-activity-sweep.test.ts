import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { postInto } from '../../../test/support/write-batches.js';
import { activitySweepContract } from '../../../test/contract/activity-sweep.contract.js';
import { SqliteStore } from './sqlite-store.js';

// The sweep of activities no feed holds, through the store's ports and its sweep.

let store: SqliteStore;
beforeEach(() => {
  store = new SqliteStore(':memory:');
});
afterEach(() => store.close());

const APP = 'app';
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

// What a feed, a job or a hide keeps, and the retention, are the contract's (below); here, the steps.
describe('SQLite activity sweep', () => {
  it('takes one step per `limit` activities, the last one short', async () => {
    const ids = await postInto(store, APP, 7);
    assert.deepEqual(await pass(0, 0), { deleted: 4, steps: 4 });
    assert.deepEqual(await present(ids), ids.slice(4).sort());
    assert.deepEqual(await pass(0, 0), { deleted: 0, steps: 2 });
  });
});

activitySweepContract('sqlite', async () => new SqliteStore(':memory:'));
