/** Moderation flags (stream-v2-api.md §17): stored, listed for the operator. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawRequest, startServer, uid, type TestServer } from '../support/server.js';
import { expectApiError, withoutDuration } from './activity-helpers.js';

describe('moderation flags', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer();
  });
  after(async () => t.close());

  const list = async (query: Record<string, string> = {}) => {
    const res = await rawRequest(t, 'GET', 'moderation/flags/', { query });
    assert.equal(res.status, 200, res.text);
    return res.body;
  };

  it('flags a user with client.flagUser and user.flag, answering the client type', async () => {
    const target = uid('target');
    const res: any = await t.client().flagUser(target, { reason: 'spam', user_id: 'reporter' });
    assert.equal(typeof res.duration, 'string');
    const body = withoutDuration(res);
    assert.equal(body.target_user_id, target);
    assert.equal(body.flagged_by, 'reporter');
    assert.equal(body.reason, 'spam');
    assert.match(body.flag_id, /^[0-9a-f-]{36}$/);
    const again: any = await t.client().user(target).flag({ reason: 'inappropriate_content', user_id: 'other' });
    const listed = await list({ entity_type: 'stream:user', entity_id: target });
    assert.deepEqual(listed.flags.map((f: any) => [f.flag_id, f.reason, f.flagged_by]), [
      [again.flag_id, 'inappropriate_content', 'other'],
      [res.flag_id, 'spam', 'reporter'],
    ]);
    assert.equal(listed.next, '');
  });

  it("flags activities and reactions, naming their author", async () => {
    const author = uid('author');
    const a = await t.client().feed('user', author).addActivity({ actor: `SU:${author}`, verb: 'post', object: 'x' });
    const r = await t.client().reactions.add('comment', a.id, { text: 'rude' }, { userId: 'commenter' });
    const fa = await rawRequest(t, 'POST', 'moderation/flag', { body: { entity_type: 'stream:feeds:v2:activity', entity_id: a.id, user_id: 'mod', reason: 'x' } });
    assert.equal(fa.status, 201, fa.text);
    assert.equal(fa.body.target_user_id, author);
    const fr = await rawRequest(t, 'POST', 'moderation/flag/', { body: { entity_type: 'stream:feeds:v2:reaction', entity_id: r.id } });
    assert.equal(fr.body.target_user_id, 'commenter');
    assert.equal('flagged_by' in fr.body, false);
    const missing = await rawRequest(t, 'POST', 'moderation/flag', { body: { entity_type: 'stream:feeds:v2:activity', entity_id: '00000000-0000-1000-8000-000000000000' } });
    assert.equal(missing.status, 404);
    const audit: any = await t.client().auditLogs.filter({ entity_type: 'user', entity_id: author });
    assert.equal(audit.audit_logs[0].action, 'flagged');
  });

  it('pages the operator list newest first', async () => {
    const target = uid('paged');
    for (let i = 0; i < 3; i++) await t.client().flagUser(target, { reason: `r${i}` });
    const first = await list({ entity_type: 'stream:user', entity_id: target, limit: '2' });
    assert.deepEqual(first.flags.map((f: any) => f.reason), ['r2', 'r1']);
    const second = await list({ entity_type: 'stream:user', entity_id: target, limit: '2', next: first.next });
    assert.deepEqual(second.flags.map((f: any) => f.reason), ['r0']);
    assert.equal(second.next, '');
  });

  it('refuses bad flags with 400/4 and user or feed tokens with 403/17', async () => {
    for (const body of [{}, { entity_id: '' }, { entity_type: 'stream:nothing', entity_id: 'x' }, { entity_id: 'bad id!' }, { entity_id: 'x', reason: 5 }, []]) {
      const res = await rawRequest(t, 'POST', 'moderation/flag', { body });
      assert.equal(res.status, 400, JSON.stringify(body));
    }
    const user = await rawRequest(t, 'POST', 'moderation/flag', { body: { entity_id: 'x' }, token: t.userClient('u').getOrCreateToken() });
    assert.equal(user.status, 403);
    const listAsUser = await rawRequest(t, 'GET', 'moderation/flags/', { token: t.userClient('u').getOrCreateToken() });
    assert.equal(listAsUser.status, 403);
    await expectApiError(t.client().flagUser('bad id!'), 400, 4);
  });
});

describe('moderation flags hidden from reads', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer({ config: { moderation: { hide_flagged: true } } });
  });
  after(async () => t.close());

  it('leaves flagged activities, flagged users\' activities and flagged reactions out of reads once flagged', async () => {
    const server = t.client();
    const reader = uid('reader');
    const good = uid('good');
    const bad = uid('bad');
    await server.feed('timeline', reader).follow('user', good);
    await server.feed('timeline', reader).follow('user', bad);
    const kept = await server.feed('user', good).addActivity({ actor: `SU:${good}`, verb: 'post', object: 'fine' });
    const flaggedPost = await server.feed('user', good).addActivity({ actor: `SU:${good}`, verb: 'post', object: 'spam' });
    const byBad = await server.feed('user', bad).addActivity({ actor: `SU:${bad}`, verb: 'post', object: 'x' });
    const ids = async () => (await server.feed('timeline', reader).get({ limit: 10 })).results.map((a) => a.id);
    assert.deepEqual(await ids(), [byBad.id, flaggedPost.id, kept.id]);
    await rawRequest(t, 'POST', 'moderation/flag', { body: { entity_type: 'stream:feeds:v2:activity', entity_id: flaggedPost.id, reason: 'spam' } });
    assert.deepEqual(await ids(), [byBad.id, kept.id]);
    await server.flagUser(bad, { reason: 'abuse' });
    assert.deepEqual(await ids(), [kept.id]);
    const ok = await server.reactions.add('comment', kept.id, { text: 'nice' }, { userId: good });
    const rude = await server.reactions.add('comment', kept.id, { text: 'rude' }, { userId: 'someone' });
    await rawRequest(t, 'POST', 'moderation/flag', { body: { entity_type: 'stream:feeds:v2:reaction', entity_id: rude.id } });
    assert.deepEqual((await server.reactions.filter({ activity_id: kept.id })).results.map((r: any) => r.id), [ok.id]);
    const [enriched] = (await server.feed('user', good).get({ enrich: true, withRecentReactions: true, limit: 1, id_lte: kept.id } as any)).results as any[];
    assert.deepEqual(enriched.latest_reactions.comment.map((r: any) => r.id), [ok.id]);
  });

  it('leaves them out of aggregated and notification groups too, and a group left empty', async () => {
    const server = t.client();
    const me = uid('me');
    const good = uid('good');
    const bad = uid('bad');
    const feed = server.feed('notification', me);
    const a = await feed.addActivity({ actor: `SU:${good}`, verb: 'like', object: 'p1' });
    const b = await feed.addActivity({ actor: `SU:${good}`, verb: 'like', object: 'p2' });
    await feed.addActivity({ actor: `SU:${bad}`, verb: 'comment', object: 'p3' });
    const shown = async () => ((await feed.get({ limit: 10 })).results as any[]).map((g) => [g.verb, g.activities.map((x: any) => x.id)]);
    assert.equal((await shown()).length, 2);
    await server.flagUser(bad);
    await rawRequest(t, 'POST', 'moderation/flag', { body: { entity_type: 'stream:feeds:v2:activity', entity_id: a.id } });
    assert.deepEqual(await shown(), [['like', [b.id]]]);
  });
});

