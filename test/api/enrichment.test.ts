// Black-box tests of enrichment (stream-v2-api.md §9, §6.3, §6.7, §23.3, §20.3) through the
// official getstream client; raw HTTP for the query forms the client does not produce and for the
// links the server hands out. Ends with the store-call count of an enriched page (issue 4).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Store } from '../../src/ports/store.js';
import { rawRequest, startServer, uid, type TestServer } from '../support/server.js';
import { assertRawError, CORE_KEYS, sortedKeys } from './activity-helpers.js';
import { asRead, assertReactionKeys, ENTRY_KEYS, follow, people, strip, USER_KEYS, type Json, type Person } from './reaction-helpers.js';

let t: TestServer;

before(async () => {
  t = await startServer();
});
after(async () => t.close());

const ZERO = '00000000-0000-0000-0000-000000000000';

/** Activity keys: the core ones, custom keys and the enrichment keys asked for (§20.3 #1). */
function assertKeys(a: Json, ...extra: string[]): void {
  assert.deepEqual(sortedKeys(a), [...CORE_KEYS, ...extra].sort(), `activity keys of ${JSON.stringify(a).slice(0, 400)}`);
}

/** Adds an activity to `p`'s user feed through its user client; returns it without duration. */
async function post(p: Person, body: Json = {}): Promise<Json> {
  return strip(await p.client.feed('user', p.id).addActivity({ verb: 'eat', object: 'cheeseburger', ...body } as any));
}

/** A collection entry created server side, in its read form (§5.4). */
async function entry(collection: string, data: Json): Promise<Json> {
  const e = await t.client().collections.add(collection, uid('item'), data);
  return strip({ ...(e.full as Json) });
}

describe('references', () => {
  it('resolves SU: and SO: in every top-level string field; nested values stay as they are', async () => {
    const [alice, bob] = await people(t, 'alice', 'bob');
    const burger = await entry('food', { name: 'cheese burger', toppings: ['cheese'] });
    assert.deepEqual(sortedKeys(burger), ENTRY_KEYS);
    const act = await post(alice, {
      object: `SO:food:${burger.id}`,
      target: `SU:${bob.id}`,
      chef: `SU:${bob.id}`,
      side: `SO:food:${burger.id}`,
      nested: { who: `SU:${alice.id}` },
      list: [`SU:${alice.id}`],
      notRefs: ['SU:', 'SO:food', 'SO:food:', 'SX:1', 'su:alice'],
      almost: 'SO:food',
      lower: `su:${alice.id}`,
      empty: 'SU:',
      count: 3,
    });
    const custom = ['almost', 'chef', 'count', 'empty', 'list', 'lower', 'nested', 'notRefs', 'side'];
    for (const read of [
      (await alice.client.feed('user', alice.id).get()).results[0] as Json,
      (await t.client().feed('user', alice.id).get({ enrich: true })).results[0] as Json,
      (await rawRequest(t, 'GET', `enrich/feed/user/${alice.id}/`)).body.results[0],
    ]) {
      assertKeys(read, ...custom);
      assert.deepEqual(read, {
        ...act,
        actor: alice.full,
        object: burger,
        target: bob.full,
        chef: bob.full,
        side: burger,
      });
      assert.deepEqual(sortedKeys(read.actor), USER_KEYS);
    }
    // Plain reads never touch references.
    const plain = (await t.client().feed('user', alice.id).get()).results[0] as Json;
    assert.deepEqual(plain, act);
    assert.equal(plain.actor, `SU:${alice.id}`);
  });

  it('the client turns user and collection objects into references, which read back enriched', async () => {
    const [alice] = await people(t, 'alice');
    const c = t.client();
    const burger = await c.collections.add('food', uid('burger'), { name: 'Burger' });
    const added = await alice.client.feed('user', alice.id).addActivity({ actor: alice.client.currentUser!, verb: 'eat', object: burger } as any);
    assert.equal(added.actor, `SU:${alice.id}`);
    assert.equal(added.object, `SO:food:${burger.id}`);
    const read = (await alice.client.feed('user', alice.id).get()).results[0] as Json;
    assert.deepEqual(read.actor, alice.full);
    assert.deepEqual(read.object, strip({ ...(burger.full as Json) }));
  });

  it('missing references become the exact not-found objects, never errors', async () => {
    const ghost = uid('ghost');
    const [alice] = await people(t, 'alice');
    const dish = uid('cheeseburger');
    await post(alice, {
      actor: `SU:${alice.id}`,
      object: `SO:food:${dish}`,
      target: `SU:${ghost}`,
      notExistingActivity: `SA:${ZERO}`,
      notExistingReaction: `SR:${ZERO}`,
      badActivityId: 'SA:not-a-uuid',
    });
    const res = await alice.client.feed('user', alice.id).get();
    const a = res.results[0] as Json;
    assertKeys(a, 'notExistingActivity', 'notExistingReaction', 'badActivityId');
    assert.deepEqual(a.actor, alice.full);
    assert.deepEqual(a.object, { collection: 'food', id: dish, error: 'ReferenceNotFound', reference: `SO:food:${dish}`, reference_type: 'object' });
    assert.deepEqual(a.target, { error: 'ReferenceNotFound', reference: `SU:${ghost}`, reference_type: 'user', id: ghost });
    assert.deepEqual(a.notExistingActivity, { id: ZERO, error: 'ReferenceNotFound', reference: `SA:${ZERO}`, reference_type: 'activity' });
    assert.deepEqual(a.notExistingReaction, { id: ZERO, error: 'ReferenceNotFound', reference: `SR:${ZERO}`, reference_type: 'reaction' });
    assert.deepEqual(a.badActivityId, { id: 'not-a-uuid', error: 'ReferenceNotFound', reference: 'SA:not-a-uuid', reference_type: 'activity' });
    // An actor without a user object reads as the not-found user.
    const lonely = uid('lonely');
    await t.client().feed('user', lonely).addActivity({ actor: `SU:${lonely}`, verb: 'post', object: 'x' });
    const b = (await t.client().feed('user', lonely).get({ enrich: true })).results[0] as Json;
    assert.deepEqual(b.actor, { error: 'ReferenceNotFound', reference: `SU:${lonely}`, reference_type: 'user', id: lonely });
  });

  it('SA: and SR: references show the activity (enriched for the reader) and the reaction', async () => {
    const [alice, bob] = await people(t, 'alice', 'bob');
    const burger = await entry('food', { name: 'Burger' });
    const original = await post(alice, { object: `SO:food:${burger.id}` });
    const like = strip(await bob.client.reactions.add('like', original.id, {}, { targetFeeds: [`user:${bob.id}`] }));
    const mine = strip(await alice.client.reactions.add('comment', original.id, { text: 'mine' }));
    await post(alice, { verb: 'share', object: `SA:${original.id}`, liked: `SR:${like.id}` });

    const plainFlags = await alice.client.feed('user', alice.id).get({ limit: 1 });
    const quote = plainFlags.results[0] as Json;
    assertKeys(quote, 'liked');
    assert.deepEqual(quote.object, { ...original, actor: alice.full, object: burger });
    assert.deepEqual(quote.liked, asRead(like));
    assertReactionKeys(quote.liked, ['target_feeds']);

    // With flags, the referenced activity carries reaction data from the reader's point of view.
    const asBob = (await bob.client.feed('user', alice.id).get({ limit: 1, withOwnReactions: true, withRecentReactions: true, withReactionCounts: true })).results[0] as Json;
    assertKeys(asBob, 'liked', 'own_reactions', 'latest_reactions', 'latest_reactions_extra', 'reaction_counts');
    assert.deepEqual(asBob.own_reactions, {});
    assert.deepEqual(asBob.reaction_counts, {});
    assertKeys(asBob.object, 'own_reactions', 'latest_reactions', 'latest_reactions_extra', 'reaction_counts');
    assert.deepEqual(asBob.object.own_reactions, { like: [asRead(like)] });
    assert.deepEqual(asBob.object.latest_reactions, { like: [asRead(like)], comment: [mine] });
    assert.deepEqual(asBob.object.latest_reactions_extra, { like: { next: '' }, comment: { next: '' } });
    assert.deepEqual(asBob.object.reaction_counts, { like: 1, comment: 1 });

    // One level deep: a referenced activity's own SA:/SR: references stay strings.
    const [reactionActivity] = (await rawRequest(t, 'GET', `feed/user/${bob.id}/`)).body.results;
    await post(alice, { verb: 'share', object: `SA:${reactionActivity.id}` });
    const outer = (await alice.client.feed('user', alice.id).get({ limit: 1 })).results[0] as Json;
    assert.deepEqual(outer.object, { ...reactionActivity, actor: bob.full });
    assert.equal(outer.object.object, `SA:${original.id}`);
    assert.equal(outer.object.reaction, `SR:${like.id}`);
  });

  it('is read-time: updating a user or an entry changes every activity referring to it', async () => {
    const [alice, bob, carl] = await people(t, 'alice', 'bob', 'carl');
    const burger = await entry('food', { name: 'Burger' });
    await t.client().feed('timeline', carl.id).follow('user', alice.id);
    await post(alice, { object: `SO:food:${burger.id}` });
    await post(alice, { verb: 'cook', object: `SO:food:${burger.id}` });
    await post(bob, { verb: 'meet', object: `SU:${alice.id}` });

    const renamed = (await t.client().user(alice.id).update({ name: 'Alicia' })).full as Json;
    const updated = strip({ ...((await t.client().collections.update('food', burger.id, { name: 'Veggie burger' })).full as Json) });
    assert.notEqual(renamed.updated_at, alice.full.updated_at);
    const reads = [
      ...(await alice.client.feed('user', alice.id).get()).results,
      ...(await carl.client.feed('timeline', carl.id).get()).results,
    ] as Json[];
    assert.equal(reads.length, 4);
    for (const a of reads) {
      assert.deepEqual(a.actor, renamed);
      assert.deepEqual(a.object, updated);
    }
    const meet = (await bob.client.feed('user', bob.id).get()).results[0] as Json;
    assert.deepEqual(meet.object, renamed);

    // Deleted targets turn into not-found objects.
    await t.client().collections.delete('food', burger.id);
    await t.client().user(alice.id).delete();
    for (const a of (await carl.client.feed('timeline', carl.id).get()).results as Json[]) {
      assert.deepEqual(a.actor, { error: 'ReferenceNotFound', reference: `SU:${alice.id}`, reference_type: 'user', id: alice.id });
      assert.deepEqual(a.object, { collection: 'food', id: burger.id, error: 'ReferenceNotFound', reference: `SO:food:${burger.id}`, reference_type: 'object' });
    }
  });
});

describe('reaction data on activities', () => {
  let alice: Person;
  let bob: Person;
  let carl: Person;
  let act: Json;
  let empty: Json;
  const likes: Json[] = [];
  const comments: Json[] = [];
  let clap: Json;

  before(async () => {
    [alice, bob, carl] = await people(t, 'alice', 'bob', 'carl');
    empty = await post(alice, { verb: 'nap' });
    act = await post(alice, { foreign_id: uid('fid') });
    for (let i = 0; i < 7; i++) likes.unshift(strip(await (i % 2 ? carl : bob).client.reactions.add('like', act.id, { i })));
    for (let i = 0; i < 2; i++) comments.unshift(strip(await bob.client.reactions.add('comment', act.id, { text: `c${i}` })));
    clap = strip(await carl.client.reactions.add('clap', act.id));
  });

  /** The two activities of alice's feed as `reader` sees them with `opts`: [act, empty]. */
  async function read(reader: Person | null, opts: Json): Promise<Json[]> {
    const client = reader ? reader.client : t.client();
    const res = await client.feed('user', alice.id).get({ ...opts });
    assert.deepEqual(sortedKeys(res), ['duration', 'next', 'results']);
    assert.equal(res.results.length, 2);
    return res.results as Json[];
  }

  it('adds each key only when its flag is set, and then always (`{}` when empty)', async () => {
    const cases: [Json, string[]][] = [
      [{}, []],
      [{ withOwnReactions: true }, ['own_reactions']],
      [{ withRecentReactions: true }, ['latest_reactions', 'latest_reactions_extra']],
      [{ withReactionCounts: true }, ['reaction_counts']],
      [{ withOwnChildren: true }, []],
      [{ withOwnReactions: true, withRecentReactions: true, withReactionCounts: true, withOwnChildren: true }, ['latest_reactions', 'latest_reactions_extra', 'own_reactions', 'reaction_counts']],
      [{ reactions: { own: true, recent: true, counts: true } }, ['latest_reactions', 'latest_reactions_extra', 'own_reactions', 'reaction_counts']],
      [{ withOwnReactions: false, withRecentReactions: false }, []],
    ];
    for (const [opts, keys] of cases) {
      const [a, e] = await read(bob, opts);
      assertKeys(a, ...keys);
      assertKeys(e, ...keys);
      for (const k of keys) assert.deepEqual(e[k], {}, `${k} of an activity without reactions`);
    }
  });

  it('latest_reactions: per kind, newest first, 5 each; own_reactions: the reader’s only', async () => {
    const [a] = await read(bob, { withOwnReactions: true, withRecentReactions: true, withReactionCounts: true });
    assert.deepEqual(a.latest_reactions, { like: likes.slice(0, 5), comment: comments, clap: [clap] });
    assert.deepEqual(a.own_reactions, { like: likes.filter((r) => r.user_id === bob.id), comment: comments });
    assert.deepEqual(a.reaction_counts, { like: 7, comment: 2, clap: 1 });
    for (const list of Object.values(a.latest_reactions) as Json[][]) for (const r of list) assertReactionKeys(r);
    const [asCarl] = await read(carl, { withOwnReactions: true });
    assert.deepEqual(asCarl.own_reactions, { like: likes.filter((r) => r.user_id === carl.id), clap: [clap] });
    const [asAlice] = await read(alice, { withOwnReactions: true });
    assert.deepEqual(asAlice.own_reactions, {});
  });

  it('server side: own_reactions is {} without a user, and follows user_id / withUserId', async () => {
    const [noUser] = await read(null, { enrich: true, withOwnReactions: true });
    assert.deepEqual(noUser.own_reactions, {});
    const [byParam] = await read(null, { enrich: true, withOwnReactions: true, user_id: carl.id });
    assert.deepEqual(byParam.own_reactions, { like: likes.filter((r) => r.user_id === carl.id), clap: [clap] });
    const [legacy] = await read(null, { reactions: { own: true, user_id: bob.id } });
    assert.deepEqual(legacy.own_reactions, { like: likes.filter((r) => r.user_id === bob.id), comment: comments });
    // A user token's own reactions are its own, whatever user_id says.
    const [asCarl] = await read(carl, { withOwnReactions: true, user_id: bob.id });
    assert.deepEqual(asCarl.own_reactions, byParam.own_reactions);
  });

  it('plain feed/ reads honour reaction flags without resolving references', async () => {
    // A server client with withOwnReactions alone stays on feed/ (§6.3).
    const [a] = await read(null, { withOwnReactions: true, user_id: bob.id });
    assert.equal(a.actor, `SU:${alice.id}`);
    assertKeys(a, 'own_reactions');
    assert.deepEqual(a.own_reactions.comment, comments);
    const raw = await rawRequest(t, 'GET', `feed/user/${alice.id}/`, { query: { withRecentReactions: 'true', withReactionCounts: 'true', limit: '1', id_lte: act.id } });
    const r = raw.body.results[0];
    assertKeys(r, 'latest_reactions', 'latest_reactions_extra', 'reaction_counts');
    assert.equal(r.actor, `SU:${alice.id}`);
    assert.deepEqual(r.reaction_counts, { like: 7, comment: 2, clap: 1 });
  });

  it('recentReactionsLimit sets the count per kind (default 5, at most 25)', async () => {
    const [two] = await read(bob, { withRecentReactions: true, recentReactionsLimit: 2 });
    assert.deepEqual(two.latest_reactions, { like: likes.slice(0, 2), comment: comments, clap: [clap] });
    assert.equal(new URL(two.latest_reactions_extra.like.next).searchParams.get('limit'), '2');
    assert.equal(new URL(two.latest_reactions_extra.like.next).searchParams.get('id_lt'), likes[1].id);
    assert.equal(two.latest_reactions_extra.comment.next, '', 'exactly as many as the limit: no next');
    const [zero] = await read(bob, { withRecentReactions: true, recentReactionsLimit: 0 });
    assert.equal(zero.latest_reactions.like.length, 5);
    const [many] = await read(bob, { withRecentReactions: true, recentReactionsLimit: 300 });
    assert.deepEqual(many.latest_reactions.like, likes);
    assert.deepEqual(many.latest_reactions_extra, { like: { next: '' }, comment: { next: '' }, clap: { next: '' } });
    assertRawError(await rawRequest(t, 'GET', `enrich/feed/user/${alice.id}/`, { query: { withRecentReactions: 'true', recentReactionsLimit: 'five' } }), 400, 4);
  });

  it('latest_reactions_extra: absolute next links with exactly id_lt, limit, withOwnChildren=false', async () => {
    const [a] = await read(bob, { withRecentReactions: true });
    assert.deepEqual(Object.keys(a.latest_reactions_extra).sort(), ['clap', 'comment', 'like']);
    assert.equal(a.latest_reactions_extra.comment.next, '');
    assert.equal(a.latest_reactions_extra.clap.next, '');
    const next = a.latest_reactions_extra.like.next as string;
    assert.match(next, /^https?:\/\//);
    const url = new URL(next);
    assert.ok(url.pathname.includes(`/reaction/activity_id/${act.id}/like/`), next);
    assert.ok(url.pathname.startsWith('/api/v1.0/'), next);
    assert.deepEqual(Object.fromEntries(url.searchParams), { id_lt: likes[4].id, limit: '5', withOwnChildren: 'false' });
    assert.equal(url.host, new URL(t.baseUrl).host);

    // Following it continues right after the last returned like, then pages on to the end.
    const page = await follow(t, next, bob.client.getOrCreateToken());
    assert.equal(page.status, 200, page.text);
    assert.deepEqual(page.body.results, likes.slice(5, 7));
    assert.equal(page.body.next, '');
    const [two] = await read(bob, { withRecentReactions: true, recentReactionsLimit: 2 });
    const seen = [...two.latest_reactions.like];
    let link = two.latest_reactions_extra.like.next as string;
    while (link !== '') {
      const p = await follow(t, link);
      assert.equal(p.status, 200, p.text);
      assert.ok(p.body.results.length > 0);
      seen.push(...p.body.results);
      link = p.body.next;
    }
    assert.deepEqual(seen, likes);
  });

  it('never emits own_reactions_extra and never a score on unranked reads', async () => {
    const [a, e] = await read(bob, { withOwnReactions: true, withRecentReactions: true, withReactionCounts: true, recentReactionsLimit: 1 });
    for (const x of [a, e]) {
      assert.ok(!('own_reactions_extra' in x));
      assert.ok(!('score' in x));
    }
  });

  it('reactionKindsFilter restricts all reaction data: repeated [] (client), comma and repeated forms', async () => {
    const viaClient = (await read(bob, { withOwnReactions: true, withRecentReactions: true, withReactionCounts: true, reactionKindsFilter: ['like', 'clap'] }))[0];
    assert.deepEqual(viaClient.latest_reactions, { like: likes.slice(0, 5), clap: [clap] });
    assert.deepEqual(Object.keys(viaClient.latest_reactions_extra).sort(), ['clap', 'like']);
    assert.deepEqual(viaClient.own_reactions, { like: likes.filter((r) => r.user_id === bob.id) });
    assert.deepEqual(viaClient.reaction_counts, { like: 7, clap: 1 });
    const token = bob.client.getOrCreateToken();
    const flags = 'withOwnReactions=true&withRecentReactions=true&withReactionCounts=true';
    for (const kinds of [
      'reactionKindsFilter=like,clap',
      'reactionKindsFilter=like%2Cclap',
      'reactionKindsFilter%5B%5D=like&reactionKindsFilter%5B%5D=clap',
      'reactionKindsFilter[]=like&reactionKindsFilter[]=clap',
      'reactionKindsFilter=like&reactionKindsFilter=clap',
      'reactionKindsFilter=like,,clap,',
    ]) {
      const res = await rawRequest(t, 'GET', `enrich/feed/user/${alice.id}/?${flags}&${kinds}`, { token });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.results[0], viaClient, kinds);
    }
    const onlyComments = await rawRequest(t, 'GET', `enrich/feed/user/${alice.id}/?${flags}&reactionKindsFilter=comment`, { token });
    assert.deepEqual(onlyComments.body.results[0].reaction_counts, { comment: 2 });
    assert.deepEqual(onlyComments.body.results[0].latest_reactions, { comment: comments });
    // Blank filters filter nothing.
    const blank = await rawRequest(t, 'GET', `enrich/feed/user/${alice.id}/?${flags}&reactionKindsFilter=`, { token });
    assert.deepEqual(blank.body.results[0].reaction_counts, { like: 7, comment: 2, clap: 1 });
  });

  it('getActivities and enrich/activities return what the feed read returns, key for key', async () => {
    const opts = { withOwnReactions: true, withRecentReactions: true, withReactionCounts: true };
    const [fromFeed, emptyFromFeed] = await read(bob, opts);
    const byIds = await bob.client.getActivities({ ids: [act.id, empty.id], ...opts });
    assert.deepEqual(sortedKeys(byIds), ['duration', 'results']);
    assert.deepEqual(byIds.results, [fromFeed, emptyFromFeed]);
    const byForeign = await rawRequest(t, 'GET', 'enrich/activities/', {
      token: bob.client.getOrCreateToken(),
      query: { foreign_ids: `${act.foreign_id}`, timestamps: act.time, ...Object.fromEntries(Object.keys(opts).map((k) => [k, 'true'])) },
    });
    assert.equal(byForeign.status, 200, byForeign.text);
    assert.deepEqual(byForeign.body.results, [fromFeed]);

    // Server side: enrich/ with user_id, and plain activities/ with flags (references untouched).
    const server = await t.client().getActivities({ ids: [act.id], enrich: true, ...opts, user_id: bob.id } as any);
    assert.deepEqual(server.results, [fromFeed]);
    const plain = await rawRequest(t, 'GET', 'activities/', { query: { ids: act.id, withReactionCounts: 'true', withOwnReactions: 'true', user_id: bob.id } });
    assertKeys(plain.body.results[0], 'reaction_counts', 'own_reactions');
    assert.equal(plain.body.results[0].actor, `SU:${alice.id}`);
    assert.deepEqual(plain.body.results[0].reaction_counts, { like: 7, comment: 2, clap: 1 });
    assert.deepEqual(plain.body.results[0].own_reactions, fromFeed.own_reactions);
    const enrichedOnly = await t.client().getActivities({ ids: [act.id], enrich: true } as any);
    assertKeys(enrichedOnly.results[0] as Json);
    assert.deepEqual((enrichedOnly.results[0] as Json).actor, alice.full);
  });

  it('reaction_counts keeps a kind at 0 after its last reaction goes; latest_reactions drops it', async () => {
    const [dave] = await people(t, 'dave');
    const a = await post(dave);
    const only = await dave.client.reactions.add('comment', a.id, { text: 'only' });
    await dave.client.reactions.delete(only.id);
    const res = await dave.client.feed('user', dave.id).get({ withOwnReactions: true, withRecentReactions: true, withReactionCounts: true });
    const x = res.results[0] as Json;
    assert.deepEqual(x.reaction_counts, { comment: 0 });
    assert.deepEqual(x.latest_reactions, {});
    assert.deepEqual(x.latest_reactions_extra, {});
    assert.deepEqual(x.own_reactions, {});
  });
});

describe('children on activities', () => {
  it('carries the whole trail, grandchildren included, and own_children only when asked', async () => {
    const [alice, bob] = await people(t, 'alice', 'bob');
    const act = await post(alice);
    const comment = strip(await bob.client.reactions.add('comment', act.id, { text: 'yummy' }));
    const like = strip(await alice.client.reactions.addChild('like', comment));
    const grand = strip(await alice.client.reactions.addChild('like', like));
    const feed = alice.client.feed('user', alice.id);

    const plain = (await feed.get({ limit: 1, reactions: { own: true, recent: true } } as any)).results[0] as Json;
    assertKeys(plain, 'own_reactions', 'latest_reactions', 'latest_reactions_extra');
    const c = plain.latest_reactions.comment[0];
    assertReactionKeys(c);
    assert.deepEqual(c.children_counts, { like: 1 });
    assert.deepEqual(c.latest_children.like.map((r: Json) => r.id), [like.id]);
    assert.equal(c.latest_children.like[0].parent, comment.id);
    assert.deepEqual(c.latest_children.like[0].children_counts, { like: 1 });
    assert.deepEqual(c.latest_children.like[0].latest_children.like, [grand]);
    assert.deepEqual(plain.own_reactions, {}, 'children are not own reactions of the activity');

    // 29 more children over 3 kinds by alice: 5 of each in own_children.
    for (let i = 0; i < 29; i++) await alice.client.reactions.addChild(['clap', 'unlike', 'like'][i % 3], comment);
    const full = (await feed.get({ limit: 1, reactions: { own: true, recent: true, counts: true, own_children: true } } as any)).results[0] as Json;
    assertKeys(full, 'own_reactions', 'latest_reactions', 'latest_reactions_extra', 'reaction_counts');
    assert.deepEqual(full.reaction_counts, { comment: 1 });
    const withOwn = full.latest_reactions.comment[0];
    assertReactionKeys(withOwn, ['own_children']);
    assert.deepEqual(Object.keys(withOwn.own_children).sort(), ['clap', 'like', 'unlike']);
    for (const kind of ['clap', 'like', 'unlike']) assert.equal(withOwn.own_children[kind].length, 5);
    assert.deepEqual(withOwn.children_counts, { clap: 10, like: 10, unlike: 10 });
    // Bob has no children: his view has own_children {}.
    const asBob = (await bob.client.feed('user', alice.id).get({ limit: 1, reactions: { recent: true, own_children: true } } as any)).results[0] as Json;
    assert.deepEqual(asBob.latest_reactions.comment[0].own_children, {});
  });
});

describe('aggregated and notification groups', () => {
  it('enriches every activity inside the groups', async () => {
    const [alice, bob] = await people(t, 'alice', 'bob');
    await t.client().feed('aggregated', bob.id).follow('user', alice.id);
    const burger = await entry('food', { name: 'Burger' });
    const first = await post(alice, { object: `SO:food:${burger.id}`, to: [`notification:${bob.id}`] });
    const second = await post(alice, { object: `SO:food:${burger.id}`, to: [`notification:${bob.id}`] });
    const like = strip(await bob.client.reactions.add('like', second.id));

    for (const slug of ['aggregated', 'notification']) {
      const res = await bob.client.feed(slug, bob.id).get({ withOwnReactions: true, withRecentReactions: true, withReactionCounts: true });
      assert.equal(res.results.length, 1, slug);
      const group = res.results[0] as Json;
      assert.equal(group.activity_count, 2);
      const [a2, a1] = group.activities as Json[];
      assert.equal(a2.id, second.id);
      assert.equal(a1.id, first.id);
      for (const a of [a1, a2]) {
        assertKeys(a, 'to', 'own_reactions', 'latest_reactions', 'latest_reactions_extra', 'reaction_counts');
        assert.deepEqual(a.actor, alice.full);
        assert.deepEqual(a.object, burger);
      }
      assert.deepEqual(a2.own_reactions, { like: [like] });
      assert.deepEqual(a2.latest_reactions, { like: [like] });
      assert.deepEqual(a2.reaction_counts, { like: 1 });
      assert.deepEqual(a1.latest_reactions, {});
      assert.deepEqual(a1.reaction_counts, {});
      // Plain server reads of groups stay untouched.
      const plain = await rawRequest(t, 'GET', `feed/${slug}/${bob.id}/`);
      assert.equal(plain.body.results[0].activities[0].actor, `SU:${alice.id}`);
    }
  });
});

describe('store calls of an enriched page', () => {
  let s: TestServer;
  const calls = new Map<string, number>();
  let counting = false;

  before(async () => {
    // A server whose store and storage ports count every call made while `counting` is on.
    // Calls the server makes on its own meanwhile (queue and readiness polls) are not the page's.
    const background = new Set(['close', 'changeMark', 'pendingCount', 'deadLetterCount', 'pending', 'migrations', 'ready']);
    const counted = <T extends object>(real: T, prefix: string): T =>
      new Proxy(real, {
        get(target, prop) {
          const value = Reflect.get(target, prop, target);
          if (typeof value !== 'function' || background.has(String(prop))) return value;
          return (...args: unknown[]) => {
            const name = prefix + String(prop);
            if (counting) calls.set(name, (calls.get(name) ?? 0) + 1);
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
    s = await startServer({ worker: 'manual', wrapStore: (real) => {
      const ports = Object.fromEntries(
        Object.entries(real.ports).map(([name, port]) => [name, counted(port as object, `${name}.`)]),
      ) as unknown as Store['ports'];
      const store = counted(real, '');
      return new Proxy(store, { get: (target, prop) => (prop === 'ports' ? ports : Reflect.get(target, prop, target)) });
    } });
  });
  after(async () => s.close());

  /**
   * Fills `feedUser`'s user feed with `n` activities of the same shape: an existing user as actor,
   * an existing collection object, a missing user as target, a referenced activity and reaction,
   * 10 reactions over 3 kinds (some by the reader) with a child and a grandchild.
   */
  async function seed(feedUser: string, n: number, reader: string): Promise<void> {
    const c = s.client();
    await c.user(feedUser).getOrCreate({ name: feedUser });
    await c.user(reader).getOrCreate({ name: 'reader' });
    for (let i = 0; i < n; i++) {
      const item = await c.collections.add('food', uid('item'), { name: `dish ${i}` });
      const base = await c.feed('user', `${feedUser}-base`).addActivity({ actor: `SU:${reader}`, verb: 'cook', object: `SO:food:${item.id}` });
      const baseReaction = await c.reactions.add('like', base.id, {}, { userId: feedUser });
      const a = await c.feed('user', feedUser).addActivity({
        actor: `SU:${feedUser}`,
        verb: 'eat',
        object: `SO:food:${item.id}`,
        target: `SU:${uid('missing')}`,
        quoted: `SA:${base.id}`,
        liked: `SR:${baseReaction.id}`,
        gone: `SO:food:${uid('gone')}`,
      });
      const users = [reader, feedUser, uid('stranger')];
      for (let k = 0; k < 10; k++) {
        const r = await c.reactions.add(['like', 'comment', 'clap'][k % 3], a.id, { k }, { userId: users[k % 3] });
        if (k === 1) {
          const child = await c.reactions.addChild('reply', r, {}, { userId: reader });
          await c.reactions.addChild('like', child, {}, { userId: feedUser });
        }
      }
    }
  }

  async function count(path: string, query: Record<string, string>): Promise<{ total: number; byMethod: Record<string, number>; body: any }> {
    calls.clear();
    counting = true;
    const res = await rawRequest(s, 'GET', path, { query });
    counting = false;
    assert.equal(res.status, 200, res.text);
    const byMethod = Object.fromEntries([...calls].sort(([a], [b]) => a.localeCompare(b)));
    return { total: [...calls.values()].reduce((x, y) => x + y, 0), byMethod, body: res.body };
  }

  it('is the same for a page of 1 and a page of 25 activities', async (ctx) => {
    const reader = uid('reader');
    const one = uid('one');
    const many = uid('many');
    await seed(one, 1, reader);
    await seed(many, 25, reader);
    const flags = {
      withOwnReactions: 'true',
      withRecentReactions: 'true',
      withReactionCounts: 'true',
      withOwnChildren: 'true',
      user_id: reader,
      limit: '25',
    };
    const small = await count(`enrich/feed/user/${one}/`, flags);
    const large = await count(`enrich/feed/user/${many}/`, flags);
    assert.equal(small.body.results.length, 1);
    assert.equal(large.body.results.length, 25);
    assert.equal(large.body.next, '');
    // The pages are really enriched: references, reaction data, children and own children.
    for (const a of [small.body.results[0], ...large.body.results]) {
      assert.equal(typeof a.actor.data.name, 'string');
      assert.equal(a.object.collection, 'food');
      assert.equal(a.target.error, 'ReferenceNotFound');
      assert.equal(a.gone.error, 'ReferenceNotFound');
      assert.equal(a.quoted.verb, 'cook');
      assert.equal(a.quoted.object.collection, 'food');
      assert.deepEqual(a.quoted.reaction_counts, { like: 1 });
      assert.equal(a.liked.kind, 'like');
      assert.deepEqual(a.reaction_counts, { like: 4, comment: 3, clap: 3 });
      assert.deepEqual(Object.keys(a.latest_reactions).sort(), ['clap', 'comment', 'like']);
      const withChild = a.latest_reactions.comment.find((r: Json) => r.children_counts.reply === 1);
      assert.ok(withChild, 'the comment with a reply');
      assert.equal(withChild.own_children.reply.length, 1);
      assert.deepEqual(withChild.latest_children.reply[0].children_counts, { like: 1 });
      assert.equal(withChild.latest_children.reply[0].latest_children.like.length, 1);
      assert.ok(a.own_reactions.like.length > 0);
    }
    assert.deepEqual(large.byMethod, small.byMethod);
    assert.equal(large.total, small.total);
    ctx.diagnostic(`store calls per enriched feed page (1 and 25 activities): ${large.total} ${JSON.stringify(large.byMethod)}`);

    // Get by ids costs the same for 1 and 25 ids too.
    const ids = large.body.results.map((a: Json) => a.id);
    const byOne = await count('enrich/activities/', { ...flags, ids: ids[0] });
    const byMany = await count('enrich/activities/', { ...flags, ids: ids.join(',') });
    assert.equal(byMany.body.results.length, 25);
    assert.deepEqual(byMany.byMethod, byOne.byMethod);
    ctx.diagnostic(`store calls per enrich/activities call (1 and 25 ids): ${byMany.total} ${JSON.stringify(byMany.byMethod)}`);
  });
});
