/** Data privacy (stream-v2-api.md §18.1): deleting by id, exporting and erasing one user's data. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawRequest, startServer, uid, type TestServer } from '../support/server.js';
import { expectApiError } from './activity-helpers.js';

describe('data privacy', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer();
  });
  after(async () => t.close());

  it('deletes activities everywhere: their feeds, to targets, follower feeds and their records', async () => {
    const server = t.client();
    const poster = uid('poster');
    const reader = uid('reader');
    const note = uid('note');
    await server.feed('timeline', reader).follow('user', poster);
    const res = await server.feed('user', poster).addActivities([
      { actor: 'user:1', verb: 'tweet', object: '1', foreign_id: 'delete_gdpr_1', time: new Date().toISOString(), to: [`notification:${note}`] },
      { actor: 'user:2', verb: 'tweet', object: '2', foreign_id: 'delete_gdpr_2', time: new Date().toISOString() },
    ] as any);
    const ids = (res as any).activities.map((a: any) => a.id);
    await server.deleteActivities!(ids.map((id: string) => ({ id })) as any);
    assert.equal((await server.getActivities({ ids })).results.length, 0);
    assert.equal((await server.feed('user', poster).get()).results.length, 0);
    assert.equal((await server.feed('timeline', reader).get()).results.length, 0);
    assert.equal((await server.feed('notification', note).get()).results.length, 0);
    await server.deleteActivities!(ids.map((id: string) => ({ id })) as any);
  });

  it('deletes reactions by id', async () => {
    const server = t.client();
    const a = await server.feed('user', uid('p')).addActivity({ actor: 'user:1', verb: 'tweet', object: '1' });
    const r1 = await server.reactions.add('like1', a.id, { text: 'text' }, { userId: 'user1' });
    const r2 = await server.reactions.add('like2', a.id, { text: 'text' }, { userId: 'user1' });
    await server.reactions.add('like3', a.id, { text: 'text' }, { userId: 'user1' });
    await server.deleteReactions!([r1.id, r2.id, 'never-existed']);
    assert.equal((await server.reactions.filter({ activity_id: a.id })).results.length, 1);
  });

  it("exports a user's activity and reaction ids in creation order", async () => {
    const server = t.client();
    const userId = uid('export');
    const a = await server.feed('user', uid('p')).addActivity({ actor: userId, verb: 'tweet', object: '1' });
    const b = await server.feed('user', userId).addActivity({ actor: `SU:${userId}`, verb: 'tweet', object: '2' });
    await server.feed('user', userId).addActivity({ actor: 'someone-else', verb: 'tweet', object: '3' });
    const r1 = await server.reactions.add('like1', a.id, { text: 'text' }, { userId });
    await server.reactions.add('like2', a.id, { text: 'text' }, { userId: 'user1' });
    const r3 = await server.reactions.add('like3', a.id, { text: 'text' }, { userId });
    const resp: any = await server.exportUserActivitiesAndReactionIDs!(userId);
    assert.deepEqual(resp.export, {
      user_id: userId,
      activity_count: 2,
      reaction_count: 2,
      activity_ids: [a.id, b.id],
      reaction_ids: [r1.id, r3.id],
    });
  });

  it('exports and then erases everything of one user, leaving other users alone', async () => {
    const server = t.client();
    const alice = uid('alice');
    const bob = uid('bob');
    await server.user(alice).create({ name: 'Alice' });
    await server.user(bob).create({ name: 'Bob' });
    await server.feed('timeline', bob).follow('user', alice);
    await server.feed('timeline', alice).follow('user', bob);
    const post = await server.feed('user', alice).addActivity({ actor: `SU:${alice}`, verb: 'post', object: 'o' });
    const bobPost = await server.feed('user', bob).addActivity({ actor: `SU:${bob}`, verb: 'post', object: 'o' });
    const like = await server.reactions.add('like', bobPost.id, {}, { userId: alice });
    const bobLike = await server.reactions.add('like', post.id, {}, { userId: bob });
    await t.userClient(alice).collections.add('food', 'alice-cake', { name: 'cake' });
    const file: any = await t.userClient(alice).files.upload(Buffer.from('mine'), 'mine.txt', 'text/plain');

    const exported = await rawRequest(t, 'GET', `data_privacy/export/${alice}`);
    assert.equal(exported.status, 200, exported.text);
    const e = exported.body.export;
    assert.equal(e.user.data.name, 'Alice');
    assert.deepEqual(e.activities.map((a: any) => a.id), [post.id]);
    assert.deepEqual(e.reactions.map((r: any) => r.id), [like.id]);
    assert.deepEqual(e.follows.map((f: any) => `${f.source}>${f.target}`).sort(), [`timeline:${alice}>user:${bob}`, `timeline:${bob}>user:${alice}`].sort());
    assert.deepEqual(e.collections.map((c: any) => c.id), ['alice-cake']);
    assert.deepEqual(e.files.map((f: any) => f.name), ['mine.txt']);

    const erased = await rawRequest(t, 'POST', 'data_privacy/delete_user/', { body: { user_id: alice } });
    assert.equal(erased.status, 200, erased.text);
    assert.deepEqual(erased.body.deleted, { activities: 1, reactions: 1, follows: 2, collections: 1, files: 1, user: true });
    await expectApiError(server.user(alice).get(), 404, 16);
    assert.equal((await server.getActivities({ ids: [post.id] })).results.length, 0);
    assert.equal((await server.feed('timeline', bob).get()).results.length, 0);
    assert.deepEqual((await server.feed('timeline', alice).get()).results, []);
    assert.equal((await fetch(file.file)).status, 404);
    await expectApiError(server.reactions.get(like.id), 404, 16);
    await expectApiError(server.collections.get('food', 'alice-cake'), 404, 16);
    // Bob's own things stay (his reaction on Alice's deleted post too: it is his data).
    assert.equal((await server.user(bob).get()).data?.name, 'Bob');
    assert.deepEqual((await server.feed('user', bob).get()).results.map((a) => a.id), [bobPost.id]);
    assert.equal((await server.reactions.get(bobLike.id)).id, bobLike.id);
    const again = await rawRequest(t, 'POST', 'data_privacy/delete_user/', { body: { user_id: alice } });
    assert.deepEqual(again.body.deleted, { activities: 0, reactions: 0, follows: 0, collections: 0, files: 0, user: false });
    const audit: any = await server.auditLogs.filter({ entity_type: 'user', entity_id: alice });
    assert.equal(audit.audit_logs[0].action, 'erased');
  });

  it('is for server tokens only, and refuses bad bodies with 400/4', async () => {
    const user = t.userClient('u').getOrCreateToken();
    for (const [method, path] of [['GET', 'data_privacy/export_ids/u'], ['GET', 'data_privacy/export/u'], ['POST', 'data_privacy/delete_user/'], ['POST', 'data_privacy/delete_activities/'], ['POST', 'data_privacy/delete_reactions/']]) {
      assert.equal((await rawRequest(t, method, path, { token: user, body: method === 'POST' ? {} : undefined })).status, 403, path);
    }
    for (const [path, body] of [['data_privacy/delete_activities/', {}], ['data_privacy/delete_activities/', { activities: [{ id: 'nope' }] }], ['data_privacy/delete_reactions/', { ids: 'x' }], ['data_privacy/delete_user/', {}], ['data_privacy/delete_user/', { user_id: 'bad id!' }]] as const) {
      assert.equal((await rawRequest(t, 'POST', path, { body })).status, 400, JSON.stringify(body));
    }
    assert.equal((await rawRequest(t, 'GET', 'data_privacy/export_ids/bad%20id')).status, 400);
  });
});
