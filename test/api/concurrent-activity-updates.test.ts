import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, uid, type TestServer } from '../support/server.js';

/**
 * Concurrent changes of one activity are all kept: each partial update, full update and
 * to-targets update reads the activity, changes it and stores it whole, and two of them at once
 * started from the same stored form, so the later one dropped the earlier one's change although
 * both had been acknowledged (40 partial updates of 40 different fields at once kept 1 to 2).
 */
describe('concurrent updates of one activity', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer();
  });
  after(async () => t.close());

  it('partial updates of different fields at once all stay', async () => {
    const user = uid();
    const a = await t.client().feed('user', user).addActivity({ actor: `SU:${user}`, verb: 'post', object: 'o:1', foreign_id: `f:${user}`, time: '2026-01-01T00:00:00' });
    for (let round = 1; round <= 3; round++) {
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) => t.client().activityPartialUpdate({ id: a.id, set: { [`f${i}`]: round, [`nested.n${i}`]: round } })),
      );
      answers.forEach((r: any, i) => assert.equal(r[`f${i}`], round));
      const { results } = await t.client().getActivities({ ids: [a.id] });
      const stored = results[0] as Record<string, any>;
      for (let i = 0; i < 40; i++) {
        assert.equal(stored[`f${i}`], round, `f${i} after round ${round}`);
        assert.equal(stored.nested[`n${i}`], round, `nested.n${i} after round ${round}`);
      }
    }
  });

  it('to-target updates and partial updates at once all stay', async () => {
    const user = uid();
    const time = '2026-01-02T00:00:00';
    const a = await t.client().feed('user', user).addActivity({ actor: `SU:${user}`, verb: 'post', object: 'o:1', foreign_id: `g:${user}`, time });
    const targets = Array.from({ length: 10 }, (_, i) => `timeline:${user}-${i}`);
    await Promise.all([
      ...targets.map((target) => t.client().feed('user', user).updateActivityToTargets(`g:${user}`, time, undefined, [target])),
      ...Array.from({ length: 10 }, (_, i) => t.client().activityPartialUpdate({ id: a.id, set: { [`p${i}`]: i } })),
    ]);
    const stored = (await t.client().getActivities({ ids: [a.id] })).results[0] as Record<string, any>;
    assert.deepEqual([...stored.to].sort(), [...targets].sort());
    for (let i = 0; i < 10; i++) assert.equal(stored[`p${i}`], i);
    for (const target of targets) {
      const [slug, id] = target.split(':');
      const { results } = await t.client().feed(slug, id).get({ limit: 5 });
      assert.deepEqual(results.map((r) => r.id), [a.id], `${target} holds the activity`);
    }
  });
});
