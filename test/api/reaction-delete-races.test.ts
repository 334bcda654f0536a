import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, uid, type TestServer } from '../support/server.js';

/**
 * A reaction deleted for good while another request works on it leaves nothing behind. Each
 * request reads before it writes: a child added while its parent was deleted was stored under the
 * parent that no longer existed (listed by `reaction_id`, readable by id, kept for ever; 9 to 17
 * of 20 rounds), and an update racing the delete put the deleted reaction's activity back into its
 * target feeds (15 to 20 of 20 rounds); and a delete landing between a reaction's step and the
 * placing of its activity into its target feeds (done after the step; for notification feeds a
 * read-modify-write of their groups) missed the activity, which stayed there (2 of 6 runs of 20
 * rounds). Rounds of the two requests at once, through the official client; whichever commits
 * first, the end state must be consistent.
 */
describe('reaction deletes racing other writes on the reaction', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer();
  });
  after(async () => t.close());

  it('a child added while its parent is deleted is refused or deleted with it', async () => {
    const c = t.client();
    const user = uid();
    const a = await c.feed('user', user).addActivity({ actor: `SU:${user}`, verb: 'post', object: 'o:1' });
    for (let round = 0; round < 20; round++) {
      const parent = await c.reactions.add('comment', a.id, { text: 'p' }, { userId: 'alice' });
      const [child] = await Promise.allSettled([
        c.reactions.addChild('like', parent, {}, { userId: 'bob', targetFeeds: [`notification:${user}-${round}`] }),
        c.reactions.delete(parent.id),
      ]);
      // Refused as a child of a reaction that no longer exists (400), or added and then deleted.
      if (child.status === 'rejected') assert.equal((child.reason as { response?: { status: number } }).response?.status, 400, String(child.reason));
      const kids = await c.reactions.filter({ reaction_id: parent.id, limit: 25 } as never);
      assert.deepEqual(kids.results, [], `round ${round}: children left under a deleted parent`);
      if (child.status === 'fulfilled') {
        await assert.rejects(c.reactions.get(child.value.id), (err: { response?: { status: number } }) => err.response?.status === 404);
      }
      const { results } = await c.feed('notification', `${user}-${round}`).get({ limit: 5 });
      assert.deepEqual(results, [], `round ${round}: the deleted child's activity left in its target feed`);
    }
    const counts = (await c.getActivities({ ids: [a.id], withReactionCounts: true } as never)).results[0] as { reaction_counts?: Record<string, number> };
    assert.equal(counts.reaction_counts?.comment ?? 0, 0);
  });

  it('an update racing the delete does not put the activity back into target feeds', async () => {
    const c = t.client();
    const user = uid();
    const a = await c.feed('user', user).addActivity({ actor: `SU:${user}`, verb: 'post', object: 'o:1' });
    for (let round = 0; round < 20; round++) {
      const r = await c.reactions.add('like', a.id, {}, { userId: 'alice', targetFeeds: [`notification:${user}-x${round}`] });
      const [update] = await Promise.allSettled([
        c.reactions.update(r.id, { round }, { targetFeeds: [`notification:${user}-y${round}`] }),
        c.reactions.delete(r.id),
      ]);
      // Updated before the delete, or refused with 404 as a reaction that no longer exists.
      if (update.status === 'rejected') assert.equal((update.reason as { response?: { status: number } }).response?.status, 404, String(update.reason));
      await assert.rejects(c.reactions.get(r.id), (err: { response?: { status: number } }) => err.response?.status === 404);
      for (const feed of [`${user}-x${round}`, `${user}-y${round}`]) {
        const { results } = await c.feed('notification', feed).get({ limit: 5 });
        assert.deepEqual(results, [], `round ${round}: notification:${feed} still holds the deleted reaction's activity (update ${update.status})`);
      }
    }
  });
});
