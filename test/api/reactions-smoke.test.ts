import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, uid, type TestServer } from '../support/server.js';

describe('reactions smoke', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer();
  });
  after(async () => t.close());

  it('adds, reads, enriches', async () => {
    const c = t.client();
    const alice = uid('alice');
    await c.user(alice).create({ name: 'Alice' });
    await c.collections.add('food', 'burger', { name: 'Burger' });
    const feed = c.feed('user', alice);
    const act = await feed.addActivity({ actor: `SU:${alice}`, verb: 'eat', object: 'SO:food:burger' });
    const like = await c.reactions.add('like', act.id, {}, { userId: alice, targetFeeds: [`notification:${uid()}`] });
    assert.equal(like.kind, 'like');
    assert.equal((like as any).user.id, alice);
    const child = await c.reactions.addChild('comment', like, { text: 'hi' }, { userId: alice });
    assert.equal(child.parent, like.id);
    const got = await c.reactions.get(like.id);
    assert.deepEqual((got as any).children_counts, { comment: 1 });
    const res = await feed.get({ enrich: true, withRecentReactions: true, withReactionCounts: true, withOwnReactions: true, user_id: alice } as any);
    const a = res.results[0] as any;
    assert.equal(a.actor.id, alice);
    assert.equal(a.object.data.name, 'Burger');
    assert.deepEqual(a.reaction_counts, { like: 1 });
    assert.equal(a.latest_reactions.like[0].id, like.id);
    assert.equal(a.own_reactions.like[0].latest_children.comment[0].id, child.id);
    const f = await c.reactions.filter({ activity_id: act.id, kind: 'like' });
    assert.equal(f.results.length, 1);
    await c.reactions.delete(like.id);
    const res2 = await feed.get({ enrich: true, withReactionCounts: true } as any);
    assert.deepEqual((res2.results[0] as any).reaction_counts, { like: 0 });
  });
});
