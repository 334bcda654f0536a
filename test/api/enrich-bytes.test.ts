// An enriched page is the same bytes whether it is built whole (nothing kept) or joined from the
// parts pages share (each activity's enrichment kept as bytes, the reader's own reactions after
// it): the keys of each activity come in one order, `own_reactions` last.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawRequest, startServer, TEST_GROUPS, uid, type TestServer } from '../support/server.js';

let parts: TestServer;
let fresh: TestServer;

before(async () => {
  parts = await startServer({ groups: TEST_GROUPS, config: { read_cache: { max_mb: 0 } } });
  const app = { appId: parts.appId, apiKey: parts.apiKey, apiSecret: parts.apiSecret };
  fresh = await startServer({ groups: TEST_GROUPS, dataDir: parts.dataDir, app, config: { read_cache: { max_mb: 0, parts_mb: 0 } } });
});
after(async () => {
  await fresh?.close();
  await parts?.close();
});

/** The page's text without its `duration`, which differs per response. */
async function text(t: TestServer, path: string, query: Record<string, string>, as: string): Promise<string> {
  const r = await rawRequest(t, 'GET', path, { query, token: t.client().createUserToken(as) });
  assert.equal(r.status, 200, r.text);
  return r.text.replace(/,"duration":"[^"]*"/, '');
}

describe('enriched page bytes', () => {
  it('are the same built whole and joined from kept parts', async () => {
    const c = parts.client();
    const [ann, bob, cat] = [uid('ann'), uid('bob'), uid('cat')];
    const soup = uid('soup');
    await c.user(ann).create({ name: 'Ann' });
    await c.user(bob).create({ name: 'Bob' });
    await c.collections.add('food', soup, { name: 'soup' });
    await c.feed('timeline', cat).follow('user', ann);
    const annFeed = c.feed('user', ann);
    const a1 = await annFeed.addActivity({ actor: `SU:${ann}`, verb: 'eat', object: `SO:food:${soup}` } as any);
    const a2 = await annFeed.addActivity({ actor: `SU:${ann}`, verb: 'eat', object: `SO:food:${soup}` } as any);
    await c.reactions.add('like', a1.id, {}, { userId: cat });
    await c.reactions.add('comment', a1.id, { text: 'yum' }, { userId: bob });
    await c.reactions.add('like', a2.id, {}, { userId: bob });
    // An activity showing another one (built whole when own reactions are asked for).
    await annFeed.addActivity({ actor: `SU:${ann}`, verb: 'quote', object: `SA:${a1.id}` } as any);
    const path = `enrich/feed/timeline/${cat}/`;
    const asks: Record<string, string>[] = [
      { withOwnReactions: 'true', withRecentReactions: 'true', withReactionCounts: 'true' },
      { withOwnReactions: 'true', withReactionCounts: 'true' },
      { withOwnReactions: 'true', withRecentReactions: 'true', withReactionCounts: 'true', withOwnChildren: 'true' },
    ];
    for (const query of asks) {
      const built = await text(fresh, path, query, cat);
      assert.match(built, /"reaction_counts":\{[^}]*\},"own_reactions":/);
      assert.equal(await text(parts, path, query, cat), built, `first read ${JSON.stringify(query)}`);
      assert.equal(await text(parts, path, query, cat), built, `from kept parts ${JSON.stringify(query)}`);
      assert.equal(await text(fresh, path, query, cat), built);
    }
  });
});
