import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, TEST_GROUPS, uid, type TestServer } from '../support/server.js';

describe('reaction counts in ranking formulas', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer({
      groups: [
        ...TEST_GROUPS.filter((g) => g.name !== 'user'),
        {
          name: 'user',
          type: 'flat',
          ranking: {
            popular: { score: 'popularity' },
            likes: { score: 'reaction_counts.like * 10 + reaction_counts.comment' },
          },
        },
      ],
    });
  });
  after(async () => t.close());

  it('orders by the number of reactions and by counts of one kind', async () => {
    const c = t.client();
    const feed = c.feed('user', uid());
    const a = await feed.addActivity({ actor: 'x', verb: 'post', object: 'a' });
    const b = await feed.addActivity({ actor: 'x', verb: 'post', object: 'b' });
    const own = await feed.addActivity({ actor: 'x', verb: 'post', object: 'c', popularity: 100 });
    // a: 3 comments; b: 1 like + 1 comment; own: no reactions but its own popularity field.
    for (let i = 0; i < 3; i++) await c.reactions.add('comment', a.id, {}, { userId: `u${i}` });
    await c.reactions.add('like', b.id, {}, { userId: 'u1' });
    await c.reactions.add('comment', b.id, {}, { userId: 'u1' });
    const popular = await feed.get({ ranking: 'popular' });
    assert.deepEqual(popular.results.map((r: any) => [r.id, r.score]), [[own.id, 100], [a.id, 3], [b.id, 2]]);
    const likes = await feed.get({ ranking: 'likes', withScoreVars: true } as any);
    assert.deepEqual(likes.results.map((r: any) => [r.id, r.score]), [[b.id, 11], [a.id, 3], [own.id, 0]]);
    assert.deepEqual((likes.results[0] as any).score_vars, { 'reaction_counts.like': 1, 'reaction_counts.comment': 1 });
  });
});
