// Black-box tests of follows (stream-v2-api.md §8, §7.1, §20.3), driven by the official getstream
// client wherever it covers the call; raw HTTP only for what the client cannot send.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import type { StreamClient, StreamFeed } from 'getstream';
import { FanoutWorker } from '../../src/workers/fanout-worker.js';
import { rawRequest, startServer, uid, type TestServer } from '../support/server.js';
import { assertRawError as assertRaw, DURATION_RE, expectApiError as expectError } from './activity-helpers.js';

type Act = Record<string, unknown> & { id: string; origin: string | null };

/** The exception name of each error code these tests meet (§3.1). */
const EXCEPTIONS: Record<number, string> = { 4: 'InputException', 6: 'FeedConfigException', 17: 'NotAllowedException' };
/** Follow relation times: UTC RFC 3339 with `Z` and 6 fractional digits (§4.3). */
const FOLLOW_TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** Awaits a client call that must fail with a Stream API error of `status`/`code`; returns the body. */
async function expectApiError(p: Promise<unknown>, status: number, code: number, detail?: RegExp): Promise<any> {
  return (await expectError(p, status, code, EXCEPTIONS[code], detail)).body;
}

const assertRawError = (res: { status: number; body: any }, status: number, code: number) => assertRaw(res, status, code, EXCEPTIONS[code]);

/** Every activity of a flat feed, newest first (pages of 100 following `id_lt`). */
async function readAll(feed: StreamFeed): Promise<Act[]> {
  const out: Act[] = [];
  let idLt: string | undefined;
  for (;;) {
    const res = await feed.get({ limit: 100, ...(idLt ? { id_lt: idLt } : {}) });
    out.push(...(res.results as unknown as Act[]));
    if (res.results.length < 100 || res.next === '') return out;
    idLt = res.results[res.results.length - 1].id;
  }
}

/** Adds `n` activities to `feed` (batches of at most 100); returns their ids oldest first. */
async function post(feed: StreamFeed, n: number, tag = 'p'): Promise<string[]> {
  const ids: string[] = [];
  for (let done = 0; done < n; ) {
    const size = Math.min(100, n - done);
    const acts = Array.from({ length: size }, (_, i) => ({ actor: 'SU:poster', verb: 'post', object: `${tag}:${done + i}` }));
    const res = (await feed.addActivities(acts)) as unknown as { activities: Act[] };
    ids.push(...res.activities.map((a) => a.id));
    done += size;
  }
  return ids;
}

function newestFirst(idsOldestFirst: readonly string[], n = idsOldestFirst.length): string[] {
  return [...idsOldestFirst].reverse().slice(0, n);
}

describe('follows', () => {
  let t: TestServer;
  let client: StreamClient;
  before(async () => {
    t = await startServer();
    client = t.client();
  });
  after(async () => t.close());

  describe('follow copies', () => {
    it('copies the newest 100 activities by default, with origin = target, visible on the next read', async () => {
      const target = client.feed('user', uid('star'));
      const ids = await post(target, 110);
      const tl = client.feed('timeline', uid('fan'));
      const res = await tl.follow('user', target.userId);
      assert.deepEqual(Object.keys(res), ['duration']);
      assert.match(String(res.duration), DURATION_RE);

      const got = await tl.get({ limit: 100 });
      assert.deepEqual(got.results.map((a) => a.id), newestFirst(ids, 100));
      assert.equal(got.next, '', 'exactly 100 copies, so there is no next page');
      for (const a of got.results as unknown as Act[]) assert.equal(a.origin, target.id);

      // A copy is the target's activity, key for key, apart from origin.
      const orig = (await target.get({ limit: 1 })).results[0] as unknown as Act;
      assert.equal(orig.origin, null);
      assert.deepEqual({ ...(got.results[0] as unknown as Act), origin: null }, orig);
    });

    it('honours activity_copy_limit, including 0', async () => {
      const target = client.feed('user', uid('star'));
      const ids = await post(target, 12);

      const three = client.feed('timeline', uid('fan'));
      await three.follow('user', target.userId, { limit: 3 });
      const got3 = (await three.get({ limit: 25 })).results as unknown as Act[];
      assert.deepEqual(got3.map((a) => a.id), newestFirst(ids, 3));
      assert.ok(got3.every((a) => a.origin === target.id));

      const none = client.feed('timeline', uid('fan'));
      await none.follow('user', target.userId, { limit: 0 });
      assert.deepEqual((await none.get()).results, []);
      // The edge exists even though nothing was copied.
      const following = await none.following();
      assert.deepEqual(following.results.map((r) => r.target_id), [target.id]);

      const all = client.feed('flat', uid('fan'));
      await all.follow('user', target.userId, { limit: 1000 });
      assert.deepEqual((await readAll(all)).map((a) => a.id), newestFirst(ids));
    });

    it('rejects activity_copy_limit outside 0–1000 or not an integer with 400/4, creating nothing', async () => {
      const target = client.feed('user', uid('star'));
      await post(target, 2);
      const src = client.feed('timeline', uid('fan'));
      await expectApiError(src.follow('user', target.userId, { limit: 1001 }), 400, 4, /activity_copy_limit/);
      await expectApiError(src.follow('user', target.userId, { limit: -1 }), 400, 4, /activity_copy_limit/);
      await expectApiError(src.follow('user', target.userId, { limit: 2.5 }), 400, 4, /activity_copy_limit/);
      const r = await rawRequest(t, 'POST', `feed/timeline/${src.userId}/following/`, {
        body: { target: target.id, activity_copy_limit: 'many' },
      });
      assertRawError(r, 400, 4);
      assert.deepEqual((await src.following()).results, []);
      assert.deepEqual((await src.get()).results, []);
    });

    it('fans future posts of the target out to followers with origin = the source feed', async () => {
      const target = client.feed('user', uid('star'));
      const tl = client.feed('timeline', uid('fan'));
      const flat = client.feed('flat', uid('fan'));
      await tl.follow('user', target.userId);
      await flat.follow('user', target.userId);
      const added = (await target.addActivity({ actor: 'SU:x', verb: 'post', object: 'o:1', foreign_id: 'f:1' })) as unknown as Act;
      for (const f of [tl, flat]) {
        const got = (await f.get()).results as unknown as Act[];
        assert.equal(got.length, 1);
        assert.equal(got[0].id, added.id);
        assert.equal(got[0].origin, target.id);
        assert.equal(got[0].foreign_id, 'f:1');
      }
      // The origin feed itself keeps origin null.
      assert.equal(((await target.get()).results[0] as unknown as Act).origin, null);
    });

    it('does not fan out an activity a feed only received through a follow (no transitive fan-out)', async () => {
      const star = client.feed('user', uid('star'));
      const middle = client.feed('flat', uid('mid'));
      const leaf = client.feed('timeline', uid('leaf'));
      await middle.follow('user', star.userId);
      await leaf.follow('flat', middle.userId);
      await star.addActivity({ actor: 'SU:x', verb: 'post', object: 'o:1' });
      assert.equal((await middle.get()).results.length, 1);
      assert.deepEqual((await leaf.get()).results, []);
      const own = (await middle.addActivity({ actor: 'SU:x', verb: 'post', object: 'o:2' })) as unknown as Act;
      const got = (await leaf.get()).results as unknown as Act[];
      assert.deepEqual(got.map((a) => [a.id, a.origin]), [[own.id, middle.id]]);
    });

    it('copies only the target\'s own activities (and `to` copies), not what it received through follows', async () => {
      const star = client.feed('user', uid('star'));
      const middle = client.feed('flat', uid('mid'));
      await star.addActivity({ actor: 'SU:x', verb: 'post', object: 'from-star' });
      await middle.follow('user', star.userId);
      const own = (await middle.addActivity({ actor: 'SU:m', verb: 'post', object: 'own' })) as unknown as Act;
      const targeted = (await star.addActivity({ actor: 'SU:x', verb: 'post', object: 'to-mid', to: [middle.id] })) as unknown as Act;
      const later = (await star.addActivity({ actor: 'SU:x', verb: 'post', object: 'later' })) as unknown as Act;
      const mid = (await middle.get()).results as unknown as Act[];
      assert.deepEqual(mid.map((a) => a.origin), [star.id, null, null, star.id]);
      assert.equal(mid[0].id, later.id);

      const leaf = client.feed('timeline', uid('leaf'));
      await leaf.follow('flat', middle.userId, { limit: 2 });
      const got = (await leaf.get()).results as unknown as Act[];
      assert.deepEqual(got.map((a) => [a.id, a.origin]), [[targeted.id, middle.id], [own.id, middle.id]]);

      // Removing the targeted activity at its origin reaches the leaf's copy too.
      await star.removeActivity(targeted.id);
      assert.deepEqual((await leaf.get()).results.map((a) => a.id), [own.id]);
    });

    it('fans activities posted with `to` targets out to followers of the targets too', async () => {
      const author = client.feed('user', uid('author'));
      const other = client.feed('user', uid('other'));
      const authorFan = client.feed('timeline', uid('fan'));
      const otherFan = client.feed('timeline', uid('fan'));
      const bothFan = client.feed('timeline', uid('fan'));
      await authorFan.follow('user', author.userId);
      await otherFan.follow('user', other.userId);
      await bothFan.follow('user', author.userId);
      await bothFan.follow('user', other.userId);
      const act = (await author.addActivity({ actor: 'SU:a', verb: 'post', object: 'o:1', to: [other.id] })) as unknown as Act;

      const direct = (await other.get()).results as unknown as Act[];
      assert.deepEqual(direct.map((a) => [a.id, a.origin]), [[act.id, null]]);
      const af = (await authorFan.get()).results as unknown as Act[];
      assert.deepEqual(af.map((a) => [a.id, a.origin]), [[act.id, author.id]]);
      const of = (await otherFan.get()).results as unknown as Act[];
      assert.deepEqual(of.map((a) => [a.id, a.origin]), [[act.id, other.id]]);
      const bf = (await bothFan.get()).results as unknown as Act[];
      assert.equal(bf.length, 1, 'a feed following both gets the activity once');
      assert.equal(bf[0].id, act.id);

      // Removal from the origin feed removes every copy.
      await author.removeActivity(act.id);
      for (const f of [author, other, authorFan, otherFan, bothFan]) assert.deepEqual((await f.get()).results, [], f.id);
    });
  });

  describe('unfollow', () => {
    it('removes copied and fanned-out activities, keeping the feed\'s own and other follows\' activities', async () => {
      const target = client.feed('user', uid('star'));
      const otherTarget = client.feed('user', uid('star2'));
      const tl = client.feed('timeline', uid('fan'));
      await post(target, 3, 'old');
      await post(otherTarget, 2, 'other');
      await tl.follow('user', target.userId);
      await tl.follow('user', otherTarget.userId);
      await target.addActivity({ actor: 'SU:x', verb: 'post', object: 'new' });
      const own = (await tl.addActivity({ actor: 'SU:me', verb: 'note', object: 'mine' })) as unknown as Act;
      assert.equal((await tl.get()).results.length, 3 + 2 + 1 + 1);

      const res = await tl.unfollow('user', target.userId);
      assert.deepEqual(Object.keys(res), ['duration']);
      const left = (await tl.get()).results as unknown as Act[];
      assert.equal(left.length, 3);
      assert.ok(left.every((a) => a.origin !== target.id));
      assert.ok(left.some((a) => a.id === own.id && a.origin === null));
      assert.equal(left.filter((a) => a.origin === otherTarget.id).length, 2);
      assert.deepEqual((await tl.following()).results.map((r) => r.target_id), [otherTarget.id]);
      assert.deepEqual((await target.followers()).results, []);
      // The target itself is untouched.
      assert.equal((await target.get()).results.length, 4);

      // No further fan-out after unfollowing.
      await target.addActivity({ actor: 'SU:x', verb: 'post', object: 'after' });
      assert.equal((await tl.get()).results.length, 3);
    });

    it('keeps the activities with keepHistory: true', async () => {
      const target = client.feed('user', uid('star'));
      const tl = client.feed('timeline', uid('fan'));
      const ids = await post(target, 4);
      await tl.follow('user', target.userId);
      await tl.unfollow('user', target.userId, { keepHistory: true });
      const left = (await tl.get()).results as unknown as Act[];
      assert.deepEqual(left.map((a) => a.id), newestFirst(ids));
      assert.ok(left.every((a) => a.origin === target.id));
      assert.deepEqual((await tl.following()).results, []);
      await target.addActivity({ actor: 'SU:x', verb: 'post', object: 'after' });
      assert.equal((await tl.get()).results.length, 4, 'no fan-out after unfollow');
    });

    it('accepts keep_history=true spelled out, and unfollowing a non-edge is not an error', async () => {
      const target = client.feed('user', uid('star'));
      const tl = client.feed('timeline', uid('fan'));
      await post(target, 2);
      await tl.follow('user', target.userId);
      const r = await rawRequest(t, 'DELETE', `feed/timeline/${tl.userId}/following/${target.id}/`, {
        query: { keep_history: 'true' },
        token: tl.token,
      });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(Object.keys(r.body), ['duration']);
      assert.equal((await tl.get()).results.length, 2);

      const again = await tl.unfollow('user', target.userId);
      assert.deepEqual(Object.keys(again), ['duration']);
      await client.feed('flat', uid('never')).unfollow('user', uid('nobody'));
    });
  });

  describe('edge rules', () => {
    it('re-following is idempotent: one edge, the same created_at, no duplicate activities', async () => {
      const target = client.feed('user', uid('star'));
      const tl = client.feed('timeline', uid('fan'));
      const ids = await post(target, 3);
      await tl.follow('user', target.userId);
      const first = await tl.following();
      await tl.follow('user', target.userId);
      await tl.follow('user', target.userId, { limit: 1 });
      const second = await tl.following();
      assert.equal(second.results.length, 1);
      assert.deepEqual(second.results, first.results);
      assert.deepEqual((await target.followers()).results.length, 1);
      assert.deepEqual((await tl.get()).results.map((a) => a.id), newestFirst(ids));
    });

    it('refuses self-follow with 400/4 and changes nothing', async () => {
      const feed = client.feed('user', uid('self'));
      await post(feed, 1);
      await expectApiError(feed.follow('user', feed.userId), 400, 4, /itself/);
      assert.deepEqual((await feed.following()).results, []);
      assert.deepEqual((await feed.followers()).results, []);
      const got = (await feed.get()).results as unknown as Act[];
      assert.equal(got.length, 1);
      assert.equal(got[0].origin, null);
    });

    it('refuses following aggregated and notification feeds with 400/4', async () => {
      const src = client.feed('timeline', uid('fan'));
      for (const group of ['aggregated', 'notification']) {
        const target = client.feed(group, uid('t'));
        await expectApiError(src.follow(group, target.userId), 400, 4);
        assert.deepEqual((await target.followers()).results, []);
      }
      assert.deepEqual((await src.following()).results, []);
    });

    it('refuses an unknown target group with 400/4', async () => {
      const src = client.feed('timeline', uid('fan'));
      await expectApiError(src.follow('news', uid('n')), 400, 4, /news/);
      const r = await rawRequest(t, 'POST', `feed/timeline/${src.userId}/following/`, { body: { target: 'to:something' } });
      assertRawError(r, 400, 4);
      assert.deepEqual((await src.following()).results, []);
    });

    it('refuses malformed follow bodies with 400/4', async () => {
      const src = client.feed('timeline', uid('fan'));
      for (const body of [{}, { target: 42 }, { target: 'user' }, { target: 'user:bad id' }, { target: 'us-er:x' }, []]) {
        const r = await rawRequest(t, 'POST', `feed/timeline/${src.userId}/following/`, { body });
        assertRawError(r, 400, 4);
      }
      assert.deepEqual((await src.following()).results, []);
    });

    it('refuses an unknown source group with 400/6 and bad unfollow targets with 400/4', async () => {
      const target = client.feed('user', uid('star'));
      const r = await rawRequest(t, 'POST', `feed/news/${uid('n')}/following/`, { body: { target: target.id } });
      assertRawError(r, 400, 6);
      assert.deepEqual((await target.followers()).results, []);
      const src = client.feed('timeline', uid('fan'));
      for (const bad of ['nocolon', 'us-er:x', 'user:bad%20id']) {
        assertRawError(await rawRequest(t, 'DELETE', `feed/timeline/${src.userId}/following/${bad}/`), 400, 4);
      }
    });

    it('accepts a percent-encoded target in the unfollow path', async () => {
      const target = client.feed('user', uid('star'));
      const src = client.feed('timeline', uid('fan'));
      await post(target, 1);
      await src.follow('user', target.userId);
      const r = await rawRequest(t, 'DELETE', `feed/timeline/${src.userId}/following/user%3A${target.userId}/`);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual((await src.following()).results, []);
      assert.deepEqual((await src.get()).results, []);
    });

    it('trims copies to the source group\'s max_length, keeping the newest', async () => {
      const target = client.feed('user', uid('star'));
      const ids = await post(target, 9);
      const short = client.feed('short', uid('s'));
      await short.follow('user', target.userId);
      assert.deepEqual((await short.get()).results.map((a) => a.id), newestFirst(ids, 5));
    });

    it('lets aggregated and notification feeds follow user feeds', async () => {
      const target = client.feed('user', uid('star'));
      await post(target, 3);
      const agg = client.feed('aggregated', uid('agg'));
      const notif = client.feed('notification', uid('notif'));
      const r1 = await agg.follow('user', target.userId);
      assert.deepEqual(Object.keys(r1), ['duration']);
      await notif.follow('user', target.userId, { limit: 2 });
      assert.deepEqual((await agg.following()).results.map((r) => r.target_id), [target.id]);
      assert.deepEqual(
        (await target.followers()).results.map((r) => r.feed_id),
        [notif.id, agg.id],
      );
      // Posting to the target afterwards must not fail either.
      await target.addActivity({ actor: 'SU:x', verb: 'like', object: 'o:9' });
      assert.deepEqual(Object.keys(await agg.unfollow('user', target.userId)), ['duration']);
    });
  });

  describe('followers and following lists', () => {
    it('return {results: [{feed_id, target_id, created_at, updated_at}], duration}, newest first', async () => {
      const target = client.feed('user', uid('star'));
      const sources = [client.feed('timeline', uid('a')), client.feed('flat', uid('b')), client.feed('timeline', uid('c'))];
      for (const s of sources) await s.follow('user', target.userId);

      const followers = await target.followers();
      assert.deepEqual(Object.keys(followers).sort(), ['duration', 'results']);
      assert.match(String(followers.duration), DURATION_RE);
      assert.deepEqual(
        followers.results.map((r) => [r.feed_id, r.target_id]),
        [...sources].reverse().map((s) => [s.id, target.id]),
      );
      for (const r of followers.results) {
        assert.deepEqual(Object.keys(r).sort(), ['created_at', 'feed_id', 'target_id', 'updated_at']);
        assert.match(r.created_at, FOLLOW_TIME_RE);
        assert.match(r.updated_at, FOLLOW_TIME_RE);
      }
      const times = followers.results.map((r) => Date.parse(r.created_at));
      assert.deepEqual([...times].sort((a, b) => b - a), times, 'newest edge first');

      const following = await sources[0].following();
      assert.deepEqual(Object.keys(following).sort(), ['duration', 'results']);
      assert.equal(following.results.length, 1);
      assert.deepEqual(following.results[0], followers.results[2]);
    });

    it('return results: [] for feeds without edges', async () => {
      const f = client.feed('timeline', uid('lonely'));
      assert.deepEqual((await f.followers()).results, []);
      assert.deepEqual((await f.following()).results, []);
    });

    it('page with limit and offset (strings or numbers)', async () => {
      const src = client.feed('timeline', uid('fan'));
      const targets = Array.from({ length: 5 }, () => client.feed('user', uid('t')));
      for (const tg of targets) await src.follow('user', tg.userId);
      const expected = [...targets].reverse().map((tg) => tg.id);

      const pages = [];
      for (const offset of [0, 2, 4]) pages.push((await src.following({ limit: 2, offset })).results.map((r) => r.target_id));
      assert.deepEqual(pages, [expected.slice(0, 2), expected.slice(2, 4), expected.slice(4)]);
      assert.deepEqual((await src.following({ offset: 5 })).results, []);
      const asStrings = await rawRequest(t, 'GET', `feed/timeline/${src.userId}/following/`, { query: { limit: '3', offset: '1' } });
      assert.equal(asStrings.status, 200);
      assert.deepEqual(asStrings.body.results.map((r: any) => r.target_id), expected.slice(1, 4));

      // Followers page the same way.
      const star = targets[0];
      const fans = Array.from({ length: 4 }, () => client.feed('flat', uid('f')));
      for (const f of fans) await f.follow('user', star.userId);
      const allFans = [...fans].reverse().map((f) => f.id).concat(src.id);
      assert.deepEqual((await star.followers({ limit: 3 })).results.map((r) => r.feed_id), allFans.slice(0, 3));
      assert.deepEqual((await star.followers({ limit: 3, offset: 3 })).results.map((r) => r.feed_id), allFans.slice(3));
    });

    it('reject a non-numeric limit and an offset over 10,000 with 400/4', async () => {
      const src = client.feed('timeline', uid('fan'));
      await expectApiError(src.following({ limit: 'ten' as unknown as number }), 400, 4, /limit/);
      await expectApiError(src.followers({ offset: 10_001 }), 400, 4, /offset/);
    });

    it('filter following by feed ids ("do I follow X")', async () => {
      const src = client.feed('timeline', uid('fan'));
      const a = client.feed('user', uid('a'));
      const b = client.feed('user', uid('b'));
      const c = client.feed('flat', uid('c'));
      for (const tg of [a, b, c]) await src.follow(tg.slug, tg.userId);
      const one = await src.following({ filter: [b.id, `user:${uid('zzz')}`] });
      assert.deepEqual(one.results.map((r) => r.target_id), [b.id]);
      const two = await src.following({ filter: [a.id, c.id] });
      assert.deepEqual(two.results.map((r) => r.target_id), [c.id, a.id]);
      assert.deepEqual((await src.following({ filter: [`user:${uid('none')}`] })).results, []);
    });

    it('serve the `follows/` alias for follow, list and unfollow', async () => {
      const target = client.feed('user', uid('star'));
      const ids = await post(target, 3);
      const src = client.feed('timeline', uid('fan'));
      const base = `feed/timeline/${src.userId}/follows/`;
      const created = await rawRequest(t, 'POST', base, { body: { target: target.id, activity_copy_limit: 2 }, token: src.token });
      assert.ok(created.status >= 200 && created.status < 300, created.text);
      assert.deepEqual(Object.keys(created.body), ['duration']);
      assert.deepEqual((await src.get()).results.map((a) => a.id), newestFirst(ids, 2));

      const listed = await rawRequest(t, 'GET', base, { token: src.token });
      assert.equal(listed.status, 200);
      assert.deepEqual(listed.body.results.map((r: any) => [r.feed_id, r.target_id]), [[src.id, target.id]]);
      assert.deepEqual(listed.body.results, (await src.following()).results);

      const removed = await rawRequest(t, 'DELETE', `${base}${target.id}/`, { token: src.token });
      assert.equal(removed.status, 200, removed.text);
      assert.deepEqual((await src.following()).results, []);
      assert.deepEqual((await src.get()).results, []);
    });
  });

  describe('batch follow and unfollow', () => {
    it('followMany copies activity_copy_limit activities (25 of 50) into every source', async () => {
      const target = client.feed('user', uid('star'));
      const ids = await post(target, 50);
      const a = client.feed('flat', uid('a'));
      const b = client.feed('timeline', uid('b'));
      const res = await client.followMany!([{ source: a.id, target: target.id }, { source: b.id, target: target.id }], 25);
      assert.deepEqual(Object.keys(res), ['duration']);
      for (const f of [a, b]) {
        const got = (await f.get({ limit: 100 })).results as unknown as Act[];
        assert.deepEqual(got.map((x) => x.id), newestFirst(ids, 25));
        assert.ok(got.every((x) => x.origin === target.id));
      }
      assert.deepEqual((await target.followers()).results.map((r) => r.feed_id).sort(), [a.id, b.id].sort());

      // Without a limit the default (100) applies: all 50.
      const c = client.feed('flat', uid('c'));
      await client.followMany!([{ source: c.id, target: target.id }]);
      assert.equal((await c.get({ limit: 100 })).results.length, 50);
    });

    it('followMany honours a per-item activity_copy_limit', async () => {
      const target = client.feed('user', uid('star'));
      const ids = await post(target, 6);
      const a = client.feed('flat', uid('a'));
      const b = client.feed('flat', uid('b'));
      const r = await rawRequest(t, 'POST', 'follow_many/', {
        query: { activity_copy_limit: '4' },
        body: [{ source: a.id, target: target.id, activity_copy_limit: 1 }, { source: b.id, target: target.id }],
      });
      assert.ok(r.status >= 200 && r.status < 300, r.text);
      assert.deepEqual((await a.get()).results.map((x) => x.id), newestFirst(ids, 1));
      assert.deepEqual((await b.get()).results.map((x) => x.id), newestFirst(ids, 4));
    });

    it('followMany with one invalid item writes nothing (400/4)', async () => {
      const target = client.feed('user', uid('star'));
      await post(target, 2);
      const good = client.feed('flat', uid('good'));
      const self = client.feed('flat', uid('self'));
      await expectApiError(
        client.followMany!([{ source: good.id, target: target.id }, { source: self.id, target: self.id }]),
        400,
        4,
      );
      await expectApiError(client.followMany!([{ source: good.id, target: `aggregated:${uid()}` }]), 400, 4);
      const bad = await rawRequest(t, 'POST', 'follow_many/', { body: { source: good.id, target: target.id } });
      assertRawError(bad, 400, 4);
      assert.deepEqual((await good.following()).results, []);
      assert.deepEqual((await good.get()).results, []);
    });

    it('unfollowMany removes edges, honouring keep_history per item', async () => {
      const target = client.feed('user', uid('star'));
      await post(target, 5);
      const keep = client.feed('flat', uid('keep'));
      const drop = client.feed('flat', uid('drop'));
      await client.followMany!([{ source: keep.id, target: target.id }, { source: drop.id, target: target.id }]);
      const res = await client.unfollowMany!([
        { source: keep.id, target: target.id, keep_history: true },
        { source: drop.id, target: target.id },
      ]);
      assert.deepEqual(Object.keys(res), ['duration']);
      assert.deepEqual((await target.followers()).results, []);
      assert.equal((await keep.get()).results.length, 5);
      assert.deepEqual((await drop.get()).results, []);

      const bad = await rawRequest(t, 'POST', 'unfollow_many/', { body: [{ source: keep.id, target: 42 }] });
      assertRawError(bad, 400, 4);
    });
  });

  describe('follow stats', () => {
    it('counts followers and following, with slug filters (unknown slugs count 0)', async () => {
      const me = client.feed('timeline', uid('me'));
      const followees = [client.feed('user', uid('a')), client.feed('user', uid('b')), client.feed('flat', uid('c'))];
      for (const f of followees) await me.follow(f.slug, f.userId);
      const fans = [client.feed('timeline', uid('p')), client.feed('flat', uid('q'))];
      for (const f of fans) await f.follow('timeline', me.userId);

      const all = await me.followStats();
      assert.deepEqual(Object.keys(all).sort(), ['duration', 'results']);
      assert.match(String(all.duration), DURATION_RE);
      assert.deepEqual(all.results, { followers: { feed: me.id, count: 2 }, following: { feed: me.id, count: 3 } });

      const filtered = await me.followStats({ followerSlugs: ['timeline', 'news'], followingSlugs: ['user'] });
      assert.deepEqual(filtered.results, { followers: { feed: me.id, count: 1 }, following: { feed: me.id, count: 2 } });

      const news = await me.followStats({ followerSlugs: ['news'], followingSlugs: ['news'] });
      assert.deepEqual(news.results, { followers: { feed: me.id, count: 0 }, following: { feed: me.id, count: 0 } });

      const fresh = client.feed('user', uid('fresh'));
      assert.deepEqual((await fresh.followStats()).results, {
        followers: { feed: fresh.id, count: 0 },
        following: { feed: fresh.id, count: 0 },
      });

      // Counts follow unfollows.
      await me.unfollow('user', followees[0].userId);
      assert.equal((await me.followStats()).results.following.count, 2);
    });

    it('rejects a stats call without feeds or with a bad feed id (400/4)', async () => {
      assertRawError(await rawRequest(t, 'GET', 'stats/follow/'), 400, 4);
      assertRawError(await rawRequest(t, 'GET', 'stats/follow/', { query: { followers: 'nocolon' } }), 400, 4);
    });
  });
});

describe('follows: queued fan-out', () => {
  let t: TestServer;
  let client: StreamClient;
  before(async () => {
    t = await startServer({ fanout: { inline_max_followers: 5, chunk_size: 7 } });
    client = t.client();
  });
  after(async () => t.close());

  async function followersOf(star: StreamFeed, n: number, slug = 'timeline'): Promise<StreamFeed[]> {
    const fans = Array.from({ length: n }, () => client.feed(slug, uid('fan')));
    await client.followMany!(fans.map((f) => ({ source: f.id, target: star.id })));
    return fans;
  }

  it('delivers to 40 followers exactly once, and removal from the origin removes every copy', async () => {
    const star = client.feed('user', uid('star'));
    const fans = await followersOf(star, 40);
    const act = (await star.addActivity({ actor: 'SU:star', verb: 'post', object: 'o:big', foreign_id: 'big:1' })) as unknown as Act;
    await t.rivulet.worker!.drainAll();
    assert.equal(await t.rivulet.store.ports.intents.pendingCount(), 0);
    for (const f of fans) {
      const got = (await f.get()).results as unknown as Act[];
      assert.deepEqual(got.map((a) => [a.id, a.origin]), [[act.id, star.id]], f.id);
    }

    await star.removeActivity(act.id);
    assert.deepEqual((await star.get()).results, [], 'the origin feed is updated before the response');
    await t.rivulet.worker!.drainAll();
    for (const f of fans) assert.deepEqual((await f.get()).results, [], f.id);
  });

  it('removal by foreign_id from the origin removes it from all followers', async () => {
    const star = client.feed('user', uid('star'));
    const fans = await followersOf(star, 9, 'flat');
    await star.addActivity({ actor: 'SU:star', verb: 'post', object: 'o:1', foreign_id: 'fid:9' });
    await t.rivulet.worker!.drainAll();
    for (const f of fans) assert.equal((await f.get()).results.length, 1);
    await star.removeActivity({ foreign_id: 'fid:9' });
    await t.rivulet.worker!.drainAll();
    for (const f of fans) assert.deepEqual((await f.get()).results, [], f.id);
  });

  it('fans `to` copies out to the followers of each target, once per follower feed', async () => {
    const author = client.feed('user', uid('author'));
    const other = client.feed('user', uid('other'));
    const authorFans = await followersOf(author, 8);
    const otherFans = await followersOf(other, 11);
    // Some feeds follow both author and target.
    const both = authorFans.slice(0, 3);
    await client.followMany!(both.map((f) => ({ source: f.id, target: other.id })));

    const act = (await author.addActivity({ actor: 'SU:a', verb: 'post', object: 'o:to', to: [other.id] })) as unknown as Act;
    await t.rivulet.worker!.drainAll();
    for (const f of authorFans) {
      const got = (await f.get()).results as unknown as Act[];
      assert.equal(got.length, 1, f.id);
      assert.equal(got[0].id, act.id);
      if (!both.includes(f)) assert.equal(got[0].origin, author.id);
    }
    for (const f of otherFans) {
      const got = (await f.get()).results as unknown as Act[];
      assert.deepEqual(got.map((a) => [a.id, a.origin]), [[act.id, other.id]], f.id);
    }

    await author.removeActivity(act.id);
    await t.rivulet.worker!.drainAll();
    for (const f of [other, ...authorFans, ...otherFans]) assert.deepEqual((await f.get()).results, [], f.id);
  });

  it('future posts reach followers added after earlier posts; copies on follow still apply inline', async () => {
    const star = client.feed('user', uid('star'));
    const ids = await post(star, 3);
    const fans = await followersOf(star, 12);
    for (const f of fans) assert.deepEqual((await f.get()).results.map((a) => a.id), newestFirst(ids));
    const act = (await star.addActivity({ actor: 'SU:s', verb: 'post', object: 'o:4' })) as unknown as Act;
    await t.rivulet.worker!.drainAll();
    for (const f of fans) assert.deepEqual((await f.get()).results.map((a) => a.id), [act.id, ...newestFirst(ids)]);
  });
});

describe('follows: queued fan-out jobs run in order', () => {
  // No background worker here: the add and the remove are both queued before anything drains, which
  // is what happens under load. A worker of our own drains on demand.
  let t: TestServer;
  let client: StreamClient;
  let worker: FanoutWorker;
  before(async () => {
    t = await startServer({ fanout: { inline_max_followers: 5, chunk_size: 7 }, worker: false });
    client = t.client();
    worker = new FanoutWorker(() => t.rivulet.services, t.rivulet.apps, pino({ level: 'silent' }));
  });
  after(async () => t.close());

  for (const n of [6, 13, 20]) {
    it(`an add then a remove queued together leave none of ${n} followers with the activity`, async () => {
      const star = client.feed('user', uid('star'));
      const fans = Array.from({ length: n }, () => client.feed('timeline', uid('fan')));
      await client.followMany!(fans.map((f) => ({ source: f.id, target: star.id })));
      const gone = (await star.addActivity({ actor: 'SU:s', verb: 'post', object: 'gone' })) as unknown as Act;
      await star.removeActivity(gone.id);
      const keep = (await star.addActivity({ actor: 'SU:s', verb: 'post', object: 'keep' })) as unknown as Act;
      assert.equal(await t.rivulet.store.ports.intents.pendingCount(), 3);
      await worker.drainAll();
      assert.equal(await t.rivulet.store.ports.intents.pendingCount(), 0);
      for (const f of fans) assert.deepEqual((await f.get()).results.map((a) => a.id), [keep.id], f.id);
    });
  }

  it('a queued add does not resurrect an activity removed inline after followers dropped below the threshold', async () => {
    const star = client.feed('user', uid('star'));
    const fans = Array.from({ length: 7 }, () => client.feed('timeline', uid('fan')));
    await client.followMany!(fans.map((f) => ({ source: f.id, target: star.id })));
    const gone = (await star.addActivity({ actor: 'SU:s', verb: 'post', object: 'gone' })) as unknown as Act;
    assert.equal(await t.rivulet.store.ports.intents.pendingCount(), 1);
    await client.unfollowMany!(fans.slice(0, 3).map((f) => ({ source: f.id, target: star.id })));
    // 4 followers left: this removal is applied inline, before the queued add has run.
    await star.removeActivity(gone.id);
    await worker.drainAll();
    for (const f of fans) assert.deepEqual((await f.get()).results, [], f.id);
  });

  it('a queued removal does not take away an activity that is back in its source feed', async () => {
    const star = client.feed('user', uid('star'));
    const fans = Array.from({ length: 6 }, () => client.feed('timeline', uid('fan')));
    await client.followMany!(fans.map((f) => ({ source: f.id, target: star.id })));
    const act = { actor: 'SU:s', verb: 'post', object: 'again', foreign_id: 'again:1', time: '2024-05-01T10:00:00.000000' };
    const first = (await star.addActivity(act)) as unknown as Act;
    await worker.drainAll();
    await star.removeActivity(first.id);
    // Same foreign_id + time: the same activity (same id) is back in the source feed.
    const again = (await star.addActivity(act)) as unknown as Act;
    assert.equal(again.id, first.id);
    await worker.drainAll();
    for (const f of fans) {
      const got = (await f.get()).results as unknown as Act[];
      assert.deepEqual(got.map((a) => [a.id, a.origin]), [[first.id, star.id]], f.id);
    }
  });
});
