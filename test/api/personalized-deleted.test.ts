import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, TEST_GROUPS, uid, type TestServer } from '../support/server.js';

const PERSONALIZATION = { learning: { head_dims: 4096, min_examples: 40, learning_rate: 0.2 }, guardrails: { min_following_share: 0, min_fresh: { count: 0, age: '1h' } } };

/**
 * Activities the learner knows that are erased afterwards (`data_privacy/delete_user/`) are no
 * longer candidates of personalized reads. A read whose formula reads the activities' own fields
 * (the fallback formula before the model is healthy) parsed the empty body of an erased activity
 * and answered 500 to every reader until the learner forgot it.
 */
describe('personalized reads after deletes', () => {
  let t: TestServer;
  let origin: string;
  const author = uid('author');
  const other = uid('other');
  const reader = uid('reader');
  const posts: string[] = [];
  const kept: string[] = [];

  async function analytics(path: 'impression' | 'engagement', body: unknown) {
    const res = await fetch(`${origin}/analytics/v1.0/${path}/?api_key=${t.apiKey}`, {
      method: 'POST',
      headers: { Authorization: t.client().getAnalyticsToken(), 'stream-auth-type': 'jwt', 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 201, await res.text());
  }

  before(async () => {
    t = await startServer({ worker: 'manual', groups: TEST_GROUPS, personalization: PERSONALIZATION as any });
    origin = new URL(t.baseUrl).origin;
    for (let i = 0; i < 6; i++) {
      posts.push((await t.client().feed('user', author).addActivity({ actor: `SU:${author}`, verb: 'post', object: `note:${i}`, text: `#ski number ${i}` })).id);
      kept.push((await t.client().feed('user', other).addActivity({ actor: `SU:${other}`, verb: 'post', object: `note:${i}`, text: `#ski more ${i}` })).id);
    }
    for (const u of ['r1', 'r2', 'r3']) {
      await analytics('engagement', { content_list: [...posts, ...kept].map((id) => ({ user_data: u, label: 'click', content: id, feed_id: `timeline:${u}` })) });
    }
    await t.rivulet.signalWorker!.drainAll();
  });
  after(async () => t.close());

  const read = () => t.client().personalizedFeed({ feed_slug: 'timeline', user_id: reader, limit: 25, refresh: true } as any) as Promise<any>;

  it('activities erased with their author are left out, and the read still answers', async () => {
    const res = await fetch(`${t.baseUrl}v1.0/data_privacy/delete_user/?api_key=${t.apiKey}`, {
      method: 'POST',
      headers: { authorization: t.client().getOrCreateToken(), 'stream-auth-type': 'jwt', 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: author }),
    });
    assert.equal(res.status, 200, await res.text());
    const page = await read();
    assert.deepEqual(page.results.filter((r: any) => posts.includes(r.id)), []);
    assert.ok(page.results.some((r: any) => kept.includes(r.id)));
  });
});
