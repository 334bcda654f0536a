import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import pino from 'pino';
import { act, placed, post as storeActivity } from '../../test/support/write-batches.js';
import { SqliteStore } from '../adapters/sqlite/sqlite-store.js';
import { ActivitySweeper } from './activity-sweeper.js';

// The background sweep of activities no feed holds: what it deletes, and when.

const APP = 'app';
let store: SqliteStore;
beforeEach(() => {
  store = new SqliteStore(':memory:');
});
afterEach(() => store.close());

const present = async (ids: string[]) => [...(await store.ports.activities.getActivities(APP, ids)).keys()];
const sweeper = (minUnheldMs?: number) => new ActivitySweeper(store, [APP], pino({ level: 'silent' }), { retentionMs: 0, everyMs: 60_000, minUnheldMs });

describe('activity sweeper', () => {
  it('does not delete an activity whose write has stored it but not yet its feed entries, even without a retention', async () => {
    // A write commits its activity, then its own feed's entry: a pass may look in between.
    const a = act(1000, 'user:a');
    await storeActivity(store, APP, a);
    const s = sweeper();
    assert.equal(await s.sweepAll(), 0);
    assert.deepEqual(await present([a.id]), [a.id], 'found unheld, only marked');
    await store.ports.timelines.apply(APP, placed(a, ['user:a'], 10));
    assert.equal(await s.sweepAll(), 0);
    assert.deepEqual(await present([a.id]), [a.id]);
  });

  it('deletes an activity still unheld at a pass the least time after a pass found it so', async () => {
    const a = act(1000, 'user:a');
    await storeActivity(store, APP, a);
    const s = sweeper(30);
    assert.equal(await s.sweepAll(), 0);
    assert.equal(await s.sweepAll(), 0, 'too soon after it was found unheld');
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(await s.sweepAll(), 1);
    assert.deepEqual(await present([a.id]), []);
  });
});
