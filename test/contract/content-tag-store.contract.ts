import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { activityId } from '../../src/core/activities/activity-id.js';
import { suite, type SignalBackend } from './signal-support.js';

/** The {@link ContentTagStore} and {@link ActivityIndex} contract: tag sets, the job queue, foreign ids. */
export function contentTagStoreContract(name: string, makeStore: () => Promise<SignalBackend>, skip: Record<string, string> = {}): void {
  describe(`content tag store contract: ${name}`, () => {
    const { store, app, test } = suite(makeStore, skip);

    test('replaces an activity tag set and reads many activities at once', async () => {
      await store().signals.recordSignals(app(), {
        tags: [
          { activityId: 'a1', tags: [{ tag: 'kw:snow', source: 'keyword', weight: 0.5 }, { tag: '#ski', source: 'hashtag', weight: 1 }] },
          { activityId: 'a2', tags: [{ tag: 'img:dog', source: 'image', weight: 0.8 }] },
        ],
      });
      await store().signals.recordSignals(app(), { tags: [{ activityId: 'a2', tags: [{ tag: '@alex', source: 'mention', weight: 0.8 }] }] });
      const got = await store().signals.tagsOf(app(), ['a1', 'a2', 'a3']);
      assert.deepEqual(got.get('a1')!.map((t) => t.tag), ['#ski', 'kw:snow'], 'strongest first');
      assert.deepEqual(got.get('a2'), [{ tag: '@alex', source: 'mention', weight: 0.8 }]);
      assert.equal(got.has('a3'), false);
    });

    test('queues content jobs with the commit and completes or delays them', async () => {
      const before = (await store().signals.pendingContentJobs(0, 1000)).filter((j) => j.app === app());
      assert.equal(before.length, 0);
      await store().signals.recordSignals(app(), { contentJobs: ['a1', 'a2'] });
      let jobs = (await store().signals.pendingContentJobs(0, 1000)).filter((j) => j.app === app());
      assert.deepEqual(jobs.map((j) => [j.activityId, j.attempts]), [['a1', 0], ['a2', 0]]);
      await store().signals.recordSignals(app(), { contentDone: [jobs[0].jobId], contentRetry: [{ jobId: jobs[1].jobId, notBeforeUs: 100 }] });
      assert.equal((await store().signals.pendingContentJobs(99, 1000)).filter((j) => j.app === app()).length, 0);
      jobs = (await store().signals.pendingContentJobs(100, 1000)).filter((j) => j.app === app());
      assert.deepEqual(jobs.map((j) => [j.activityId, j.attempts]), [['a2', 1]]);
    });

    test('finds the newest activity of each foreign id', async () => {
      const old = activityId(1_000_000, 'x1');
      const newer = activityId(2_000_000, 'x2');
      await store().ports.intents.commit(app(), [
        { activity: { id: old, timeUs: 1_000_000, foreignId: 'post:1', to: [], body: '{}', home: 'user:a' } },
        { activity: { id: newer, timeUs: 2_000_000, foreignId: 'post:1', to: [], body: '{}', home: 'user:a' } },
      ]);
      const got = await store().signals.newestByForeignId(app(), ['post:1', 'post:2']);
      assert.deepEqual([...got], [['post:1', newer]]);
    });
  });
}
