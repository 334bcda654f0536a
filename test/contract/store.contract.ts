import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { activityId, idToSortKey } from '../../src/core/activities/activity-id.js';
import type { ActivityRecord } from '../../src/ports/activity-store.js';
import type { Store } from '../../src/ports/store.js';

/**
 * The contract every storage backend satisfies, run unchanged against each adapter.
 * `skip` names tests an adapter cannot run, each with its reason.
 */
export function storeContract(name: string, makeStore: () => Promise<Store>, skip: Record<string, string> = {}): void {
  describe(`store contract: ${name}`, () => {
    let store: Store;
    let n = 0;
    const app = () => `app${n}`;
    before(async () => {
      store = await makeStore();
    });
    after(async () => store.close());

    const test = (title: string, fn: () => Promise<void>) => {
      if (skip[title]) it(title, { skip: skip[title] }, fn);
      else
        it(title, async () => {
          n++;
          await fn();
        });
    };

    const act = (t: number, home: string, extra: Partial<ActivityRecord> = {}): ActivityRecord => {
      const id = activityId(t, `c${t}`);
      return { id, timeUs: t, foreignId: `f${t}`, to: [], body: JSON.stringify({ id, n: t }), home, ...extra };
    };

    test('stores activities and loads them in one batch', async () => {
      const a = act(1000, 'user:a');
      const b = act(2000, 'user:a', { to: ['notification:x'] });
      await store.commit(app(), { activities: [a, b] });
      const got = await store.getActivities(app(), [a.id, b.id, activityId(3, 'none')]);
      assert.equal(got.size, 2);
      assert.deepEqual(got.get(b.id), b);
      assert.equal((await store.getActivities('other-app', [a.id])).size, 0, 'apps are isolated');
    });

    test('erases activity records for good with their entries, in one batch', async () => {
      const a = act(1000, 'user:a');
      const b = act(2000, 'user:a');
      await store.commit(app(), {
        activities: [a, b],
        entries: [a, b].map((x) => ({ feed: 'user:a', id: x.id, origin: null, maxLength: 100 })),
      });
      await store.commit(app(), { removals: [{ feed: 'user:a', ids: [a.id] }], erase: [a.id, activityId(3, 'never stored')] });
      const got = await store.getActivities(app(), [a.id, b.id]);
      assert.deepEqual([...got.keys()], [b.id]);
      assert.deepEqual((await store.readFeed(app(), 'user:a', { limit: 10, offset: 0 })).map((e) => e.id), [b.id]);
    });

    test('upserts an activity in place and keeps its home feed', async () => {
      const a = act(1000, 'user:a');
      await store.commit(app(), { activities: [a] });
      await store.commit(app(), { activities: [{ ...a, body: '{"v":2}', home: 'user:b' }] });
      const got = (await store.getActivities(app(), [a.id])).get(a.id)!;
      assert.equal(got.body, '{"v":2}');
      assert.equal(got.home, 'user:a');
    });

    test('reads feeds newest first with id bounds, limit and offset', async () => {
      const acts = Array.from({ length: 10 }, (_, i) => act(1000 * (i + 1), 'user:a'));
      await store.commit(app(), {
        activities: acts,
        entries: acts.map((a) => ({ feed: 'user:a', id: a.id, origin: null, maxLength: 100 })),
      });
      const ids = acts.map((a) => a.id).reverse();
      const all = await store.readFeed(app(), 'user:a', { limit: 100, offset: 0 });
      assert.deepEqual(all.map((e) => e.id), ids);
      assert.deepEqual((await store.readFeed(app(), 'user:a', { limit: 3, offset: 2 })).map((e) => e.id), ids.slice(2, 5));
      assert.deepEqual((await store.readFeed(app(), 'user:a', { limit: 3, offset: 0, idLt: ids[4] })).map((e) => e.id), ids.slice(5, 8));
      assert.deepEqual((await store.readFeed(app(), 'user:a', { limit: 3, offset: 0, idLte: ids[4] })).map((e) => e.id), ids.slice(4, 7));
      assert.deepEqual((await store.readFeed(app(), 'user:a', { limit: 10, offset: 0, idGt: ids[2] })).map((e) => e.id), ids.slice(0, 2));
      assert.deepEqual((await store.readFeed(app(), 'user:a', { limit: 10, offset: 0, idGte: ids[2] })).map((e) => e.id), ids.slice(0, 3));
      assert.deepEqual(
        (await store.readFeed(app(), 'user:a', { limit: 10, offset: 0, idGt: ids[6], idLt: ids[2] })).map((e) => e.id),
        ids.slice(3, 6),
      );
      assert.deepEqual(await store.readFeed(app(), 'user:none', { limit: 10, offset: 0 }), []);
    });

    test('inserts entries idempotently and trims to max length', async () => {
      const acts = Array.from({ length: 8 }, (_, i) => act(1000 * (i + 1), 'user:a'));
      await store.commit(app(), { activities: acts });
      const entries = acts.map((a) => ({ feed: 'timeline:t', id: a.id, origin: 'user:a', maxLength: 5 }));
      await store.commit(app(), { entries: entries.slice(0, 4) });
      await store.commit(app(), { entries: entries.slice(0, 4) });
      assert.equal((await store.readFeed(app(), 'timeline:t', { limit: 100, offset: 0 })).length, 4);
      await store.commit(app(), { entries });
      const kept = await store.readFeed(app(), 'timeline:t', { limit: 100, offset: 0 });
      assert.deepEqual(kept.map((e) => e.id), acts.slice(3).map((a) => a.id).reverse());
      assert.ok(kept.every((e) => e.origin === 'user:a'));
    });

    test('removes entries, optionally only those from one origin', async () => {
      const [a, b] = [act(1000, 'user:a'), act(2000, 'user:b')];
      await store.commit(app(), {
        activities: [a, b],
        entries: [
          { feed: 'timeline:t', id: a.id, origin: 'user:a', maxLength: 100 },
          { feed: 'timeline:t', id: b.id, origin: 'user:b', maxLength: 100 },
        ],
      });
      await store.commit(app(), { removals: [{ feed: 'timeline:t', ids: [a.id, b.id], origin: 'user:b' }] });
      assert.deepEqual((await store.entriesOf(app(), 'timeline:t', [a.id, b.id])).map((e) => e.id), [a.id]);
      await store.commit(app(), { removals: [{ feed: 'timeline:t', ids: [a.id] }] });
      assert.deepEqual(await store.entriesOf(app(), 'timeline:t', [a.id, b.id]), []);
    });

    test('removes every entry that came from one origin', async () => {
      const acts = [act(1000, 'user:a'), act(2000, 'user:b'), act(3000, 'user:a')];
      await store.commit(app(), {
        activities: acts,
        entries: acts.map((x) => ({ feed: 'timeline:t', id: x.id, origin: x.home, maxLength: 100 })),
      });
      await store.commit(app(), { removeByOrigin: [{ feed: 'timeline:t', origin: 'user:a' }] });
      assert.deepEqual((await store.readFeed(app(), 'timeline:t', { limit: 10, offset: 0 })).map((e) => e.id), [acts[1].id]);
    });

    test('finds activities in a feed by foreign id', async () => {
      const a = act(1000, 'user:a', { foreignId: 'post:1' });
      const b = act(2000, 'user:a', { foreignId: 'post:1' });
      await store.commit(app(), { activities: [a, b], entries: [{ feed: 'user:a', id: a.id, origin: null, maxLength: 10 }] });
      assert.deepEqual(await store.findInFeedByForeignId(app(), 'user:a', 'post:1'), [a.id]);
      assert.deepEqual(await store.findInFeedByForeignId(app(), 'user:zz', 'post:1'), []);
    });

    test('pages followers with a cursor, each exactly once', async () => {
      const follows = Array.from({ length: 23 }, (_, i) => ({ source: `timeline:f${i}`, target: 'user:celeb', createdUs: i }));
      await store.commit(app(), { follows });
      await store.commit(app(), { follows: follows.slice(0, 3) });
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await store.followerPage(app(), 'user:celeb', cursor, 5);
        seen.push(...page.feeds);
        cursor = page.cursor;
      } while (cursor !== null);
      assert.deepEqual([...seen].sort(), follows.map((f) => f.source).sort());
    });

    test('lists follows newest first, filters and counts them', async () => {
      await store.commit(app(), {
        follows: [
          { source: 'timeline:t', target: 'user:a', createdUs: 1 },
          { source: 'timeline:t', target: 'user:b', createdUs: 2 },
          { source: 'timeline:t', target: 'flat:c', createdUs: 3 },
          { source: 'timeline:u', target: 'user:a', createdUs: 4 },
        ],
      });
      const following = await store.following(app(), 'timeline:t', 10, 0);
      assert.deepEqual(following.map((e) => e.target), ['flat:c', 'user:b', 'user:a']);
      assert.deepEqual((await store.following(app(), 'timeline:t', 1, 1)).map((e) => e.target), ['user:b']);
      assert.deepEqual((await store.following(app(), 'timeline:t', 10, 0, ['user:a', 'user:x'])).map((e) => e.target), ['user:a']);
      assert.deepEqual((await store.followers(app(), 'user:a', 10, 0)).map((e) => [e.source, e.createdUs]), [
        ['timeline:u', 4],
        ['timeline:t', 1],
      ]);
      assert.deepEqual(await store.followCounts(app(), 'timeline:t'), { followers: 0, following: 3 });
      assert.deepEqual(await store.followCounts(app(), 'timeline:t', undefined, ['user']), { followers: 0, following: 2 });
      assert.deepEqual(await store.followCounts(app(), 'user:a', ['news'], undefined), { followers: 0, following: 0 });
      await store.commit(app(), { unfollows: [{ source: 'timeline:t', target: 'user:a' }] });
      assert.deepEqual(await store.followCounts(app(), 'user:a'), { followers: 1, following: 0 });
    });

    test('keeps fan-out jobs until completed, with their progress', async () => {
      const before = await store.pendingCount();
      const t0 = Date.now();
      await store.commit(app(), { enqueue: [{ kind: 'fanout.add', app: app(), source: 'user:a', ids: ['x', 'y'] }] });
      const t1 = Date.now();
      const jobs = (await store.pendingJobs(1000)).filter((j) => j.app === app());
      assert.equal(jobs.length, 1);
      const { queuedAt, ...job } = jobs[0];
      assert.deepEqual({ ...job, jobId: 0 }, { jobId: 0, kind: 'fanout.add', app: app(), source: 'user:a', ids: ['x', 'y'], cursor: null, attempts: 0 });
      // When it was queued (ms since the epoch), for the fan-out lag metric.
      assert.ok(queuedAt !== null && queuedAt >= t0 && queuedAt <= t1, `queuedAt ${queuedAt} not within [${t0}, ${t1}]`);
      await store.commit(app(), { progress: [{ jobId: jobs[0].jobId, cursor: '17' }] });
      assert.equal((await store.pendingJobs(1000)).find((j) => j.jobId === jobs[0].jobId)?.cursor, '17');
      await store.commit(app(), { complete: [jobs[0].jobId] });
      assert.equal(await store.pendingCount(), before);
    });

    test('puts a failed job off until its retry time, and dead-letters one that failed for good', async () => {
      const pending = await store.pendingCount();
      const dead = await store.deadLetterCount();
      await store.commit(app(), {
        enqueue: [
          { kind: 'fanout.add', app: app(), source: 'user:a', ids: ['x'] },
          { kind: 'fanout.remove', app: app(), source: 'user:b', ids: ['y'] },
        ],
      });
      const mine = async (now?: number) => (await store.pendingJobs(1000, now)).filter((j) => j.app === app());
      const [a, b] = await mine();
      await store.commit(app(), { progress: [{ jobId: a.jobId, cursor: '5' }] });
      const t = 1_800_000_000_000;
      await store.jobFailed(a.jobId, 'first', t + 1000, t);
      assert.deepEqual((await mine(t)).map((j) => j.jobId), [b.jobId], 'not due before its retry time');
      assert.deepEqual((await mine(t + 1000)).map((j) => [j.jobId, j.attempts, j.cursor]), [[a.jobId, 1, '5'], [b.jobId, 0, null]]);
      assert.equal((await mine()).length, 2, 'without a time, every pending job');
      assert.equal(await store.pendingCount(), pending + 2);

      await store.jobFailed(a.jobId, 'Error: for good', null, t + 2000);
      await store.jobFailed(a.jobId, 'again', null, t + 3000); // no longer pending: changes nothing
      assert.deepEqual((await mine()).map((j) => j.jobId), [b.jobId]);
      assert.equal(await store.pendingCount(), pending + 1);
      assert.equal(await store.deadLetterCount(), dead + 1);
      const [letter] = (await store.deadLetters(1000)).filter((d) => d.jobId === a.jobId);
      assert.deepEqual(letter, { ...a, cursor: '5', attempts: 2, error: 'Error: for good', failedAt: t + 2000 });

      assert.equal(await store.requeueDeadLetters([a.jobId, 999_999_999]), 1);
      assert.equal(await store.requeueDeadLetters([a.jobId]), 0);
      assert.equal(await store.deadLetterCount(), dead);
      assert.deepEqual((await mine(t)).map((j) => [j.jobId, j.attempts, j.cursor]), [[a.jobId, 0, '5'], [b.jobId, 0, null]]);
      await store.commit(app(), { complete: [a.jobId, b.jobId] });
      assert.equal(await store.pendingCount(), pending);
    });

    const place = (feed: string, a: ActivityRecord, key: string, actor: string, limits = { maxGroups: 100, maxPerGroup: 100 }) => ({
      feed,
      id: a.id,
      origin: null,
      maxLength: 100,
      group: { key, actor, verb: 'like', timeUs: a.timeUs, ...limits },
    });

    test('folds activities into groups ordered by their newest activity', async () => {
      const acts = Array.from({ length: 6 }, (_, i) => act(1000 * (i + 1), 'user:a'));
      const keys = ['x', 'y', 'x', 'z', 'y', 'x'];
      const actors = ['ann', 'bob', 'cat', 'ann', 'bob', 'ann'];
      await store.commit(app(), { activities: acts, entries: acts.map((a, i) => place('notification:n', a, keys[i], actors[i])) });
      await store.commit(app(), { entries: [place('notification:n', acts[0], 'x', 'ann')] }); // replay is a no-op
      const groups = await store.readGroups(app(), 'notification:n', { limit: 10, offset: 0, perGroup: 2 });
      assert.deepEqual(groups.map((g) => g.key), ['x', 'y', 'z']);
      const x = groups[0];
      assert.equal(x.id, acts[0].id, 'a group is named by the activity that created it');
      assert.equal(x.activityCount, 3);
      assert.equal(x.actorCount, 2);
      assert.deepEqual(x.entries.map((e) => e.id), [acts[5].id, acts[2].id]);
      assert.equal(x.createdUs, 1000);
      assert.equal(x.updatedUs, 6000);
      assert.deepEqual(await store.groupCounts(app(), 'notification:n'), { unseen: 3, unread: 3 });
      const after = await store.readGroups(app(), 'notification:n', { limit: 10, offset: 0, perGroup: 1, idLt: groups[0].id });
      assert.deepEqual(after.map((g) => g.key), ['y', 'z']);
      const before = await store.readGroups(app(), 'notification:n', { limit: 10, offset: 0, perGroup: 1, idGt: groups[2].id });
      assert.deepEqual(before.map((g) => g.key), ['x', 'y']);
      assert.deepEqual((await store.readGroups(app(), 'notification:n', { limit: 1, offset: 1, perGroup: 1 })).map((g) => g.key), ['y']);
    });

    test('marks groups seen and read, and a new activity makes a group unseen again', async () => {
      const acts = Array.from({ length: 4 }, (_, i) => act(1000 * (i + 1), 'user:a'));
      await store.commit(app(), { activities: acts, entries: acts.slice(0, 3).map((a, i) => place('notification:n', a, `k${i}`, 'ann')) });
      const [g2, g1] = await store.readGroups(app(), 'notification:n', { limit: 10, offset: 0, perGroup: 1 });
      await store.commit(app(), { marks: [{ feed: 'notification:n', seen: [g2.id, g1.id] }] });
      assert.deepEqual(await store.groupCounts(app(), 'notification:n'), { unseen: 1, unread: 3 });
      await store.commit(app(), { marks: [{ feed: 'notification:n', read: [g2.id] }] });
      assert.deepEqual(await store.groupCounts(app(), 'notification:n'), { unseen: 1, unread: 2 });
      await store.commit(app(), { marks: [{ feed: 'notification:n', read: 'all' }] });
      assert.deepEqual(await store.groupCounts(app(), 'notification:n'), { unseen: 0, unread: 0 });
      await store.commit(app(), { entries: [place('notification:n', acts[3], 'k1', 'bob')] });
      assert.deepEqual(await store.groupCounts(app(), 'notification:n'), { unseen: 1, unread: 1 });
      const groups = await store.readGroups(app(), 'notification:n', { limit: 10, offset: 0, perGroup: 5 });
      assert.deepEqual(groups.map((g) => [g.key, g.seen, g.read]), [['k1', false, false], ['k2', true, true], ['k0', true, true]]);
      await store.commit(app(), { marks: [{ feed: 'notification:n', seen: 'all' }] });
      assert.deepEqual(await store.groupCounts(app(), 'notification:n'), { unseen: 0, unread: 1 });
    });

    test('bounds groups per feed and activities per group', async () => {
      const acts = Array.from({ length: 8 }, (_, i) => act(1000 * (i + 1), 'user:a'));
      const limits = { maxGroups: 3, maxPerGroup: 2 };
      await store.commit(app(), {
        activities: acts,
        entries: acts.map((a, i) => place('aggregated:g', a, i < 4 ? 'same' : `k${i}`, 'ann', limits)),
      });
      const groups = await store.readGroups(app(), 'aggregated:g', { limit: 10, offset: 0, perGroup: 10 });
      assert.deepEqual(groups.map((g) => g.key), ['k7', 'k6', 'k5']);
      await store.commit(app(), { activities: acts, entries: acts.slice(0, 4).map((a) => place('aggregated:h', a, 'same', 'ann', limits)) });
      const [same] = await store.readGroups(app(), 'aggregated:h', { limit: 10, offset: 0, perGroup: 10 });
      assert.equal(same.activityCount, 4);
      assert.deepEqual(same.entries.map((e) => e.id), [acts[3].id, acts[2].id]);
      assert.equal(same.createdUs, 3000);
    });

    test('removing activities updates their groups and drops empty ones', async () => {
      const acts = Array.from({ length: 3 }, (_, i) => act(1000 * (i + 1), 'user:a'));
      await store.commit(app(), {
        activities: acts,
        entries: [place('notification:n', acts[0], 'a', 'ann'), place('notification:n', acts[1], 'a', 'bob'), place('notification:n', acts[2], 'b', 'cat')],
      });
      await store.commit(app(), { removals: [{ feed: 'notification:n', ids: [acts[1].id, acts[2].id] }] });
      const groups = await store.readGroups(app(), 'notification:n', { limit: 10, offset: 0, perGroup: 10 });
      assert.equal(groups.length, 1);
      assert.equal(groups[0].activityCount, 1);
      assert.equal(groups[0].updatedUs, 1000);
      assert.deepEqual(await store.groupCounts(app(), 'notification:n'), { unseen: 1, unread: 1 });
    });

    test('counts followers, turns a feed to pull past the threshold for good, and merges it into reads', async () => {
      const star = Array.from({ length: 4 }, (_, i) => act(1000 * (2 * i + 1), 'user:star'));
      const own = Array.from({ length: 3 }, (_, i) => act(1000 * (2 * i + 2), 'timeline:fan'));
      const follow = (source: string) => ({ source, target: 'user:star', createdUs: 1, pullAbove: 2, grouped: source.startsWith('aggregated:') });
      await store.commit(app(), {
        activities: [...star, ...own],
        entries: [
          ...star.map((a) => ({ feed: 'user:star', id: a.id, origin: null, maxLength: 100 })),
          // One entry the star received through a follow: not direct, never merged in.
          { feed: 'user:star', id: own[0].id, origin: 'user:other', maxLength: 100 },
          ...own.map((a) => ({ feed: 'timeline:fan', id: a.id, origin: null, maxLength: 100 })),
          // A copy pushed before the star turned to pull: merged once, keeping its entry.
          { feed: 'timeline:fan', id: star[0].id, origin: 'user:star', maxLength: 100 },
        ],
        follows: [follow('timeline:fan'), follow('aggregated:agg')],
      });
      assert.deepEqual([...(await store.pullServed(app(), ['user:star', 'timeline:fan']))], []);
      await store.commit(app(), { follows: [follow('timeline:other')] });
      assert.deepEqual([...(await store.pullServed(app(), ['user:star', 'timeline:fan']))], ['user:star']);
      await store.commit(app(), { unfollows: [{ source: 'timeline:other', target: 'user:star' }] });
      assert.deepEqual([...(await store.pullServed(app(), ['user:star']))], ['user:star'], 'the pull flag is sticky');
      const expected = [...star, ...own].sort((a, b) => b.timeUs - a.timeUs).map((a) => a.id);
      const all = await store.readTimeline(app(), 'timeline:fan', { limit: 100, offset: 0 });
      assert.deepEqual(all.map((e) => e.id), expected);
      assert.deepEqual(all.map((e) => e.origin), expected.map((id) => (star.some((a) => a.id === id) ? 'user:star' : null)));
      assert.deepEqual((await store.readTimeline(app(), 'timeline:fan', { limit: 3, offset: 2 })).map((e) => e.id), expected.slice(2, 5));
      assert.deepEqual(
        (await store.readTimeline(app(), 'timeline:fan', { limit: 2, offset: 0, idLt: expected[3] })).map((e) => e.id),
        expected.slice(4, 6),
      );
      assert.deepEqual((await store.readFeed(app(), 'timeline:fan', { limit: 100, offset: 0 })).length, 4, 'readFeed does not merge');
      assert.deepEqual(await store.followersAmong(app(), 'user:star', ['timeline:fan', 'timeline:other', 'timeline:x']), ['timeline:fan']);
      const page = await store.followerPage(app(), 'user:star', null, 10, true);
      assert.deepEqual(page.feeds, ['aggregated:agg']);
    });

    test('merges every pull-served feed a feed follows, exactly, under any bounds, offset and limit', async () => {
      // pullAbove 0: one follower is enough to turn a feed to pull.
      const follow = (source: string, target: string, pullAbove?: number) => ({ source, target, createdUs: 1, pullAbove });
      const direct = (feed: string, a: ActivityRecord) => ({ feed, id: a.id, origin: null, maxLength: 100 });
      const s1 = Array.from({ length: 7 }, (_, i) => act(1000 * (3 * i + 1), 'user:s1'));
      const s2 = Array.from({ length: 7 }, (_, i) => act(1000 * (3 * i + 2), 'user:s2'));
      const own = Array.from({ length: 5 }, (_, i) => act(1000 * (3 * i + 3), 'timeline:r'));
      const pushedFriend = act(500, 'user:friend');
      const shared = act(30_000, 'user:s1', { to: ['user:s2'] });
      const unfollowed = Array.from({ length: 3 }, (_, i) => act(1000 * (4 * i) + 250, 'user:gone'));
      // Many other pull-served feeds the reader does not follow.
      const others = Array.from({ length: 300 }, (_, i) => `user:o${i}`);
      await store.commit(app(), {
        activities: [...s1, ...s2, ...own, pushedFriend, shared, ...unfollowed],
        entries: [
          ...s1.map((a) => direct('user:s1', a)),
          ...s2.map((a) => direct('user:s2', a)),
          ...unfollowed.map((a) => direct('user:gone', a)),
          direct('user:s1', shared),
          direct('user:s2', shared),
          // Not direct in s1 (it came to s1 through a follow): never merged.
          { feed: 'user:s1', id: pushedFriend.id, origin: 'user:friend', maxLength: 100 },
          ...own.map((a) => direct('timeline:r', a)),
          // s2's first activity was pushed before s2 turned to pull; s1's third is also a direct entry.
          { feed: 'timeline:r', id: s2[0].id, origin: 'user:s2', maxLength: 100 },
          direct('timeline:r', s1[2]),
        ],
        follows: [
          follow('timeline:r', 'user:s1', 0),
          follow('timeline:r', 'user:s2', 0),
          follow('timeline:r', 'user:gone', 0),
          follow('timeline:r', 'user:friend'),
          ...others.map((o) => follow('timeline:x', o, 0)),
        ],
      });
      assert.deepEqual(
        [...(await store.pullServed(app(), ['user:s1', 'user:s2', 'user:gone', 'user:friend', 'timeline:r']))].sort(),
        ['user:gone', 'user:s1', 'user:s2'],
      );
      await store.commit(app(), { unfollows: [{ source: 'timeline:r', target: 'user:gone' }] });

      const key = (id: string) => idToSortKey(id).toString('hex');
      const originOf = new Map<string, string | null>([
        ...s1.map((a) => [a.id, 'user:s1'] as const),
        ...s2.map((a) => [a.id, 'user:s2'] as const),
        ...own.map((a) => [a.id, null] as const),
        [s1[2].id, null],
      ]);
      const expected = [...originOf.keys(), shared.id].sort((a, b) => (key(a) > key(b) ? -1 : 1));
      const all = await store.readTimeline(app(), 'timeline:r', { limit: 100, offset: 0 });
      assert.deepEqual(all.map((e) => e.id), expected);
      for (const e of all) {
        if (e.id === shared.id) assert.ok(e.origin === 'user:s1' || e.origin === 'user:s2', 'one of the feeds it came from');
        else assert.equal(e.origin, originOf.get(e.id), e.id);
      }
      const ops = {
        idLt: (x: string, p: string) => x < p,
        idLte: (x: string, p: string) => x <= p,
        idGt: (x: string, p: string) => x > p,
        idGte: (x: string, p: string) => x >= p,
      };
      for (const pivot of [expected[0], expected[3], expected[9], expected[expected.length - 1], act(7500, 'user:none').id]) {
        for (const [op, keep] of Object.entries(ops)) {
          const within = expected.filter((id) => keep(key(id), key(pivot)));
          for (const [limit, offset] of [[1, 0], [3, 0], [3, 2], [4, 5], [100, 0], [2, 30]]) {
            const got = await store.readTimeline(app(), 'timeline:r', { limit, offset, [op]: pivot });
            assert.deepEqual(got.map((e) => e.id), within.slice(offset, offset + limit), `${op} ${pivot} ${limit}/${offset}`);
          }
        }
      }
      for (let offset = 0; offset <= expected.length; offset++) {
        const got = await store.readTimeline(app(), 'timeline:r', { limit: 2, offset });
        assert.deepEqual(got.map((e) => e.id), expected.slice(offset, offset + 2), `offset ${offset}`);
      }
      // A feed that follows nothing pull-served reads exactly like readFeed.
      assert.deepEqual(
        await store.readTimeline(app(), 'user:s1', { limit: 100, offset: 0 }),
        await store.readFeed(app(), 'user:s1', { limit: 100, offset: 0 }),
      );
    });

    test('hides pulled entries from one reader, pages around them, and forgets hides on follow and on removal at home', async () => {
      const follow = (source: string, since?: { id: string } | null) => ({ source, target: 'user:star', createdUs: 1, pullAbove: 0, since });
      const star = Array.from({ length: 8 }, (_, i) => act(1000 * (2 * i + 1), 'user:star', { foreignId: i < 2 ? 'tag' : `s${i}` }));
      const own = Array.from({ length: 4 }, (_, i) => act(1000 * (4 * i + 2), 'timeline:r'));
      await store.commit(app(), {
        activities: [...star, ...own],
        entries: [
          ...star.map((a) => ({ feed: 'user:star', id: a.id, origin: null, maxLength: 100 })),
          ...own.map((a) => ({ feed: 'timeline:r', id: a.id, origin: null, maxLength: 100 })),
          // A copy pushed before the star turned to pull.
          { feed: 'timeline:r', id: star[7].id, origin: 'user:star', maxLength: 100 },
        ],
        follows: [follow('timeline:r'), follow('timeline:q')],
      });
      const ids = (list: readonly { id: string }[]) => list.map((e) => e.id);
      const newest = (list: readonly ActivityRecord[]) => [...list].sort((a, b) => b.timeUs - a.timeUs).map((a) => a.id);
      // Pulled entries are found by id and by foreign id, with origin, whether or not also stored.
      assert.deepEqual(
        (await store.pulledEntriesOf(app(), 'timeline:r', { ids: [star[7].id, star[3].id, own[0].id] })).sort((a, b) => (a.id < b.id ? -1 : 1)),
        [star[7], star[3]].map((a) => ({ id: a.id, origin: 'user:star' })).sort((a, b) => (a.id < b.id ? -1 : 1)),
      );
      assert.deepEqual(new Set(ids(await store.pulledEntriesOf(app(), 'timeline:r', { foreignId: 'tag' }))), new Set([star[0].id, star[1].id]));
      assert.deepEqual(await store.pulledEntriesOf(app(), 'timeline:x', { ids: [star[3].id] }), [], 'not a follower');

      const hidden = [star[1], star[3], star[4], star[7]];
      await store.commit(app(), { removals: [{ feed: 'timeline:r', ids: [star[7].id] }], hides: [{ feed: 'timeline:r', ids: ids(hidden) }] });
      const visible = newest([...star, ...own].filter((a) => !hidden.includes(a)));
      assert.deepEqual(ids(await store.readTimeline(app(), 'timeline:r', { limit: 100, offset: 0 })), visible);
      assert.deepEqual(ids(await store.readTimeline(app(), 'timeline:q', { limit: 100, offset: 0 })), newest(star), 'another reader sees all');
      assert.deepEqual(await store.pulledEntriesOf(app(), 'timeline:r', { ids: ids(hidden) }), [], 'hidden ones are not shown');
      for (let offset = 0; offset <= visible.length; offset++) {
        assert.deepEqual(ids(await store.readTimeline(app(), 'timeline:r', { limit: 3, offset })), visible.slice(offset, offset + 3), `offset ${offset}`);
      }
      const key = (id: string) => idToSortKey(id).toString('hex');
      for (const pivot of [star[4].id, star[3].id, own[1].id]) {
        const below = visible.filter((id) => key(id) < key(pivot));
        assert.deepEqual(ids(await store.readTimeline(app(), 'timeline:r', { limit: 2, offset: 1, idLt: pivot })), below.slice(1, 3));
        const pages = await store.readTimelinePage(app(), 'timeline:r', { limit: 100, offset: 0, idLte: pivot });
        assert.deepEqual(ids(pages), visible.filter((id) => key(id) <= key(pivot)));
      }

      // Following again with a bound forgets the hides of what that follow would copy again.
      await store.commit(app(), { follows: [follow('timeline:r', { id: star[4].id })] });
      assert.deepEqual(
        ids(await store.readTimeline(app(), 'timeline:r', { limit: 100, offset: 0 })),
        newest([...star, ...own].filter((a) => a !== star[1] && a !== star[3])),
      );
      // Removal at home (the activity is gone from the star): every hide of it is forgotten.
      await store.commit(app(), { removals: [{ feed: 'user:star', ids: [star[3].id] }], unhides: [star[3].id] });
      await store.commit(app(), { entries: [{ feed: 'user:star', id: star[3].id, origin: null, maxLength: 100 }] });
      assert.deepEqual(ids(await store.readTimeline(app(), 'timeline:r', { limit: 100, offset: 0 })), newest([...star, ...own].filter((a) => a !== star[1])));
    });

    test('cuts merged reads to the reader\'s max length and keeps a floor after a removal', async () => {
      const star = Array.from({ length: 6 }, (_, i) => act(1000 * (2 * i + 1), 'user:star'));
      const own = Array.from({ length: 3 }, (_, i) => act(1000 * (2 * i + 2), 'timeline:r'));
      await store.commit(app(), {
        activities: [...star, ...own],
        entries: [
          ...star.map((a) => ({ feed: 'user:star', id: a.id, origin: null, maxLength: 100 })),
          ...own.map((a) => ({ feed: 'timeline:r', id: a.id, origin: null, maxLength: 100 })),
        ],
        follows: [{ source: 'timeline:r', target: 'user:star', createdUs: 1, pullAbove: 0 }],
      });
      const ids = (list: readonly { id: string }[]) => list.map((e) => e.id);
      const all = [...star, ...own].sort((a, b) => b.timeUs - a.timeUs).map((a) => a.id);
      const key = (id: string) => idToSortKey(id).toString('hex');
      assert.equal(all.length, 9);
      for (const max of [1, 4, 8, 9, 20]) {
        const kept = all.slice(0, max);
        assert.deepEqual(ids(await store.readTimeline(app(), 'timeline:r', { limit: 100, offset: 0, maxLength: max })), kept, `max ${max}`);
        assert.deepEqual(ids(await store.readTimeline(app(), 'timeline:r', { limit: 2, offset: 3, maxLength: max })), kept.slice(3, 5), `max ${max} offset`);
        for (const pivot of [all[0], all[2], all[5], all[8]]) {
          assert.deepEqual(
            ids(await store.readTimelinePage(app(), 'timeline:r', { limit: 2, offset: 1, idLt: pivot, maxLength: max })),
            kept.filter((id) => key(id) < key(pivot)).slice(1, 3),
            `max ${max} idLt ${pivot}`,
          );
          assert.deepEqual(
            ids(await store.readTimeline(app(), 'timeline:r', { limit: 100, offset: 0, idLte: pivot, idGt: all[7], maxLength: max })),
            kept.filter((id) => key(id) <= key(pivot) && key(id) > key(all[7])),
          );
          // Both upper bounds: the lower one counts.
          assert.deepEqual(
            ids(await store.readTimeline(app(), 'timeline:r', { limit: 100, offset: 1, idLt: pivot, idLte: all[4], maxLength: max })),
            kept.filter((id) => key(id) < key(pivot) && key(id) <= key(all[4])).slice(1),
          );
        }
        assert.equal(await store.oldestKept(app(), 'timeline:r', max), max < 9 ? all[max - 1] : null, `oldest kept of ${max}`);
      }
      assert.equal(await store.oldestKept(app(), 'user:star', 2), null, 'follows nothing pull-served');
      // A floor: nothing older than it shows, even with room below max length.
      // all[1] is the star's: hidden, as a follower's removal does.
      await store.commit(app(), { hides: [{ feed: 'timeline:r', ids: [all[1]], floor: all[4] }] });
      const left = [all[0], all[2], all[3], all[4]];
      assert.deepEqual(ids(await store.readTimeline(app(), 'timeline:r', { limit: 100, offset: 0, maxLength: 5 })), left);
      assert.deepEqual(ids(await store.readTimeline(app(), 'timeline:r', { limit: 100, offset: 0, idLt: all[2] })), left.slice(2));
      // A floor never goes down.
      await store.commit(app(), { hides: [{ feed: 'timeline:r', ids: [], floor: all[6] }] });
      assert.deepEqual(ids(await store.readTimeline(app(), 'timeline:r', { limit: 100, offset: 0 })), left);
    });

    test('syncs grouped marks of follow edges with the configured group types', async () => {
      await store.commit(app(), {
        follows: [
          { source: 'aggregated:a', target: 'user:star', createdUs: 1 },
          { source: 'timeline:t', target: 'user:star', createdUs: 2, grouped: true },
        ],
      });
      assert.deepEqual((await store.followerPage(app(), 'user:star', null, 10, true)).feeds, ['timeline:t']);
      await store.syncGroupedEdges(app(), ['aggregated', 'notification']);
      assert.deepEqual((await store.followerPage(app(), 'user:star', null, 10, true)).feeds, ['aggregated:a']);
      await store.syncGroupedEdges(app(), []);
      assert.deepEqual((await store.followerPage(app(), 'user:star', null, 10, true)).feeds, []);
    });

    test('reads a timeline page with each activity body in one call', async () => {
      const acts = Array.from({ length: 5 }, (_, i) => act(1000 * (i + 1), 'user:a'));
      await store.commit(app(), {
        activities: acts,
        entries: acts.map((a, i) => ({ feed: 'timeline:t', id: a.id, origin: i % 2 ? 'user:a' : null, maxLength: 100 })),
      });
      const page = await store.readTimelinePage(app(), 'timeline:t', { limit: 3, offset: 1 });
      const expected = [...acts].reverse().slice(1, 4);
      assert.deepEqual(page, expected.map((a) => ({ id: a.id, origin: acts.indexOf(a) % 2 ? 'user:a' : null, body: a.body })));
      assert.deepEqual(await store.readTimelinePage(app(), 'timeline:none', { limit: 3, offset: 0 }), []);
    });

    test('applies nothing of a batch that fails', async () => {
      const a = act(1000, 'user:a');
      await assert.rejects(
        store.commit(app(), {
          activities: [a],
          entries: [{ feed: 'user:a', id: a.id, origin: null, maxLength: 10 }],
          // An id that is not a UUID cannot be stored: the whole batch must roll back.
          removals: [{ feed: 'user:a', ids: ['not-an-id'] }],
        }),
      );
      assert.equal((await store.getActivities(app(), [a.id])).size, 0);
      assert.deepEqual(await store.readFeed(app(), 'user:a', { limit: 10, offset: 0 }), []);
    });
  });
}
