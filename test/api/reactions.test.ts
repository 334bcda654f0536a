// Black-box tests of reactions (stream-v2-api.md §10, §5.5, §2.3, §20.3) through the official
// getstream client; raw HTTP only for what the client cannot send or to follow server links.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawRequest, startServer, uid, type TestServer } from '../support/server.js';
import { assertIdMatchesTime, assertRawError, CORE_KEYS, expectApiError, feedIds, readAll, sortedKeys } from './activity-helpers.js';
import {
  asRead,
  assertReactionKeys,
  assertUserObject,
  countsOf,
  follow,
  listIds,
  people,
  strip,
  type Json,
  type Person,
} from './reaction-helpers.js';

let t: TestServer;

before(async () => {
  t = await startServer();
});
after(async () => t.close());

/** An activity posted by `p` to its own user feed, as the add response shows it (no duration). */
async function post(p: Person, extra: Json = {}): Promise<Json> {
  const res = await p.client.feed('user', p.id).addActivity({ verb: 'eat', object: 'cheeseburger', ...extra } as any);
  return strip(res as Json);
}

describe('add', () => {
  it('answers exactly the eleven keys (+duration), with the fully enriched user', async () => {
    const [alice, bob] = await people(t, 'alice', 'bob');
    const act = await post(alice);
    const res = (await bob.client.reactions.add('comment', act.id, { text: 'nice' })) as Json;
    assertReactionKeys(res, ['duration']);
    assert.equal(res.kind, 'comment');
    assert.equal(res.activity_id, act.id);
    assert.equal(res.user_id, bob.id);
    assertUserObject(res.user, bob.full);
    assert.deepEqual(res.data, { text: 'nice' });
    assert.equal(res.parent, '');
    assert.deepEqual(res.latest_children, {});
    assert.deepEqual(res.children_counts, {});
    assert.equal(res.created_at, res.updated_at);
    assert.match(res.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

    const got = (await alice.client.reactions.get(res.id)) as Json;
    assertReactionKeys(got, ['duration']);
    assert.deepEqual(strip(got), asRead(res));
  });

  it('shows the reacting user as stored at each add: after an update, a delete and a re-create', async () => {
    const [alice, bob] = await people(t, 'alice', 'bob');
    const act = await post(alice);
    const server = t.client();
    const add = async () => (await server.reactions.add('like', act.id, {}, { userId: bob.id })) as Json;
    assertUserObject((await add()).user, bob.full);
    assertUserObject((await add()).user, bob.full);
    const updated = await server.user(bob.id).update({ name: 'Robert' });
    assertUserObject((await add()).user, updated.full);
    await server.user(bob.id).delete();
    assert.deepEqual((await add()).user, { error: 'ReferenceNotFound', reference: `SU:${bob.id}`, reference_type: 'user', id: bob.id });
    const again = await server.user(bob.id).create({ name: 'Bobby' });
    assertUserObject((await add()).user, again.full);
  });

  it('stores data {} when none is given and accepts data {}', async () => {
    const [alice] = await people(t, 'alice');
    const act = await post(alice);
    const a = (await alice.client.reactions.add('like', act.id)) as Json;
    assert.deepEqual(a.data, {});
    const b = await rawRequest(t, 'POST', 'reaction/', { body: { kind: 'like', activity_id: act.id, user_id: alice.id, data: null, target_feeds: null } });
    assert.equal(b.status, 201, b.text);
    assert.deepEqual(b.body.data, {});
    assertReactionKeys(b.body, ['duration']);
  });

  it('uses a supplied id, and refuses it again with 409/22 without changing anything', async () => {
    const [alice, bob] = await people(t, 'alice', 'bob');
    const act = await post(alice);
    const id = uid('my-reaction');
    const res = (await bob.client.reactions.add('like', act.id, { n: 1 }, { id })) as Json;
    assert.equal(res.id, id);
    await expectApiError(bob.client.reactions.add('comment', act.id, { n: 2 }, { id }), 409, 22, 'ConflictException');
    // Another user, another activity: still the same id.
    const other = await post(bob);
    await expectApiError(alice.client.reactions.add('like', other.id, {}, { id }), 409, 22);
    assert.deepEqual(await countsOf(t, act.id), { like: 1 });
    assert.deepEqual(await countsOf(t, other.id), {});
    const got = (await t.client().reactions.get(id)) as Json;
    assert.equal(got.kind, 'like');
    assert.deepEqual(got.data, { n: 1 });
    assert.deepEqual(await listIds(t, 'user_id', alice.id), []);
  });

  it('refuses an id already used by a soft-deleted reaction, and reuses one freed by a hard delete', async () => {
    const [alice] = await people(t, 'alice');
    const act = await post(alice);
    const id = uid('soft');
    await alice.client.reactions.add('like', act.id, {}, { id });
    await alice.client.reactions.delete(id, true);
    await expectApiError(alice.client.reactions.add('like', act.id, {}, { id }), 409, 22);
    await alice.client.reactions.delete(id);
    const again = (await alice.client.reactions.add('clap', act.id, {}, { id })) as Json;
    assert.equal(again.kind, 'clap');
    assert.deepEqual(again.children_counts, {});
  });

  it('a reaction id freed by a hard delete starts without the old children counts', async () => {
    const [alice] = await people(t, 'alice');
    const act = await post(alice);
    const id = uid('reuse');
    const parent = await alice.client.reactions.add('comment', act.id, {}, { id });
    await alice.client.reactions.addChild('like', parent, {});
    await alice.client.reactions.delete(id);
    const again = (await alice.client.reactions.add('comment', act.id, {}, { id })) as Json;
    assert.deepEqual(again.children_counts, {});
    assert.deepEqual(((await alice.client.reactions.get(id)) as Json).children_counts, {});
  });

  it('accepts a reaction on an activity that does not exist (§20.3)', async () => {
    const [alice] = await people(t, 'alice');
    const missing = '8fd1f8e4-0b6a-11ef-8080-800000000001';
    const res = (await alice.client.reactions.add('like', missing)) as Json;
    assert.equal(res.activity_id, missing);
    assert.deepEqual(await listIds(t, 'activity_id', missing), [res.id]);
  });

  it('server side: names the author with user_id, and without it answers 400/10', async () => {
    const [alice, bob] = await people(t, 'alice', 'bob');
    const act = await post(alice);
    const c = t.client();
    const res = (await c.reactions.add('like', act.id, {}, { userId: bob.id })) as Json;
    assert.equal(res.user_id, bob.id);
    assertUserObject(res.user, bob.full);
    await expectApiError(c.reactions.add('like', act.id, {}), 400, 10, 'MissingUserException');
    await expectApiError(c.reactions.addChild('like', res.id, {}), 400, 10, 'MissingUserException');
    assert.deepEqual(await countsOf(t, act.id), { like: 1 });
  });

  it('a user token adds as itself: its own user_id is fine, another user_id is 403/17', async () => {
    const [alice, bob] = await people(t, 'alice', 'bob');
    const act = await post(alice);
    const own = (await bob.client.reactions.add('like', act.id, {}, { userId: bob.id })) as Json;
    assert.equal(own.user_id, bob.id);
    await expectApiError(bob.client.reactions.add('like', act.id, {}, { userId: alice.id }), 403, 17, 'NotAllowedException');
    await expectApiError(bob.client.reactions.addChild('like', own.id, {}, { userId: alice.id }), 403, 17);
    assert.deepEqual(await countsOf(t, act.id), { like: 1 });
    assert.deepEqual(await listIds(t, 'user_id', alice.id), []);
  });

  it('shows the not-found user object for an author without a user object', async () => {
    const ghost = uid('ghost');
    const [alice] = await people(t, 'alice');
    const act = await post(alice);
    const res = (await t.client().reactions.add('like', act.id, {}, { userId: ghost })) as Json;
    assert.deepEqual(res.user, { error: 'ReferenceNotFound', reference: `SU:${ghost}`, reference_type: 'user', id: ghost });
  });
});

describe('children', () => {
  it('a child of a missing reaction is 400/4, not 404', async () => {
    const [bob] = await people(t, 'bob');
    await expectApiError(bob.client.reactions.addChild('comment', { id: 'does-not-exist' }), 400, 4, 'InputException');
    await expectApiError(t.client().reactions.addChild('comment', 'does-not-exist', {}, { userId: bob.id }), 400, 4);
    assert.deepEqual(await listIds(t, 'user_id', bob.id), []);
  });

  it('nests three levels; a fourth is 400/4 and changes nothing', async () => {
    const [alice, bob] = await people(t, 'alice', 'bob');
    const act = await post(alice);
    const first = (await bob.client.reactions.add('comment', act.id, { text: 'yummy' })) as Json;
    const second = (await alice.client.reactions.addChild('comment', first, { text: 'yes' })) as Json;
    const third = (await bob.client.reactions.addChild('comment', second, { text: 'me too' })) as Json;
    for (const [child, parent] of [[second, first], [third, second]]) {
      assertReactionKeys(child, ['duration']);
      assert.equal(child.parent, parent.id);
      assert.equal(child.activity_id, act.id);
    }
    await expectApiError(alice.client.reactions.addChild('like', third), 400, 4, 'InputException');
    assert.deepEqual(((await t.client().reactions.get(third.id)) as Json).children_counts, {});
    assert.deepEqual(await listIds(t, 'reaction_id', third.id), []);
    assert.deepEqual(await countsOf(t, act.id), { comment: 1 });
  });

  it('counts children only in their direct parent; the activity counts top-level reactions only', async () => {
    const [alice, bob] = await people(t, 'alice', 'bob');
    const act = await post(alice);
    const comment = (await bob.client.reactions.add('comment', act.id, { text: 'hi' })) as Json;
    const like = (await alice.client.reactions.addChild('like', comment)) as Json;
    await alice.client.reactions.addChild('like', comment);
    await bob.client.reactions.addChild('reply', comment, { text: 'thanks' });
    const grand = (await bob.client.reactions.addChild('like', like)) as Json;
    assert.equal(grand.parent, like.id);

    const c = (await t.client().reactions.get(comment.id)) as Json;
    assert.deepEqual(c.children_counts, { like: 2, reply: 1 });
    assert.deepEqual(Object.keys(c.latest_children).sort(), ['like', 'reply']);
    assert.equal(c.latest_children.like.length, 2);
    // Children are full reactions with their own children, recursively.
    const likeInParent = c.latest_children.like.find((r: Json) => r.id === like.id);
    assertReactionKeys(likeInParent);
    assert.deepEqual(likeInParent.children_counts, { like: 1 });
    assert.deepEqual(likeInParent.latest_children.like.map((r: Json) => r.id), [grand.id]);
    assertReactionKeys(likeInParent.latest_children.like[0]);
    assertUserObject(likeInParent.latest_children.like[0].user, bob.full);

    const l = (await t.client().reactions.get(like.id)) as Json;
    assert.deepEqual(l.children_counts, { like: 1 });
    assert.deepEqual(await countsOf(t, act.id), { comment: 1 });
    assert.deepEqual(await listIds(t, 'activity_id', act.id), [comment.id]);
  });

  it('GET holds the 10 newest children across kinds: 29 children over 3 kinds split 3/3/4', async () => {
    const [alice, bob] = await people(t, 'alice', 'bob');
    const act = await post(alice);
    const comment = (await bob.client.reactions.add('comment', act.id, {})) as Json;
    const first = (await alice.client.reactions.addChild('like', comment)) as Json;
    const made: Json[] = [first];
    for (let i = 0; i < 29; i++) {
      const kind = ['clap', 'unlike', 'like'][i % 3];
      made.push(strip((await alice.client.reactions.addChild(kind, comment)) as Json));
    }
    const got = (await alice.client.reactions.get(comment.id)) as Json;
    assert.deepEqual(got.children_counts, { clap: 10, like: 10, unlike: 10 });
    assert.deepEqual(Object.keys(got.latest_children).sort(), ['clap', 'like', 'unlike']);
    assert.equal(got.latest_children.clap.length, 3);
    assert.equal(got.latest_children.like.length, 3);
    assert.equal(got.latest_children.unlike.length, 4);
    // Exactly the ten newest, newest first within each kind, in the shape of the add responses.
    const newest = made.slice(-10).reverse();
    for (const kind of ['clap', 'like', 'unlike']) {
      assert.deepEqual(got.latest_children[kind], newest.filter((r) => r.kind === kind).map(asRead));
    }
  });

  it('GET holds 10 children of one kind when there are more, with the full count', async () => {
    const [alice] = await people(t, 'alice');
    const act = await post(alice);
    const comment = (await alice.client.reactions.add('comment', act.id)) as Json;
    const ids: string[] = [];
    for (let i = 0; i < 13; i++) ids.push(((await alice.client.reactions.addChild('like', comment, { i })) as Json).id);
    const got = (await alice.client.reactions.get(comment.id)) as Json;
    assert.deepEqual(got.children_counts, { like: 13 });
    assert.deepEqual(got.latest_children.like.map((r: Json) => r.id), ids.slice(-10).reverse());
    assert.deepEqual(await listIds(t, 'reaction_id', comment.id), ids.slice().reverse());
    assert.deepEqual(await listIds(t, 'reaction_id', comment.id, 'like'), ids.slice().reverse());
    assert.deepEqual(await listIds(t, 'reaction_id', comment.id, 'clap'), []);
  });

  it('own_children appears only when asked for', async () => {
    const [alice, bob] = await people(t, 'alice', 'bob');
    const act = await post(alice);
    const comment = (await bob.client.reactions.add('comment', act.id)) as Json;
    assert.ok(!('own_children' in comment));
    const child = (await alice.client.reactions.addChild('like', comment)) as Json;
    assert.ok(!('own_children' in child));
    assert.ok(!('own_children' in ((await alice.client.reactions.get(comment.id)) as Json)));
    const plain = await alice.client.reactions.filter({ activity_id: act.id });
    assertReactionKeys(plain.results[0] as Json);
    const asked = await alice.client.reactions.filter({ activity_id: act.id, with_own_children: true });
    assertReactionKeys(asked.results[0] as Json, ['own_children']);
    assert.deepEqual((asked.results[0] as Json).own_children.like.map((r: Json) => r.id), [child.id]);
  });
});

describe('an activity with 25 likes, 9 comments and 7 claps', () => {
  let alice: Person;
  let bob: Person;
  let act: Json;
  const likes: Json[] = [];
  const comments: Json[] = [];
  const claps: Json[] = [];
  const all: Json[] = [];

  before(async () => {
    [alice, bob] = await people(t, 'alice', 'bob');
    act = await post(alice);
    const add = async (kind: string, index: number, into: Json[]) => {
      const r = strip((await bob.client.reactions.add(kind, act.id, { index })) as Json);
      into.unshift(r);
      all.unshift(r);
    };
    for (let index = 0; index < 25; index++) {
      if (index % 3 === 0) await add('comment', index, comments);
      await add('like', index, likes);
      if (index % 4 === 0) await add('clap', index, claps);
    }
    assert.equal(likes.length, 25);
    assert.equal(comments.length, 9);
    assert.equal(claps.length, 7);
  });

  /** Reads a listing page by page with `id_lt`, as the official tests do, until `next` is empty. */
  async function pageDown(conditions: Json, limit: number): Promise<Json[]> {
    const out: Json[] = [];
    const cond: Json = { ...conditions, limit };
    for (let i = 0; i < 100; i++) {
      const res = await alice.client.reactions.filter(cond as any);
      assert.ok(res.results.length > 0, 'a page before the end is never empty');
      assert.ok(res.results.length <= limit);
      out.push(...(res.results as Json[]));
      if (res.next === '') return out;
      assert.equal(res.results.length, limit, 'only the last page is short');
      cond.id_lt = (res.results[res.results.length - 1] as Json).id;
    }
    throw new Error('did not terminate');
  }

  it('lists every kind in exact reverse insertion order, five (four, three) at a time', async () => {
    assert.deepEqual(await pageDown({ activity_id: act.id, kind: 'like' }, 5), likes);
    assert.deepEqual(await pageDown({ activity_id: act.id, kind: 'comment' }, 4), comments);
    assert.deepEqual(await pageDown({ activity_id: act.id, kind: 'clap' }, 3), claps);
    // Exact multiples of the page size: `next` is empty on the last full page.
    assert.deepEqual(await pageDown({ activity_id: act.id, kind: 'comment' }, 3), comments);
    assert.deepEqual(await pageDown({ activity_id: act.id, kind: 'clap' }, 7), claps);
    assert.deepEqual(await pageDown({ activity_id: act.id }, 25), all);
  });

  it('an enriched read shows the five newest of each kind, in own_reactions and latest_reactions alike', async () => {
    const res = await bob.client.feed('user', alice.id).get({ reactions: { own: true, recent: true, counts: true } } as any);
    assert.deepEqual(sortedKeys(res), ['duration', 'next', 'results']);
    const a = res.results[0] as Json;
    assert.deepEqual(sortedKeys(a), [...CORE_KEYS, 'latest_reactions', 'latest_reactions_extra', 'own_reactions', 'reaction_counts'].sort());
    const five = { like: likes.slice(0, 5), comment: comments.slice(0, 5), clap: claps.slice(0, 5) };
    assert.deepEqual(a.own_reactions, five);
    assert.deepEqual(a.latest_reactions, five);
    assert.deepEqual(a.reaction_counts, { like: 25, comment: 9, clap: 7 });
    assert.deepEqual(Object.keys(a.latest_reactions_extra).sort(), ['clap', 'comment', 'like']);
    for (const [kind, list] of [['like', likes], ['comment', comments], ['clap', claps]] as const) {
      const next = a.latest_reactions_extra[kind].next as string;
      assert.equal(next.slice(0, 4), 'http');
      assert.ok(next.includes('/activity_id/') && next.includes(`/${kind}/`) && next.includes(`/${act.id}/`), next);
      assert.deepEqual(Object.fromEntries(new URL(next).searchParams), { id_lt: list[4].id, limit: '5', withOwnChildren: 'false' });
      const page = await follow(t, next);
      assert.equal(page.status, 200, page.text);
      assert.deepEqual(page.body.results, list.slice(5, 10));
    }
    const lastComments = await follow(t, a.latest_reactions_extra.comment.next);
    assert.equal(lastComments.body.next, '', 'four comments after the first five: nothing more');
  });

  it('lists mixed kinds newest first without a kind; limit above 25 gives 25', async () => {
    const res = await alice.client.reactions.filter({ activity_id: act.id, limit: 100 });
    assert.equal(res.results.length, 25);
    assert.deepEqual(res.results.slice(0, 3).map((r: Json) => r.kind), ['clap', 'like', 'comment']);
    assert.deepEqual(res.results, all.slice(0, 25));
    const likes300 = await alice.client.reactions.filter({ activity_id: act.id, kind: 'like', limit: 300 });
    assert.deepEqual(likes300.results, likes);
    assert.equal(likes300.next, '');
    assert.deepEqual(sortedKeys(likes300), ['duration', 'next', 'results']);
  });

  it('defaults to 10 results without a limit, and answers full reactions', async () => {
    const res = await rawRequest(t, 'GET', `reaction/activity_id/${act.id}/like/`);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(sortedKeys(res.body), ['duration', 'next', 'results']);
    assert.deepEqual(res.body.results, likes.slice(0, 10));
    for (const r of res.body.results) {
      assertReactionKeys(r);
      assertUserObject(r.user, bob.full);
    }
    const viaClient = await alice.client.reactions.filter({ activity_id: act.id, kind: 'like' });
    assert.equal(viaClient.results.length, 10);
  });

  it('rejects limits that are not numbers with 400/4', async () => {
    assertRawError(await rawRequest(t, 'GET', `reaction/activity_id/${act.id}/`, { query: { limit: 'ten' } }), 400, 4);
    assertRawError(await rawRequest(t, 'GET', `reaction/activity_id/${act.id}/`, { query: { limit: '-1' } }), 400, 4);
  });

  it('follows `next` links: relative, same lookup and kind, id_lt and limit, empty at the end', async () => {
    const first = await rawRequest(t, 'GET', `reaction/activity_id/${act.id}/like/`, { query: { limit: '10' } });
    const next = first.body.next as string;
    assert.ok(next.startsWith(`/api/v1.0/reaction/activity_id/${act.id}/like/?`), next);
    const q = new URL(next, 'http://x').searchParams;
    assert.equal(q.get('id_lt'), likes[9].id);
    assert.equal(q.get('limit'), '10');
    const seen: Json[] = [...first.body.results];
    let link = next;
    while (link !== '') {
      const page = await follow(t, link);
      assert.equal(page.status, 200, page.text);
      seen.push(...page.body.results);
      link = page.body.next;
    }
    assert.deepEqual(seen, likes);
  });

  it('id_lte includes the bound, id_lt excludes it, both newest first', async () => {
    const lt = await alice.client.reactions.filter({ activity_id: act.id, kind: 'like', id_lt: likes[3].id, limit: 4 });
    assert.deepEqual(lt.results, likes.slice(4, 8));
    const lte = await alice.client.reactions.filter({ activity_id: act.id, kind: 'like', id_lte: likes[3].id, limit: 4 });
    assert.deepEqual(lte.results, likes.slice(3, 7));
    // A bound of another kind positions by time across kinds.
    const mixed = await alice.client.reactions.filter({ activity_id: act.id, id_lt: all[1].id, limit: 3 });
    assert.deepEqual(mixed.results, all.slice(2, 5));
  });

  it('id_gt and id_gte list oldest first; reading everything in reverse gives the same reactions', async () => {
    const oldest = likes[likes.length - 1];
    const gte = await alice.client.reactions.filter({ activity_id: act.id, kind: 'like', id_gte: oldest.id, limit: 3 });
    assert.deepEqual(gte.results, likes.slice(-3).reverse());
    const gt = await alice.client.reactions.filter({ activity_id: act.id, kind: 'like', id_gt: oldest.id, limit: 3 });
    assert.deepEqual(gt.results, likes.slice(-4, -1).reverse());

    let done = false;
    let reversed: Json[] = [];
    const cond: Json = { activity_id: act.id, kind: 'like', limit: 5, id_gte: oldest.id };
    for (let i = 0; !done && i < 20; i++) {
      const res = await alice.client.reactions.filter(cond as any);
      done = res.next === '';
      reversed = (res.results as Json[]).slice().reverse().concat(reversed);
      cond.id_gt = (res.results[res.results.length - 1] as Json).id;
      delete cond.id_gte;
    }
    assert.ok(done);
    assert.deepEqual(reversed, likes);
    // The ascending `next` link keeps ascending.
    const page = await rawRequest(t, 'GET', `reaction/activity_id/${act.id}/like/`, { query: { limit: '20', id_gte: oldest.id } });
    const q = new URL(page.body.next, 'http://x').searchParams;
    assert.equal(q.get('id_gt'), page.body.results[19].id);
    assert.equal(q.get('id_lt'), null);
    const rest = await follow(t, page.body.next);
    assert.deepEqual(rest.body.results, likes.slice(0, 5).reverse());
    assert.equal(rest.body.next, '');
  });

  it('an unknown bound is no error: a time-based id orders by its time, another well-formed id gives an empty page', async () => {
    // Version-1 UUIDs of 2018 and 2200: everything is newer than the first, older than the second.
    const past = '87a9eec0-fd5f-11e8-8080-80013fed2f5b';
    const future = 'dd33c000-fa05-12b3-8080-80013fed2f5b';
    const empty = await rawRequest(t, 'GET', `reaction/activity_id/${act.id}/like/`, { query: { id_lte: past } });
    assert.equal(empty.status, 200, empty.text);
    assert.deepEqual(empty.body.results, []);
    assert.equal(empty.body.next, '');
    const newest = await alice.client.reactions.filter({ activity_id: act.id, kind: 'like', id_lt: future, limit: 3 });
    assert.deepEqual(newest.results, likes.slice(0, 3));
    const oldest = await alice.client.reactions.filter({ activity_id: act.id, kind: 'like', id_gt: past, limit: 3 });
    assert.deepEqual(oldest.results, likes.slice(-3).reverse());
    const none = await rawRequest(t, 'GET', `reaction/activity_id/${act.id}/`, { query: { id_lt: 'nope' } });
    assert.equal(none.status, 200, none.text);
    assert.deepEqual(none.body.results, []);
    assertRawError(await rawRequest(t, 'GET', `reaction/activity_id/${act.id}/`, { query: { id_lt: 'no pe' } }), 400, 4);
  });

  it('filters by user_id, with and without kind', async () => {
    const res = await pageDown({ user_id: bob.id }, 25);
    assert.deepEqual(res, all);
    const likesByBob = await pageDown({ user_id: bob.id, kind: 'like' }, 10);
    assert.deepEqual(likesByBob, likes);
    assert.deepEqual((await alice.client.reactions.filter({ user_id: alice.id })).results, []);
  });

  it('with_activity_data adds the enriched activity with all reaction data', async () => {
    const res = (await alice.client.reactions.filter({ activity_id: act.id, limit: 1, with_activity_data: true })) as Json;
    assert.deepEqual(sortedKeys(res), ['activity', 'duration', 'next', 'results']);
    const a = res.activity;
    assert.deepEqual(sortedKeys(a), [...CORE_KEYS, 'latest_reactions', 'latest_reactions_extra', 'own_reactions', 'reaction_counts'].sort());
    const { latest_reactions, latest_reactions_extra, own_reactions, reaction_counts, ...stored } = a;
    assert.deepEqual(stored, { ...act, actor: alice.full });
    assert.deepEqual(Object.keys(latest_reactions_extra).sort(), ['clap', 'comment', 'like']);
    for (const [kind, list] of [['like', likes], ['comment', comments], ['clap', claps]] as const) {
      const next = new URL(latest_reactions_extra[kind].next);
      assert.equal(next.searchParams.get('id_lt'), list[4].id);
    }
    assert.deepEqual(a.reaction_counts, { like: 25, comment: 9, clap: 7 });
    assert.deepEqual(a.latest_reactions, { like: likes.slice(0, 5), comment: comments.slice(0, 5), clap: claps.slice(0, 5) });
    assert.deepEqual(a.own_reactions, {}, 'alice reacted to nothing');
    const asBob = (await bob.client.reactions.filter({ activity_id: act.id, limit: 1, with_activity_data: true })) as Json;
    assert.deepEqual(asBob.activity.own_reactions, asBob.activity.latest_reactions);
    // Without the flag, or on other lookups, no activity.
    assert.ok(!('activity' in (await alice.client.reactions.filter({ activity_id: act.id, limit: 1 }))));
    assert.ok(!('activity' in (await alice.client.reactions.filter({ user_id: bob.id, limit: 1, with_activity_data: true }))));
  });

  it('filter_user_id keeps only one user’s reactions', async () => {
    const carlLike = strip((await t.client().reactions.add('like', act.id, {}, { userId: uid('carl') })) as Json);
    try {
      const onlyBob = await alice.client.reactions.filter({ activity_id: act.id, kind: 'like', filter_user_id: bob.id, limit: 25 });
      assert.deepEqual(onlyBob.results, likes);
      const onlyCarl = await alice.client.reactions.filter({ activity_id: act.id, filter_user_id: carlLike.user_id });
      assert.deepEqual(onlyCarl.results.map((r: Json) => r.id), [carlLike.id]);
      assert.equal(onlyCarl.next, '');
    } finally {
      await t.client().reactions.delete(carlLike.id);
    }
  });
});

describe('own children in listings', () => {
  it('with_own_children adds own_children per kind (5 each) for the token user or children_user_id', async () => {
    const [alice, bob] = await people(t, 'alice', 'bob');
    const act = await post(alice);
    const comment = (await bob.client.reactions.add('comment', act.id)) as Json;
    const aliceLikes: string[] = [];
    for (let i = 0; i < 7; i++) aliceLikes.push(((await alice.client.reactions.addChild('like', comment, { i })) as Json).id);
    const aliceClap = ((await alice.client.reactions.addChild('clap', comment)) as Json).id;
    const bobReply = ((await bob.client.reactions.addChild('reply', comment)) as Json).id;

    const asAlice = (await alice.client.reactions.filter({ activity_id: act.id, with_own_children: true })).results[0] as Json;
    assert.deepEqual(Object.keys(asAlice.own_children).sort(), ['clap', 'like']);
    assert.deepEqual(asAlice.own_children.like.map((r: Json) => r.id), aliceLikes.slice(-5).reverse());
    assert.deepEqual(asAlice.own_children.clap.map((r: Json) => r.id), [aliceClap]);

    const forBob = (await t.client().reactions.filter({ activity_id: act.id, with_own_children: true, children_user_id: bob.id })).results[0] as Json;
    assert.deepEqual(forBob.own_children, { reply: [forBob.latest_children.reply[0]] });
    assert.equal(forBob.own_children.reply[0].id, bobReply);

    const server = (await t.client().reactions.filter({ activity_id: act.id, with_own_children: true })).results[0] as Json;
    assert.deepEqual(server.own_children, {}, 'no user: empty own_children');

    // Level-3 reactions cannot have children, but the key is still there when asked.
    const child = (await alice.client.reactions.addChild('comment', comment)) as Json;
    const grand = (await alice.client.reactions.addChild('comment', child)) as Json;
    const leaf = (await alice.client.reactions.filter({ reaction_id: child.id, with_own_children: true })).results[0] as Json;
    assert.equal(leaf.id, grand.id);
    assertReactionKeys(leaf, ['own_children']);
    assert.deepEqual(leaf.own_children, {});
  });
});

describe('update', () => {
  it('replaces data, keeps created_at, moves updated_at; extra data only in the response', async () => {
    const [alice, bob] = await people(t, 'alice', 'bob');
    const act = await post(alice);
    const r = (await bob.client.reactions.add('comment', act.id, { text: 'one' })) as Json;
    const u = (await bob.client.reactions.update(r.id, { text: 'two' })) as Json;
    assertReactionKeys(u, ['duration']);
    assert.deepEqual(u.data, { text: 'two' });
    assert.equal(u.created_at, r.created_at);
    assert.notEqual(u.updated_at, r.updated_at);
    assert.ok(u.updated_at > u.created_at);
    assert.equal(u.id, r.id);
    assert.equal(u.kind, 'comment');
    const got = (await alice.client.reactions.get(r.id)) as Json;
    assert.deepEqual(strip(got), asRead(u));

    const feed = `user:${bob.id}`;
    const withExtra = (await bob.client.reactions.update(r.id, { text: 'three' }, { targetFeeds: [feed], targetFeedsExtraData: { custom: 'yay' } })) as Json;
    assertReactionKeys(withExtra, ['duration', 'target_feeds', 'target_feeds_extra_data']);
    assert.deepEqual(withExtra.target_feeds_extra_data, { custom: 'yay' });
    assert.deepEqual(withExtra.target_feeds, [feed]);
    const read = (await alice.client.reactions.get(r.id)) as Json;
    assertReactionKeys(read, ['duration', 'target_feeds']);
  });

  it('keeps the old data when the body has none', async () => {
    const [alice] = await people(t, 'alice');
    const act = await post(alice);
    const r = (await alice.client.reactions.add('comment', act.id, { text: 'keep' })) as Json;
    const res = await rawRequest(t, 'PUT', `reaction/${r.id}/`, { body: { target_feeds: [] } });
    assert.ok(res.status >= 200 && res.status < 300, res.text);
    assert.deepEqual(res.body.data, { text: 'keep' });
  });

  it('is refused for another user (403), a missing reaction (404) and a deleted one (404)', async () => {
    const [alice, bob] = await people(t, 'alice', 'bob');
    const act = await post(alice);
    const r = (await bob.client.reactions.add('comment', act.id, { text: 'mine' })) as Json;
    await expectApiError(alice.client.reactions.update(r.id, { text: 'hacked' }), 403, 17, 'NotAllowedException');
    await expectApiError(alice.client.reactions.update('no-such-reaction', {}), 404, 16, 'DoesNotExistException');
    assert.deepEqual(((await t.client().reactions.get(r.id)) as Json).data, { text: 'mine' });
    // The server token may update anybody's reaction.
    const s = (await t.client().reactions.update(r.id, { text: 'moderated' })) as Json;
    assert.equal(s.user_id, bob.id);
    await bob.client.reactions.delete(r.id, true);
    await expectApiError(bob.client.reactions.update(r.id, { text: 'x' }), 404, 16);
    await bob.client.reactions.delete(r.id);
    await expectApiError(bob.client.reactions.update(r.id, { text: 'x' }), 404, 16);
    await expectApiError(alice.client.reactions.update(r.id, { text: 'x' }), 404, 16);
  });

  it('checks target feeds against the user policy before looking the reaction up', async () => {
    const [alice, bob] = await people(t, 'alice', 'bob');
    const act = await post(alice);
    const r = (await bob.client.reactions.add('comment', act.id, { text: 'a' })) as Json;
    await expectApiError(bob.client.reactions.update(r.id, { text: 'b' }, { targetFeeds: [`timeline:${alice.id}`] }), 403, 17);
    await expectApiError(bob.client.reactions.update('no-such-reaction', {}, { targetFeeds: [`timeline:${alice.id}`] }), 403, 17);
    await expectApiError(bob.client.reactions.update(r.id, {}, { targetFeeds: [`user:${alice.id}`] }), 403, 17);
    const got = (await t.client().reactions.get(r.id)) as Json;
    assert.deepEqual(got.data, { text: 'a' });
    assert.ok(!('target_feeds' in got));
    assert.deepEqual(await feedIds(t, 'timeline', alice.id), []);
  });
});

describe('delete, soft delete and restore', () => {
  it('delete answers exactly {duration}; the reaction, its children and counts go', async () => {
    const [alice, bob] = await people(t, 'alice', 'bob');
    const act = await post(alice);
    const comment = (await bob.client.reactions.add('comment', act.id)) as Json;
    const like = (await bob.client.reactions.add('like', act.id)) as Json;
    const child = (await alice.client.reactions.addChild('like', comment)) as Json;
    const grand = (await bob.client.reactions.addChild('like', child)) as Json;
    assert.deepEqual(await countsOf(t, act.id), { comment: 1, like: 1 });

    await expectApiError(alice.client.reactions.delete(comment.id), 403, 17);
    const res = await bob.client.reactions.delete(comment.id);
    assert.deepEqual(sortedKeys(res), ['duration']);
    for (const id of [comment.id, child.id, grand.id]) await expectApiError(alice.client.reactions.get(id), 404, 16, 'DoesNotExistException');
    assert.deepEqual(await countsOf(t, act.id), { comment: 0, like: 1 });
    assert.deepEqual(await listIds(t, 'activity_id', act.id), [like.id]);
    assert.deepEqual(await listIds(t, 'reaction_id', comment.id), []);
    assert.deepEqual(await listIds(t, 'user_id', alice.id), []);
    assert.deepEqual(await listIds(t, 'user_id', bob.id), [like.id]);
    // Gone means gone: again 404, for the owner and others.
    await expectApiError(bob.client.reactions.delete(comment.id), 404, 16);
    await expectApiError(alice.client.reactions.delete(comment.id), 404, 16);
    await expectApiError(bob.client.reactions.delete('never-existed'), 404, 16);
  });

  it('deleting a child decrements only its parent', async () => {
    const [alice] = await people(t, 'alice');
    const act = await post(alice);
    const comment = (await alice.client.reactions.add('comment', act.id)) as Json;
    const a = (await alice.client.reactions.addChild('like', comment)) as Json;
    await alice.client.reactions.addChild('like', comment);
    await alice.client.reactions.delete(a.id);
    const got = (await alice.client.reactions.get(comment.id)) as Json;
    assert.deepEqual(got.children_counts, { like: 1 });
    assert.equal(got.latest_children.like.length, 1);
    assert.deepEqual(await countsOf(t, act.id), { comment: 1 });
  });

  it('soft delete hides the reaction from listings and counts; GET shows deleted_at; restore brings it back', async () => {
    const [alice, bob] = await people(t, 'alice', 'bob');
    const act = await post(alice);
    const like = (await bob.client.reactions.add('like', act.id)) as Json;
    const comment = (await bob.client.reactions.add('comment', act.id)) as Json;
    const child = (await alice.client.reactions.addChild('like', comment)) as Json;

    await expectApiError(alice.client.reactions.delete(like.id, true), 403, 17);
    const res = await bob.client.reactions.delete(like.id, true);
    assert.deepEqual(sortedKeys(res), ['duration']);
    const soft = (await alice.client.reactions.get(like.id)) as Json;
    assertReactionKeys(soft, ['deleted_at', 'duration']);
    assert.match(soft.deleted_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    assert.deepEqual(await countsOf(t, act.id), { comment: 1, like: 0 });
    assert.deepEqual(await listIds(t, 'activity_id', act.id), [comment.id]);
    assert.deepEqual(await listIds(t, 'user_id', bob.id), [comment.id]);
    const enriched = await bob.client.getActivities({ ids: [act.id], withRecentReactions: true, withOwnReactions: true, withReactionCounts: true } as any);
    const a = enriched.results[0] as Json;
    assert.deepEqual(Object.keys(a.latest_reactions), ['comment']);
    assert.deepEqual(Object.keys(a.own_reactions), ['comment']);
    assert.deepEqual(a.reaction_counts, { comment: 1, like: 0 });

    // A soft-deleted child leaves its parent's counts and latest_children.
    await alice.client.reactions.delete(child.id, true);
    const parent = (await alice.client.reactions.get(comment.id)) as Json;
    assert.deepEqual(parent.children_counts, { like: 0 });
    assert.deepEqual(parent.latest_children, {});
    assert.deepEqual(await listIds(t, 'reaction_id', comment.id), []);

    // Restore: by the owner only; back in listings and counts, without deleted_at.
    await expectApiError(alice.client.reactions.restore(like.id), 403, 17);
    const restored = (await bob.client.reactions.restore(like.id)) as Json;
    assert.ok(!('deleted_at' in restored));
    const again = (await alice.client.reactions.get(like.id)) as Json;
    assertReactionKeys(again, ['duration']);
    assert.deepEqual(strip(again), asRead(like));
    assert.deepEqual(await countsOf(t, act.id), { comment: 1, like: 1 });
    assert.deepEqual(await listIds(t, 'activity_id', act.id), [comment.id, like.id]);
    await alice.client.reactions.restore(child.id);
    assert.deepEqual(((await alice.client.reactions.get(comment.id)) as Json).children_counts, { like: 1 });

    // Restoring what is not soft-deleted, or does not exist, is 404.
    await expectApiError(bob.client.reactions.restore(like.id), 404, 16, 'DoesNotExistException');
    await expectApiError(bob.client.reactions.restore('no-such-reaction'), 404, 16);
  });

  it('soft-deleting twice changes the counts once; a hard delete after a soft one keeps them right', async () => {
    const [alice] = await people(t, 'alice');
    const act = await post(alice);
    const a = (await alice.client.reactions.add('like', act.id)) as Json;
    await alice.client.reactions.add('like', act.id);
    await alice.client.reactions.delete(a.id, true);
    await alice.client.reactions.delete(a.id, true);
    assert.deepEqual(await countsOf(t, act.id), { like: 1 });
    await alice.client.reactions.delete(a.id);
    assert.deepEqual(await countsOf(t, act.id), { like: 1 });
    await expectApiError(alice.client.reactions.get(a.id), 404, 16);
    await expectApiError(alice.client.reactions.restore(a.id), 404, 16);
  });
});

describe('target feeds', () => {
  /** The activity a reaction posts into a feed, read plain (§10.8). */
  function assertReactionActivity(a: Json, r: Json, extra: Json = {}): void {
    assert.deepEqual(sortedKeys(a), [...CORE_KEYS, 'reaction', ...Object.keys(extra)].sort());
    assert.deepEqual(a, {
      id: a.id,
      actor: `SU:${r.user_id}`,
      verb: r.kind,
      object: `SA:${r.activity_id}`,
      foreign_id: `reaction:${r.id}`,
      time: r.created_at.slice(0, -1),
      target: '',
      origin: null,
      reaction: `SR:${r.id}`,
      ...extra,
    });
    assertIdMatchesTime(a as { id: string; time: string });
  }

  it('posts one activity into every target feed, which enriched shows user, activity and reaction', async () => {
    const [alice, bob, carl, dave] = await people(t, 'alice', 'bob', 'carl', 'dave');
    const eat = { ...(await post(alice)), actor: alice.full };
    const targets = [`user:${bob.id}`, `notification:${alice.id}`, `notification:${carl.id}`];
    const added = (await bob.client.reactions.add('comment', eat.id, { text: 'yummy' }, {
      targetFeeds: [bob.client.feed('user', bob.id), targets[1], targets[2]],
      targetFeedsExtraData: { custom: 'yay' },
    })) as Json;
    assertReactionKeys(added, ['duration', 'target_feeds', 'target_feeds_extra_data']);
    assert.deepEqual(added.target_feeds, targets);
    assert.deepEqual(added.target_feeds_extra_data, { custom: 'yay' });
    const comment = asRead(added);
    const got = (await alice.client.reactions.get(added.id)) as Json;
    assertReactionKeys(got, ['duration', 'target_feeds']);
    assert.deepEqual(strip(got), comment);

    // Plain reads: the stored activity, identical (same id) in every target feed.
    const [inBob] = await readAll(t, 'user', bob.id);
    assertReactionActivity(inBob, comment, { custom: 'yay' });
    for (const uidOf of [alice.id, carl.id]) {
      const res = await rawRequest(t, 'GET', `feed/notification/${uidOf}/`);
      assert.equal(res.body.results.length, 1);
      assert.deepEqual(res.body.results[0].activities, [inBob]);
    }
    assert.equal((await rawRequest(t, 'GET', `feed/notification/${dave.id}/`)).body.results.length, 0);

    // Enriched by alice (user token → enrich/): actor, object and reaction are objects.
    const read = await alice.client.feed('user', bob.id).get();
    assert.deepEqual(sortedKeys(read), ['duration', 'next', 'results']);
    const enriched = read.results[0] as Json;
    assert.deepEqual(sortedKeys(enriched), [...CORE_KEYS, 'custom', 'reaction'].sort());
    assert.deepEqual(enriched.actor, bob.full);
    assert.deepEqual(enriched.object, eat);
    assert.deepEqual(enriched.reaction, comment);
    assert.equal(enriched.custom, 'yay');
    assert.equal(enriched.time, comment.created_at.slice(0, -1));
    const notif = await alice.client.feed('notification', alice.id).get();
    assert.deepEqual((notif.results[0] as Json).activities, [enriched]);
    const carlNotif = await carl.client.feed('notification', carl.id).get();
    assert.deepEqual((carlNotif.results[0] as Json).activities, [enriched]);

    // Update: carl's copy goes, dave's comes, bob's stays (same id and time); the reaction shows the new data.
    await expectApiError(alice.client.reactions.update(added.id, { text: 'alice wins' }), 403, 17);
    const updated = (await bob.client.reactions.update(added.id, { text: 'tagging dave' }, {
      targetFeeds: [targets[0], targets[1], `notification:${dave.id}`],
      targetFeedsExtraData: { custom: 'yay' },
    })) as Json;
    assert.deepEqual(updated.target_feeds, [targets[0], targets[1], `notification:${dave.id}`]);
    assert.equal((await rawRequest(t, 'GET', `feed/notification/${carl.id}/`)).body.results.length, 0);
    const daveRead = await dave.client.feed('notification', dave.id).get();
    const [inBobAfter] = await readAll(t, 'user', bob.id);
    assert.equal(inBobAfter.id, inBob.id);
    assertReactionActivity(inBobAfter, asRead(updated), { custom: 'yay' });
    const daveAct = (daveRead.results[0] as Json).activities[0];
    assert.equal(daveAct.id, inBob.id);
    assert.deepEqual(daveAct.reaction, asRead(updated));
    assert.deepEqual(daveAct.reaction.data, { text: 'tagging dave' });

    // Delete: gone from every feed.
    await expectApiError(alice.client.reactions.delete(added.id), 403, 17);
    await bob.client.reactions.delete(added.id);
    assert.deepEqual(await feedIds(t, 'user', bob.id), []);
    for (const who of [alice.id, carl.id, dave.id]) {
      assert.deepEqual((await rawRequest(t, 'GET', `feed/notification/${who}/`)).body.results, []);
    }
  });

  it('server side: an enriched read shows the reaction activity the same way', async () => {
    const [alice, bob] = await people(t, 'alice', 'bob');
    const eat = { ...(await post(alice)), actor: alice.full };
    const c = t.client();
    const added = (await c.reactions.add('comment', eat.id, { text: 'hi' }, {
      targetFeeds: [c.feed('user', bob.id), `notification:${alice.id}`],
      userId: bob.id,
    })) as Json;
    assertReactionKeys(added, ['duration', 'target_feeds']);
    const res = await c.feed('user', bob.id).get({ enrich: true });
    const a = res.results[0] as Json;
    assert.deepEqual(sortedKeys(a), [...CORE_KEYS, 'reaction'].sort());
    assert.equal(a.verb, 'comment');
    assert.equal(a.foreign_id, `reaction:${added.id}`);
    assert.equal(a.time, added.created_at.slice(0, -1));
    assert.deepEqual(a.actor, bob.full);
    assert.deepEqual(a.object, eat);
    assert.deepEqual(a.reaction, asRead(added));
  });

  it('with reaction flags, the reaction activity has empty reaction data and its object the reader’s view', async () => {
    const [alice, bob] = await people(t, 'alice', 'bob');
    const eat = await post(alice);
    const mine = (await alice.client.reactions.add('like', eat.id)) as Json;
    const added = (await bob.client.reactions.add('comment', eat.id, {}, { targetFeeds: [`user:${bob.id}`] })) as Json;
    const res = await alice.client.feed('user', bob.id).get({ withRecentReactions: true, withOwnReactions: true, withReactionCounts: true });
    const a = res.results[0] as Json;
    assert.deepEqual(a.latest_reactions, {});
    assert.deepEqual(a.latest_reactions_extra, {});
    assert.deepEqual(a.own_reactions, {});
    assert.deepEqual(a.reaction_counts, {});
    assert.deepEqual(a.object.reaction_counts, { like: 1, comment: 1 });
    assert.deepEqual(a.object.own_reactions, { like: [asRead(mine)] });
    assert.deepEqual(a.object.latest_reactions, { like: [asRead(mine)], comment: [asRead(added)] });
    assert.deepEqual(a.object.actor, alice.full);
    assert.deepEqual(a.reaction, asRead(added));
  });

  it('a child with target feeds posts an activity whose object is the activity and reaction the child', async () => {
    const [alice, bob] = await people(t, 'alice', 'bob');
    const eat = await post(alice);
    const comment = (await bob.client.reactions.add('comment', eat.id)) as Json;
    const reply = (await alice.client.reactions.addChild('reply', comment, { text: 'thx' }, { targetFeeds: [`notification:${bob.id}`] })) as Json;
    assert.deepEqual(reply.target_feeds, [`notification:${bob.id}`]);
    const groups = (await rawRequest(t, 'GET', `feed/notification/${bob.id}/`)).body.results;
    assert.equal(groups.length, 1);
    assertReactionActivity(groups[0].activities[0], asRead(reply));
    // Deleting the parent takes the child's activity too.
    await bob.client.reactions.delete(comment.id);
    assert.deepEqual((await rawRequest(t, 'GET', `feed/notification/${bob.id}/`)).body.results, []);
  });

  it('fans out to followers of a target feed and takes the copies back on delete', async () => {
    const [alice, bob, carl] = await people(t, 'alice', 'bob', 'carl');
    await t.client().feed('timeline', carl.id).follow('user', bob.id);
    const eat = await post(alice);
    const r = (await bob.client.reactions.add('like', eat.id, {}, { targetFeeds: [`user:${bob.id}`] })) as Json;
    const timeline = await readAll(t, 'timeline', carl.id);
    assert.equal(timeline.length, 1);
    assert.equal(timeline[0].foreign_id, `reaction:${r.id}`);
    assert.equal(timeline[0].origin, `user:${bob.id}`);
    await bob.client.reactions.delete(r.id);
    assert.deepEqual(await feedIds(t, 'timeline', carl.id), []);
  });

  it('user tokens may target own feeds and anybody’s notification feed only; refusals change nothing', async () => {
    const [alice, bob] = await people(t, 'alice', 'bob');
    const eat = await post(alice);
    for (const feed of [`timeline:${alice.id}`, `user:${alice.id}`, 'timeline:123']) {
      await expectApiError(bob.client.reactions.add('like', eat.id, {}, { targetFeeds: [feed] }), 403, 17, 'NotAllowedException');
    }
    // Checked before anything is looked up: a missing activity or parent still gives 403.
    await expectApiError(bob.client.reactions.add('like', 'no-such-activity', {}, { targetFeeds: [`timeline:${alice.id}`] }), 403, 17);
    await expectApiError(bob.client.reactions.addChild('like', 'no-such-parent', {}, { targetFeeds: [`timeline:${alice.id}`] }), 403, 17);
    assert.deepEqual(await countsOf(t, eat.id), {});
    assert.deepEqual(await listIds(t, 'user_id', bob.id), []);
    assert.deepEqual(await feedIds(t, 'timeline', alice.id), []);
    assert.deepEqual(await feedIds(t, 'user', alice.id), [eat.id]);

    const ok = (await bob.client.reactions.add('like', eat.id, {}, { targetFeeds: [`user:${bob.id}`, `timeline:${bob.id}`, `notification:${alice.id}`] })) as Json;
    assert.equal(ok.target_feeds.length, 3);
    // A server token may target any feed.
    const server = (await t.client().reactions.add('like', eat.id, {}, { userId: bob.id, targetFeeds: [`timeline:${alice.id}`] })) as Json;
    const timeline = await readAll(t, 'timeline', alice.id);
    assert.deepEqual(timeline.map((a) => a.foreign_id), [`reaction:${server.id}`]);
  });
});

describe('concurrency', () => {
  it('keeps counts exact under parallel adds and deletes of children', async () => {
    const [alice, bob] = await people(t, 'alice', 'bob');
    const act = await post(alice);
    const comment = (await bob.client.reactions.add('comment', act.id)) as Json;
    const first = (await alice.client.reactions.addChild('like', comment)) as Json;
    const children = (await Promise.all(Array.from({ length: 40 }, () => alice.client.reactions.addChild('like', comment)))) as Json[];
    let got = (await alice.client.reactions.get(comment.id)) as Json;
    assert.equal(got.children_counts.like, 41);
    assert.equal(got.latest_children.like.length, 10);
    await Promise.all(children.map((c) => alice.client.reactions.delete(c.id)));
    got = (await alice.client.reactions.get(comment.id)) as Json;
    assert.deepEqual(got.children_counts, { like: 1 });
    assert.deepEqual(got.latest_children.like, [asRead(first)]);
    await Promise.all(Array.from({ length: 20 }, (_, i) => bob.client.reactions.add(i % 2 ? 'like' : 'clap', act.id)));
    assert.deepEqual(await countsOf(t, act.id), { comment: 1, like: 10, clap: 10 });
  });

  it('two parallel adds with the same id: one wins, the other is 409/22', async () => {
    const [alice] = await people(t, 'alice');
    const act = await post(alice);
    for (let round = 0; round < 5; round++) {
      const id = uid('race');
      const results = await Promise.allSettled([
        alice.client.reactions.add('like', act.id, {}, { id }),
        alice.client.reactions.add('like', act.id, {}, { id }),
        alice.client.reactions.add('clap', act.id, {}, { id }),
      ]);
      const ok = results.filter((r) => r.status === 'fulfilled');
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.equal(ok.length, 1, JSON.stringify(failed.map((f) => f.reason?.error)));
      for (const f of failed) {
        assert.equal(f.reason?.response?.status, 409, JSON.stringify(f.reason?.error));
        assert.equal(f.reason.error.code, 22);
      }
    }
    const counts = await countsOf(t, act.id);
    assert.equal((counts.like ?? 0) + (counts.clap ?? 0), 5);
  });

  it('the store itself refuses a reaction id that exists, writing nothing of that step', async () => {
    // What a concurrent add that passed the existence check would commit.
    const [alice] = await people(t, 'alice');
    const act = await post(alice);
    const r = (await alice.client.reactions.add('like', act.id, {}, { targetFeeds: [`user:${alice.id}`] })) as Json;
    const ports = t.rivulet.store.ports;
    const record = (await ports.reactions.getReactions(t.appId, [r.id])).get(r.id)!;
    const pendingBefore = await ports.intents.pendingCount();
    await assert.rejects(
      ports.intents.commit(t.appId, [
        {
          reactions: { add: [{ ...record, kind: 'clap', createdUs: record.createdUs + 1 }] },
          intents: [{ kind: 'fanout.add', source: `flat:${alice.id}`, ids: [act.id], mode: 'queued' }],
        },
      ]),
      (err: Error) => err.name === 'ConflictError',
    );
    assert.deepEqual(await countsOf(t, act.id), { like: 1 });
    assert.equal(await ports.intents.pendingCount(), pendingBefore, 'its intent was not written');
    assert.equal(((await alice.client.reactions.get(r.id)) as Json).kind, 'like');
  });
});

describe('other SDKs’ spellings', () => {
  it('routes reaction paths without the trailing slash and parses Python booleans', async () => {
    const [alice] = await people(t, 'alice');
    const act = await post(alice);
    const r = (await alice.client.reactions.add('like', act.id)) as Json;
    const got = await rawRequest(t, 'GET', `reaction/${r.id}`);
    assert.equal(got.status, 200, got.text);
    assert.deepEqual(strip(got.body), asRead(r));
    const soft = await rawRequest(t, 'DELETE', `reaction/${r.id}`, { query: { soft: 'True' } });
    assert.equal(soft.status, 200, soft.text);
    assert.ok('deleted_at' in ((await alice.client.reactions.get(r.id)) as Json));
    const restored = await rawRequest(t, 'PUT', `reaction/${r.id}/restore`);
    assert.ok(restored.status >= 200 && restored.status < 300, restored.text);
    assert.ok(!('deleted_at' in ((await alice.client.reactions.get(r.id)) as Json)));
    const hard = await rawRequest(t, 'DELETE', `reaction/${r.id}/`, { query: { soft: 'False' } });
    assert.deepEqual(sortedKeys(hard.body), ['duration']);
    await expectApiError(alice.client.reactions.get(r.id), 404, 16);
    const list = await rawRequest(t, 'GET', `reaction/activity_id/${act.id}`);
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(list.body.results, []);
  });
});

describe('bad input: Stream error bodies and nothing changed', () => {
  let alice: Person;
  let eat: Json;
  let existing: Json;
  let snapshot: () => Promise<unknown>;

  before(async () => {
    [alice] = await people(t, 'alice');
    eat = await post(alice);
    existing = (await alice.client.reactions.add('comment', eat.id, { text: 'first' }, { targetFeeds: [`user:${alice.id}`] })) as Json;
    snapshot = async () => ({
      counts: await countsOf(t, eat.id),
      byActivity: await listIds(t, 'activity_id', eat.id),
      byUser: await listIds(t, 'user_id', alice.id),
      children: await listIds(t, 'reaction_id', existing.id),
      feed: await feedIds(t, 'user', alice.id),
      reaction: strip((await t.client().reactions.get(existing.id)) as Json),
    });
  });

  async function refused(body: unknown, status = 400, code = 4, method = 'POST', path = 'reaction/'): Promise<void> {
    const before = await snapshot();
    const res = await rawRequest(t, method, path, { body: body as object, token: t.userClient(alice.id).getOrCreateToken() });
    assertRawError(res, status, code);
    assert.deepEqual(await snapshot(), before, `state changed after ${JSON.stringify(body).slice(0, 200)}`);
  }

  it('missing activity_id (and no parent)', async () => {
    await refused({ kind: 'like', data: {} });
    await refused({ kind: 'like', activity_id: '', data: {} });
    await refused({ kind: 'like', activity_id: 42, data: {} });
    await expectApiError(alice.client.reactions.add('like', undefined as unknown as string), 400, 4, 'InputException');
  });

  it('bad kinds', async () => {
    await refused({ activity_id: eat.id, data: {} });
    await refused({ kind: '', activity_id: eat.id });
    await refused({ kind: 'two words', activity_id: eat.id });
    await refused({ kind: 7, activity_id: eat.id });
    await refused({ kind: 'x'.repeat(300), activity_id: eat.id });
    await refused({ kind: '', parent: existing.id });
  });

  it('data that is not an object, or larger than 10KB', async () => {
    await expectApiError(alice.client.reactions.add('comment', eat.id, 'some string' as any), 400, 4, 'InputException');
    await refused({ kind: 'comment', activity_id: eat.id, data: 'some string' });
    await refused({ kind: 'comment', activity_id: eat.id, data: [1, 2] });
    await refused({ kind: 'comment', activity_id: eat.id, data: 3 });
    await refused({ kind: 'comment', activity_id: eat.id, data: { text: 'x'.repeat(10_300) } });
    await refused({ kind: 'comment', parent: existing.id, data: { text: 'x'.repeat(10_300) } });
    await refused({ data: 'some string', target_feeds: [] }, 400, 4, 'PUT', `reaction/${existing.id}/`);
    await refused({ data: { text: 'x'.repeat(10_300) }, target_feeds: [] }, 400, 4, 'PUT', `reaction/${existing.id}/`);
  });

  it('target_feeds not an array, more than 20, or of an unknown group; bad extra data', async () => {
    const own = (n: number) => Array.from({ length: n }, (_, i) => `notification:${alice.id}-${i}`);
    await refused({ kind: 'like', activity_id: eat.id, target_feeds: `user:${alice.id}` });
    await refused({ kind: 'like', activity_id: eat.id, target_feeds: own(21) });
    await refused({ kind: 'like', activity_id: eat.id, target_feeds: [`nosuchgroup:${alice.id}`] });
    await refused({ kind: 'like', activity_id: eat.id, target_feeds: ['not a feed'] });
    await refused({ kind: 'like', activity_id: eat.id, target_feeds: [42] });
    await refused({ kind: 'like', activity_id: eat.id, target_feeds: [`user:${alice.id}`], target_feeds_extra_data: 'x' });
    await refused({ data: {}, target_feeds: `user:${alice.id}` }, 400, 4, 'PUT', `reaction/${existing.id}/`);
    await refused({ data: {}, target_feeds: own(21) }, 400, 4, 'PUT', `reaction/${existing.id}/`);
    await refused({ data: {}, target_feeds: [`nosuchgroup:${alice.id}`] }, 400, 4, 'PUT', `reaction/${existing.id}/`);
    // Twenty is fine.
    const twenty = (await alice.client.reactions.add('like', eat.id, {}, { targetFeeds: own(20) })) as Json;
    assert.equal(twenty.target_feeds.length, 20);
    await alice.client.reactions.delete(twenty.id);
  });

  it('bad ids and bodies', async () => {
    await refused({ kind: 'like', activity_id: eat.id, id: 'has spaces' });
    await refused({ kind: 'like', activity_id: eat.id, id: 12 });
    await refused({ kind: 'like', parent: 12 });
    await refused([{ kind: 'like', activity_id: eat.id }]);
    await refused('{"kind": "like", "activity_id":', 400, 4);
  });

  it('unknown filter lookups and bad kinds in paths', async () => {
    assertRawError(await rawRequest(t, 'GET', `reaction/actor_id/${alice.id}/`), 400, 4);
    assertRawError(await rawRequest(t, 'GET', `reaction/activity_id/${eat.id}/two%20words/`), 400, 4);
    assertRawError(await rawRequest(t, 'GET', `reaction/activity_id/${eat.id}/`, { query: { with_activity_data: 'maybe' } }), 400, 4);
  });

  it('a missing reaction is 404/16 on get', async () => {
    await expectApiError(alice.client.reactions.get('no-such-reaction'), 404, 16, 'DoesNotExistException');
  });
});
