// Black-box tests of users (stream-v2-api.md §12, §5.3, §8.6, §2.3, §20.3) through the official
// getstream client; raw HTTP only for what the client cannot send or refuses to send.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawRequest, startServer, uid, type TestServer } from '../support/server.js';
import { assertRawError, DURATION_RE, expectApiError, withoutDuration } from './activity-helpers.js';

/** User and collection times: UTC RFC 3339 with `Z` and 6 fractional digits (§4.3). */
const TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const USER_KEYS = ['created_at', 'data', 'id', 'updated_at'];
const PROFILE_KEYS = ['created_at', 'data', 'followers_count', 'following_count', 'id', 'updated_at'];

let t: TestServer;

before(async () => {
  t = await startServer();
});
after(async () => t.close());

/** Asserts a user object (§5.3): exactly its keys, `Z` times, the given id and data. */
function assertUser(u: any, id: string, data: unknown, keys = USER_KEYS): void {
  assert.deepEqual(Object.keys(u).sort(), keys, JSON.stringify(u));
  assert.equal(u.id, id);
  assert.deepEqual(u.data, data);
  assert.match(u.created_at, TIMESTAMP_RE);
  assert.match(u.updated_at, TIMESTAMP_RE);
}

describe('single users', () => {
  it('creates a user and answers exactly id, data, created_at, updated_at (+duration)', async () => {
    const id = uid('alice');
    const res = await rawRequest(t, 'POST', 'user/', { body: { id, data: { name: 'Alice', likes: ['apples'] } } });
    assert.equal(res.status, 201, res.text);
    assert.match(res.body.duration, DURATION_RE);
    assertUser(withoutDuration(res.body), id, { name: 'Alice', likes: ['apples'] });
    assert.equal(res.body.created_at, res.body.updated_at);

    const got = await t.client().user(id).get();
    assert.deepEqual(got.full, withoutDuration(res.body));
    assert.deepEqual(got.data, { name: 'Alice', likes: ['apples'] });
  });

  it('refuses to create an existing user with 409/22, even with the same data', async () => {
    const user = t.client().user(uid('dup'));
    await user.create({ name: 'x' });
    await expectApiError(user.create({ name: 'x' }), 409, 22, 'ConflictException');
    await expectApiError(t.client().user(user.id).create({ name: 'other' }), 409, 22);
  });

  it('get_or_create returns the existing user unchanged and ignores the new data', async () => {
    const user = t.client().user(uid('bob'));
    const first = await user.getOrCreate({ name: 'Bob' });
    const created = { ...first.full };
    assertUser(created, user.id, { name: 'Bob' });
    const again = await t.client().user(user.id).getOrCreate({ name: 'Bob', hates: ['berries'] });
    assert.deepEqual(again.full, created);
    assert.deepEqual((await t.client().user(user.id).get()).full, created);
  });

  it('stores {} when created without data, and accepts data {}', async () => {
    const a = uid('empty');
    const res = await rawRequest(t, 'POST', 'user/', { body: { id: a } });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(res.body.data, {});
    const b = await t.client().user(uid('empty')).create({});
    assert.deepEqual(b.full!.data, {});
  });

  it('answers 404/16 for a user that was never created, also for one asking about itself', async () => {
    await expectApiError(t.client().user(uid('ghost')).get(), 404, 16, 'DoesNotExistException');
    const me = uid('me');
    await expectApiError(t.userClient(me).user(me).get(), 404, 16);
  });

  it('replaces data on update, moves updated_at and keeps created_at', async () => {
    const user = t.client().user(uid('upd'));
    await user.create({ name: 'Bob', likes: ['berries'] });
    const before = { ...user.full! };
    const updated = await t.client().user(user.id).update({ name: 'Bob', hates: ['berries'] });
    assertUser(updated.full, user.id, { name: 'Bob', hates: ['berries'] });
    assert.equal(updated.full!.created_at, before.created_at);
    assert.notEqual(updated.full!.updated_at, before.updated_at);
    assert.ok(updated.full!.updated_at > before.updated_at);
    assert.deepEqual((await t.client().user(user.id).get()).full, updated.full);
  });

  it('answers 404/16 when updating a user that does not exist', async () => {
    await expectApiError(t.client().user(uid('nouser')).update({ a: 1 }), 404, 16);
  });

  it('deletes a user with {duration} only; reads then give 404 and the id can be created afresh', async () => {
    const user = t.client().user(uid('del'));
    await user.create({ v: 1 });
    const created = user.full!;
    const res = await user.delete();
    assert.deepEqual(Object.keys(res), ['duration']);
    await expectApiError(t.client().user(user.id).get(), 404, 16);
    await expectApiError(t.client().user(user.id).delete(), 404, 16);
    const again = await t.client().user(user.id).create({ v: 2 });
    assert.deepEqual(again.full!.data, { v: 2 });
    assert.ok(again.full!.created_at > created.created_at, 'a re-created user has fresh timestamps');
  });
});

describe('user input validation', () => {
  it('refuses data that is not an object with 400/4, on create and update', async () => {
    const id = uid('bad');
    await expectApiError(t.client().user(id).create('some string' as any), 400, 4, 'InputException');
    await expectApiError(t.client().user(id).create([1, 2] as any), 400, 4);
    for (const data of [42, true, 'x']) {
      assertRawError(await rawRequest(t, 'POST', 'user/', { body: { id, data } }), 400, 4);
    }
    await expectApiError(t.client().user(id).get(), 404, 16); // nothing was created

    const user = t.client().user(uid('strupd'));
    await user.create({ keep: 1 });
    await expectApiError(t.client().user(user.id).update('some string' as any), 400, 4);
    assertRawError(await rawRequest(t, 'PUT', `user/${user.id}/`, { body: { data: [1] } }), 400, 4);
    assert.deepEqual((await t.client().user(user.id).get()).data, { keep: 1 });
  });

  it('refuses ids outside ^[\\w-]+$ or longer than 255, in bodies and paths', async () => {
    for (const id of ['!abc!', 'a b', 'a:b', 'é', '', 'x'.repeat(256)]) {
      assertRawError(await rawRequest(t, 'POST', 'user/', { body: { id, data: {} } }), 400, 4);
    }
    for (const id of [42, null, ['a'], { id: 'a' }]) {
      assertRawError(await rawRequest(t, 'POST', 'user/', { body: { id, data: {} } }), 400, 4);
    }
    assertRawError(await rawRequest(t, 'POST', 'user/', { body: { data: {} } }), 400, 4);
    const ok = 'x'.repeat(255);
    assert.equal((await rawRequest(t, 'POST', 'user/', { body: { id: ok }, query: { get_or_create: 'true' } })).status < 300, true);
    assertRawError(await rawRequest(t, 'GET', `user/${encodeURIComponent('!abc!')}/`), 400, 4);
    assertRawError(await rawRequest(t, 'PUT', 'user/a.b/', { body: { data: {} } }), 400, 4);
    assertRawError(await rawRequest(t, 'DELETE', `user/${'y'.repeat(256)}/`), 400, 4);
  });

  it('refuses bodies that are not objects and malformed flags, never with a 5xx', async () => {
    for (const body of ['[]', '"alice"', '42', 'null', '{"id":']) {
      assertRawError(await rawRequest(t, 'POST', 'user/', { body }), 400, 4);
    }
    assertRawError(await rawRequest(t, 'POST', 'user/', { body: { id: uid('f') }, query: { get_or_create: 'maybe' } }), 400, 4);
    const user = t.client().user(uid('flag'));
    await user.create({});
    assertRawError(await rawRequest(t, 'GET', `user/${user.id}/`, { query: { with_follow_counts: 'yes' } }), 400, 4);
    assertRawError(await rawRequest(t, 'PUT', `user/${user.id}/`, { body: '[1]' }), 400, 4);
  });

  it('refuses data larger than 10 kB as JSON', async () => {
    const big = { text: 'x'.repeat(10_300) };
    await expectApiError(t.client().user(uid('big')).create(big), 400, 4);
    const fits = { text: 'x'.repeat(10_000) };
    const u = await t.client().user(uid('fits')).create(fits);
    assert.deepEqual(u.full!.data, fits);
  });

  it('round-trips nested data exactly (unicode, numbers, nulls, deep values)', async () => {
    const data = { name: 'Zoë 🚀', n: 1.5, big: 12345678901234, nil: null, deep: { a: [{ b: [1, 'two', false] }] }, '': 'empty key' };
    const u = await t.client().user(uid('rt')).create(data);
    assert.deepEqual(u.full!.data, data);
    assert.deepEqual((await t.client().user(u.id).get()).data, data);
  });
});

describe('user tokens', () => {
  it('create, update and delete only their own user; read anyone', async () => {
    const me = uid('me');
    const other = uid('other');
    const mine = t.userClient(me);
    await t.client().user(other).create({ name: 'Other' });

    const created = await mine.currentUser!.getOrCreate({ name: 'Me' });
    assertUser(created.full, me, { name: 'Me' });
    await expectApiError(mine.user(other).create({ x: 1 }), 403, 17, 'NotAllowedException');
    await expectApiError(mine.user(uid('new')).create({ x: 1 }), 403, 17);
    await expectApiError(mine.user(other).update({ x: 1 }), 403, 17);
    await expectApiError(mine.user(other).delete(), 403, 17);
    assert.deepEqual((await t.client().user(other).get()).data, { name: 'Other' }, 'refused calls change nothing');

    assert.deepEqual((await mine.user(other).get()).data, { name: 'Other' });
    assert.deepEqual((await mine.user(other).profile()).full!.followers_count, 0);
    await mine.user(me).update({ name: 'Me 2' });
    assert.deepEqual((await t.client().user(me).get()).data, { name: 'Me 2' });
    await mine.user(me).delete();
    await expectApiError(mine.user(me).get(), 404, 16);
  });

  it('setUser is a get-or-create of the token user', async () => {
    const me = uid('set');
    const client = t.userClient(me);
    const first = await client.setUser({ name: 'First' });
    assertUser(first.full, me, { name: 'First' });
    const second = await client.setUser({ name: 'Second' });
    assert.deepEqual(second.full, first.full);
  });

  it('are refused on the batch endpoints', async () => {
    const token = t.userClient(uid('u')).getOrCreateToken();
    assertRawError(await rawRequest(t, 'POST', 'users/', { token, body: { users: [{ id: 'x', data: {} }] } }), 403, 17);
    assertRawError(await rawRequest(t, 'GET', 'users/', { token, query: { ids: 'x' } }), 403, 17);
    assertRawError(await rawRequest(t, 'DELETE', 'users/', { token, query: { ids: 'x' } }), 403, 17);
  });

  it('server tokens need the users resource', async () => {
    const server = t.client() as any;
    const feedToken = server.getReadWriteToken('user', 'x');
    assertRawError(await rawRequest(t, 'GET', 'user/x/', { token: feedToken }), 403, 17);
    const collectionsToken = server.getCollectionsToken();
    assertRawError(await rawRequest(t, 'POST', 'user/', { token: collectionsToken, body: { id: uid('c') } }), 403, 17);
  });
});

describe('profile follow counts', () => {
  it('counts feeds following user:{id} and feeds timeline:{id} follows (§23.3)', async () => {
    const [alice, bob, carl, dave] = ['alice', 'bob', 'carl', 'dave'].map((n) => uid(n));
    const c = t.client();
    await Promise.all([alice, bob, carl, dave].map((id) => c.user(id).create({ name: id })));
    // The official profile story's edges (test/integration/cloud/profile.js).
    await c.feed('timeline', alice).follow('user', bob);
    await c.feed('user', alice).follow('user', carl);
    await c.feed('timeline', alice).follow('timeline', dave);
    await c.feed('timeline', bob).follow('user', alice);
    await c.feed('notification', bob).follow('user', alice);
    await c.feed('notification', carl).follow('user', alice);
    await c.feed('notification', dave).follow('user', alice);

    const bobProfile = await t.userClient(alice).user(bob).profile();
    assertUser(bobProfile.full, bob, { name: bob }, PROFILE_KEYS);
    assert.equal(bobProfile.full!.following_count, 1);
    assert.equal(bobProfile.full!.followers_count, 1);

    const aliceProfile = (await c.user(alice).profile()).full!;
    assert.equal(aliceProfile.following_count, 2, 'timeline:alice follows user:bob and timeline:dave');
    assert.equal(aliceProfile.followers_count, 4, 'user:alice is followed by timeline:bob and three notification feeds');

    const plain = await c.user(alice).get();
    assert.deepEqual(Object.keys(plain.full!).sort(), USER_KEYS, 'counts only when asked');
    const off = await rawRequest(t, 'GET', `user/${alice}/`, { query: { with_follow_counts: 'false' } });
    assert.deepEqual(Object.keys(off.body).sort(), [...USER_KEYS, 'duration'].sort());
  });

  it('gives zero counts for a user without feeds, and 404 for a missing user', async () => {
    const id = uid('lonely');
    await t.client().user(id).create({});
    const p = (await t.client().user(id).profile()).full!;
    assert.equal(p.followers_count, 0);
    assert.equal(p.following_count, 0);
    await expectApiError(t.client().user(uid('nobody')).profile(), 404, 16);
  });
});

describe('batch users', () => {
  it('adds users and answers created_users with each user once', async () => {
    const [a, b] = [uid('ba'), uid('bb')];
    const res: any = await (t.client() as any).addUsers([{ id: a, data: { n: 1 } }, { id: b }]);
    assert.deepEqual(Object.keys(res).sort(), ['created_users', 'duration']);
    assert.equal(res.created_users.length, 2);
    assertUser(res.created_users[0], a, { n: 1 });
    assertUser(res.created_users[1], b, {});
    assert.deepEqual((await t.client().user(a).get()).full, res.created_users[0]);
  });

  it('keeps existing users without override and replaces them with it', async () => {
    const id = uid('ov');
    const original = (await t.client().user(id).create({ v: 1 })).full!;
    const fresh = uid('fresh');
    const kept: any = await (t.client() as any).addUsers([{ id, data: { v: 2 } }, { id: fresh, data: { v: 1 } }], false);
    assert.deepEqual(kept.created_users[0], original, 'an existing user is returned unchanged');
    assert.deepEqual(kept.created_users[1].data, { v: 1 });
    assert.deepEqual((await t.client().user(id).get()).data, { v: 1 });

    const replaced: any = await (t.client() as any).addUsers([{ id, data: { v: 3 } }], true);
    assert.deepEqual(replaced.created_users[0].data, { v: 3 });
    assert.equal(replaced.created_users[0].created_at, original.created_at);
    assert.notEqual(replaced.created_users[0].updated_at, original.updated_at);
    assert.deepEqual((await t.client().user(id).get()).full, replaced.created_users[0]);
  });

  it('lists a repeated id once: the first item wins without override, the last with it', async () => {
    const id = uid('rep');
    const kept: any = await (t.client() as any).addUsers([{ id, data: { v: 1 } }, { id, data: { v: 2 } }]);
    assert.equal(kept.created_users.length, 1);
    assert.deepEqual(kept.created_users[0].data, { v: 1 });
    const replaced: any = await (t.client() as any).addUsers([{ id, data: { v: 3 } }, { id, data: { v: 4 } }], true);
    assert.equal(replaced.created_users.length, 1);
    assert.deepEqual(replaced.created_users[0].data, { v: 4 });
  });

  it('gets users by ids in the order asked, skipping unknown ids', async () => {
    const [a, b] = [uid('ga'), uid('gb')];
    await (t.client() as any).addUsers([{ id: a, data: { n: 'a' } }, { id: b, data: { n: 'b' } }]);
    const res: any = await (t.client() as any).getUsers([b, uid('none'), a, b]);
    assert.deepEqual(Object.keys(res).sort(), ['duration', 'users']);
    assert.deepEqual(res.users.map((u: any) => u.id), [b, a]);
    assertUser(res.users[0], b, { n: 'b' });
    const none: any = await (t.client() as any).getUsers([uid('none')]);
    assert.deepEqual(none.users, []);
  });

  it('deletes users by ids and answers the ids that existed', async () => {
    const [a, b] = [uid('da'), uid('db')];
    await (t.client() as any).addUsers([{ id: a }, { id: b }]);
    const missing = uid('missing');
    const res: any = await (t.client() as any).deleteUsers([a, missing, b]);
    assert.deepEqual(Object.keys(res).sort(), ['deleted_user_ids', 'duration']);
    assert.deepEqual(res.deleted_user_ids, [a, b]);
    const left: any = await (t.client() as any).getUsers([a, b]);
    assert.deepEqual(left.users, []);
  });

  it('rejects a batch with one bad item whole, naming the item', async () => {
    const good = uid('good');
    const res = await rawRequest(t, 'POST', 'users/', { body: { users: [{ id: good, data: {} }, { id: 'bad id!', data: {} }] } });
    assertRawError(res, 400, 4);
    assert.match(res.body.detail, /users\[1\]\.id/);
    const data = await rawRequest(t, 'POST', 'users/', { body: { users: [{ id: good }, { id: uid('x'), data: 'str' }] } });
    assertRawError(data, 400, 4);
    assert.match(data.body.detail, /users\[1\]\.data/);
    await expectApiError(t.client().user(good).get(), 404, 16); // nothing from the batch was written
  });

  it('refuses malformed batch requests with 400/4', async () => {
    for (const body of [{}, { users: 'x' }, { users: {} }, { users: [42] }, { users: [], override: 'yes' }, []]) {
      assertRawError(await rawRequest(t, 'POST', 'users/', { body }), 400, 4);
    }
    const tooMany = Array.from({ length: 1001 }, (_, i) => ({ id: `m${i}` }));
    assertRawError(await rawRequest(t, 'POST', 'users/', { body: { users: tooMany } }), 400, 4);
    assertRawError(await rawRequest(t, 'GET', 'users/'), 400, 4);
    assertRawError(await rawRequest(t, 'GET', 'users/', { query: { ids: 'a,b c' } }), 400, 4);
    assertRawError(await rawRequest(t, 'DELETE', 'users/'), 400, 4);
    assertRawError(await rawRequest(t, 'GET', 'users/', { query: { ids: Array.from({ length: 1001 }, (_, i) => `i${i}`).join(',') } }), 400, 4);
  });

  it('accepts an empty list everywhere', async () => {
    const added: any = await (t.client() as any).addUsers([]);
    assert.deepEqual(added.created_users, []);
    const got = await rawRequest(t, 'GET', 'users/', { query: { ids: '' } });
    assert.equal(got.status, 200, got.text);
    assert.deepEqual(got.body.users, []);
  });

  it('handles a thousand users per call', async () => {
    const prefix = uid('k');
    const users = Array.from({ length: 1000 }, (_, i) => ({ id: `${prefix}-${i}`, data: { i } }));
    const added: any = await (t.client() as any).addUsers(users);
    assert.equal(added.created_users.length, 1000);
    const got: any = await (t.client() as any).getUsers(users.map((u) => u.id));
    assert.equal(got.users.length, 1000);
    assert.deepEqual(got.users[999].data, { i: 999 });
  });
});
