// Black-box tests of aggregated and notification feeds (stream-v2-api.md §5.2, §6.3, §7, §23.3)
// through the official getstream client. Every expected group is computed here, from the
// activities the test wrote and a grouping function written in the test for each format; nothing
// is imported from the server's aggregation code.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StreamClient, StreamFeed } from 'getstream';
import { rawRequest, startServer, uid, type TestServer } from '../support/server.js';
import { ACTIVITY_TIME_RE, assertActivityKeys, assertRawError, DURATION_RE, expectApiError } from './activity-helpers.js';

type Act = Record<string, any> & { id: string; actor: string; verb: string; object: string; time: string; origin: string | null };
type Group = {
  id: string;
  group: string;
  verb: string;
  activities: Act[];
  activity_count: number;
  actor_count: number;
  created_at: string;
  updated_at: string;
  is_seen?: boolean;
  is_read?: boolean;
};

/** Activities listed per group in a read, retained per group, and groups kept per feed (§23.2). */
const LISTED = 15;
const RETAINED = 100;
const MAX_GROUPS = 1000;

const GROUP_KEYS = ['activities', 'activity_count', 'actor_count', 'created_at', 'group', 'id', 'updated_at', 'verb'];
const NOTIFICATION_GROUP_KEYS = [...GROUP_KEYS, 'is_read', 'is_seen'].sort();

const IF_FORMAT =
  "{% if verb == 'follow' %}follows{% else %}{% if target %}{{ verb }}_on_{{ target }}" +
  "{% else %}{{ verb }}_{{ time.strftime('%Y-%m-%d') }}{% endif %}{% endif %}";

const GROUPS = [
  { name: 'user', type: 'flat' as const },
  { name: 'timeline', type: 'flat' as const },
  { name: 'aggregated', type: 'aggregated' as const },
  { name: 'notification', type: 'notification' as const },
  { name: 'by_actor', type: 'aggregated' as const, aggregation_format: '{{ actor }}' },
  { name: 'by_object', type: 'aggregated' as const, aggregation_format: '{{ verb }}_{{ object }}' },
  { name: 'by_feed', type: 'aggregated' as const, aggregation_format: '{{ feed.group }}/{{ feed.user_id }}/{{ verb }}' },
  { name: 'by_custom', type: 'aggregated' as const, aggregation_format: '{{ topic }}:{{ meta.lang }}' },
  { name: 'by_if', type: 'notification' as const, aggregation_format: IF_FORMAT },
  { name: 'by_hour', type: 'aggregated' as const, aggregation_format: "{{ verb }}-{{ time.strftime('%Y%m%d %H') }}h" },
  { name: 'public_notif', type: 'notification' as const, public: true },
];

// ---------------------------------------------------------------------------------------------
// The model: grouping written independently of the server.

/** UTC day of a stored activity time (`YYYY-MM-DDTHH:MM:SS.ffffff`, no zone = UTC). */
const day = (a: Act) => a.time.slice(0, 10);

type KeyFn = (a: Act, feed: { slug: string; uid: string }) => string;

/** One grouping function per configured format, written from the format's meaning. */
const KEY_OF: Record<string, KeyFn> = {
  aggregated: (a) => `${a.verb}_${day(a)}`,
  notification: (a) => `${a.verb}_${day(a)}`,
  public_notif: (a) => `${a.verb}_${day(a)}`,
  by_actor: (a) => a.actor,
  by_object: (a) => `${a.verb}_${a.object}`,
  by_feed: (a, f) => `${f.slug}/${f.uid}/${a.verb}`,
  by_custom: (a) => `${a.topic ?? ''}:${a.meta?.lang ?? ''}`,
  by_if: (a) => (a.verb === 'follow' ? 'follows' : a.target ? `${a.verb}_on_${a.target}` : `${a.verb}_${day(a)}`),
  by_hour: (a) => `${a.verb}-${a.time.slice(0, 4)}${a.time.slice(5, 7)}${a.time.slice(8, 10)} ${a.time.slice(11, 13)}h`,
};

/** The sortable form of a version-1 UUID: time (hi, mid, low), then clock sequence and node (§4.2). */
function idKey(id: string): string {
  return id.slice(14, 18) + id.slice(9, 13) + id.slice(0, 8) + id.slice(19, 23) + id.slice(24, 36);
}

function newestFirst(a: { id: string }, b: { id: string }): number {
  const x = idKey(a.id);
  const y = idKey(b.id);
  return x > y ? -1 : x < y ? 1 : 0;
}

interface Expected {
  key: string;
  /** Every activity of the group, newest first. */
  acts: Act[];
}

/** Groups `acts` (the activities of one feed) by `keyOf`, each newest first; order not yet known. */
function model(acts: readonly Act[], keyOf: (a: Act) => string): Expected[] {
  const byKey = new Map<string, Act[]>();
  for (const a of acts) {
    const k = keyOf(a);
    let list = byKey.get(k);
    if (!list) byKey.set(k, (list = []));
    list.push(a);
  }
  return [...byKey].map(([key, list]) => ({ key, acts: list.sort(newestFirst) }));
}

/**
 * Orders modelled groups as §23.3 says: newest activity time descending, ties by group id
 * descending. Group ids are opaque, so ties are broken with the ids the server reported.
 */
function ordered(groups: Expected[], idOf: (key: string) => string | undefined): Expected[] {
  return [...groups].sort((a, b) => {
    const ta = a.acts[0].time;
    const tb = b.acts[0].time;
    if (ta !== tb) return ta > tb ? -1 : 1;
    return newestFirst({ id: idOf(a.key) ?? '' }, { id: idOf(b.key) ?? '' });
  });
}

/** Expected groups of a feed of group `slug` holding `acts`, in feed order. */
function expectedFeed(slug: string, feedUid: string, acts: readonly Act[], actual: readonly Group[] = []): Expected[] {
  const keyOf = KEY_OF[slug];
  const ids = new Map(actual.map((g) => [g.group, g.id]));
  return ordered(model(acts, (a) => keyOf(a, { slug, uid: feedUid })), (k) => ids.get(k));
}

/**
 * An activity from an `enrich/` read (the client picks it for user tokens) with its actor
 * reference put back: the actors here have no user objects, so enrichment shows them in the
 * reference-not-found form (§9.1).
 */
function unenriched<T extends Record<string, any>>(a: T): T {
  if (typeof a.actor !== 'object' || a.actor === null) return a;
  assert.equal(a.actor.error, 'ReferenceNotFound');
  assert.equal(typeof a.actor.reference, 'string');
  return { ...a, actor: a.actor.reference };
}

/** Asserts one group's exact shape (§5.2) against its model. */
function assertGroup(g: Group, exp: Expected, notification: boolean, origin?: (a: Act) => string | null): void {
  const where = `group ${exp.key}`;
  assert.deepEqual(Object.keys(g).sort(), notification ? NOTIFICATION_GROUP_KEYS : GROUP_KEYS, where);
  assert.equal(g.group, exp.key, where);
  assert.equal(typeof g.id, 'string');
  assert.ok(g.id.length > 0, where);
  assert.deepEqual(
    g.activities.map((a) => a.id),
    exp.acts.slice(0, LISTED).map((a) => a.id),
    `${where}: the newest ${LISTED} activities, newest first`,
  );
  assert.equal(g.activity_count, exp.acts.length, `${where}: activity_count counts every activity`);
  assert.equal(g.actor_count, new Set(exp.acts.map((a) => a.actor)).size, `${where}: actor_count`);
  assert.equal(g.verb, exp.acts[0].verb, `${where}: verb of the newest activity`);
  assert.match(g.created_at, ACTIVITY_TIME_RE);
  assert.match(g.updated_at, ACTIVITY_TIME_RE);
  assert.equal(g.updated_at, exp.acts[0].time, `${where}: updated_at = newest activity time`);
  assert.equal(g.created_at, exp.acts[Math.min(exp.acts.length, RETAINED) - 1].time, `${where}: created_at = oldest retained time`);
  for (const a of g.activities) {
    const src = exp.acts.find((x) => x.id === a.id)!;
    const { origin: _got, ...stored } = unenriched(a);
    const { origin: _want, ...want } = src;
    assert.deepEqual(stored, want, `${where}: activity ${a.id} is the stored activity`);
    if (origin !== undefined) assert.equal(a.origin, origin(src), `${where}: origin of ${a.id}`);
  }
}

/** Asserts a feed's groups equal the model: keys, order, membership, counts, shape. */
function assertFeed(results: Group[], exp: Expected[], notification: boolean, origin?: (a: Act) => string | null): void {
  assert.deepEqual(
    results.map((g) => g.group),
    exp.map((e) => e.key),
    'group keys in order (updated_at desc, then id desc)',
  );
  results.forEach((g, i) => assertGroup(g, exp[i], notification, origin));
  assert.equal(new Set(results.map((g) => g.id)).size, results.length, 'group ids are unique in a feed');
}

// ---------------------------------------------------------------------------------------------
// Reading.

/** The query of a `next` link, as options for `feed.get`. */
function nextOptions(next: string, feed: StreamFeed, enrich = false): Record<string, any> {
  assert.ok(next.startsWith(`/api/v1.0/${enrich ? 'enrich/' : ''}feed/${feed.slug}/${feed.userId}/?`), `next link ${next}`);
  const q = Object.fromEntries(new URL(next, 'http://x').searchParams);
  const opts: Record<string, any> = { ...q };
  if (q.limit !== undefined) opts.limit = Number(q.limit);
  if (q.offset !== undefined) opts.offset = Number(q.offset);
  return opts;
}

/** Every group of a feed, following `next` from a first read of `limit` groups. */
async function readAllGroups(feed: StreamFeed, limit = 100): Promise<{ groups: Group[]; pages: any[] }> {
  const groups: Group[] = [];
  const pages: any[] = [];
  let opts: Record<string, any> = { limit };
  for (let i = 0; i < 1000; i++) {
    const res = (await feed.get(opts)) as any;
    pages.push(res);
    groups.push(...res.results);
    if (res.next === '') return { groups, pages };
    opts = nextOptions(res.next, feed);
  }
  throw new Error('paging did not end');
}

async function groupsOf(feed: StreamFeed): Promise<Group[]> {
  return (await readAllGroups(feed)).groups;
}

/** Times: `at(2, 10, 30)` is 2024-05-02 10:30 UTC as the JS client sends it (ISO with Z). */
function at(dayOfMay: number, hour = 12, minute = 0, second = 0, ms = 0): string {
  return new Date(Date.UTC(2024, 4, dayOfMay, hour, minute, second, ms)).toISOString();
}

async function addMany(feed: StreamFeed, acts: Record<string, unknown>[]): Promise<Act[]> {
  const out: Act[] = [];
  for (let i = 0; i < acts.length; i += 100) {
    const res = (await feed.addActivities(acts.slice(i, i + 100) as any)) as unknown as { activities: Act[] };
    out.push(...res.activities);
  }
  return out;
}

async function addOne(feed: StreamFeed, act: Record<string, unknown>): Promise<Act> {
  const res = (await feed.addActivity(act as any)) as unknown as Act & { duration: string };
  const { duration: _d, ...stored } = res;
  return stored as Act;
}

// ---------------------------------------------------------------------------------------------

describe('aggregated feeds', () => {
  let t: TestServer;
  let client: StreamClient;
  before(async () => {
    t = await startServer({ groups: GROUPS });
    client = t.client();
  });
  after(async () => t.close());

  describe('aggregation formats', () => {
    it('default format: verb and UTC day, whatever order the activities arrive in', async () => {
      const feed = client.feed('aggregated', uid('agg'));
      const acts = await addMany(feed, [
        { actor: 'SU:ann', verb: 'like', object: 'o:1', time: at(2, 9) },
        { actor: 'SU:bob', verb: 'like', object: 'o:2', time: at(1, 23, 59, 59, 999) },
        { actor: 'SU:ann', verb: 'post', object: 'o:3', time: at(2, 0, 0, 0, 0) },
        { actor: 'SU:cat', verb: 'like', object: 'o:4', time: at(2, 23, 59) },
        { actor: 'SU:bob', verb: 'comment', object: 'o:5', time: at(3, 1) },
        // 01:30 at +02:00 is the previous UTC day.
        { actor: 'SU:dan', verb: 'like', object: 'o:6', time: '2024-05-02T01:30:00+02:00' },
        { actor: 'SU:ann', verb: 'post', object: 'o:7', time: at(1, 8) },
        { actor: 'SU:ann', verb: 'like', object: 'o:8', time: at(2, 10) },
      ]);
      assert.equal(acts[5].time, '2024-05-01T23:30:00.000000');
      const res = (await feed.get({ limit: 25 })) as any;
      assert.deepEqual(Object.keys(res).sort(), ['duration', 'next', 'results']);
      assert.match(res.duration, DURATION_RE);
      assert.equal(res.next, '');
      const exp = expectedFeed('aggregated', feed.userId, acts, res.results);
      assert.deepEqual(
        exp.map((e) => e.key),
        ['comment_2024-05-03', 'like_2024-05-02', 'post_2024-05-02', 'like_2024-05-01', 'post_2024-05-01'],
      );
      assertFeed(res.results, exp, false, () => null);
      const likes2 = res.results.find((g: Group) => g.group === 'like_2024-05-02');
      assert.equal(likes2.activity_count, 3);
      assert.equal(likes2.actor_count, 2);
      assert.equal(likes2.created_at, '2024-05-02T09:00:00.000000');
      assert.equal(likes2.updated_at, '2024-05-02T23:59:00.000000');
    });

    it('{{ actor }} groups by actor; the group verb is the newest activity\'s', async () => {
      const feed = client.feed('by_actor', uid('agg'));
      const acts = await addMany(feed, [
        { actor: 'SU:ann', verb: 'like', object: 'o:1', time: at(1, 1) },
        { actor: 'SU:bob', verb: 'post', object: 'o:2', time: at(1, 2) },
        { actor: 'SU:ann', verb: 'comment', object: 'o:3', time: at(1, 3) },
        { actor: 'SU:cat', verb: 'like', object: 'o:4', time: at(5, 3) },
        { actor: 'SU:bob', verb: 'share', object: 'o:5', time: at(2, 3) },
      ]);
      const got = await groupsOf(feed);
      const exp = expectedFeed('by_actor', feed.userId, acts, got);
      assert.deepEqual(exp.map((e) => e.key), ['SU:cat', 'SU:bob', 'SU:ann']);
      assertFeed(got, exp, false);
      assert.equal(got.find((g) => g.group === 'SU:ann')!.verb, 'comment');
      assert.equal(got.find((g) => g.group === 'SU:bob')!.verb, 'share');
    });

    it('{{ verb }}_{{ object }} groups across days', async () => {
      const feed = client.feed('by_object', uid('agg'));
      const acts = await addMany(
        feed,
        Array.from({ length: 24 }, (_, i) => ({
          actor: `SU:user${i % 5}`,
          verb: ['like', 'comment'][i % 2],
          object: `post:${i % 3}`,
          time: at(1 + (i % 4), i % 24, i),
        })),
      );
      const got = await groupsOf(feed);
      const exp = expectedFeed('by_object', feed.userId, acts, got);
      assert.equal(exp.length, 6);
      assertFeed(got, exp, false);
    });

    it('{{ feed.group }}/{{ feed.user_id }}: one activity gets a different key in every feed it reaches', async () => {
      const author = client.feed('user', uid('author'));
      const x = client.feed('by_feed', uid('x'));
      const y = client.feed('by_feed', uid('y'));
      const follower = client.feed('by_feed', uid('f'));
      await follower.follow('user', author.userId);
      const a = await addOne(author, { actor: 'SU:au', verb: 'post', object: 'o:1', to: [x.id, y.id] });
      const b = await addOne(author, { actor: 'SU:au', verb: 'like', object: 'o:2', to: [x.id] });
      const c = await addOne(x, { actor: 'SU:x', verb: 'post', object: 'o:3' });
      for (const [feed, acts] of [
        [x, [a, b, c]],
        [y, [a]],
        [follower, [a, b]],
      ] as const) {
        const got = await groupsOf(feed);
        const exp = expectedFeed('by_feed', feed.userId, acts, got);
        assertFeed(got, exp, false, () => (feed === follower ? author.id : null));
        for (const g of got) assert.ok(g.group.startsWith(`by_feed/${feed.userId}/`), g.group);
      }
    });

    it('custom fields, nested with dots; a missing field renders empty', async () => {
      const feed = client.feed('by_custom', uid('agg'));
      const acts = await addMany(feed, [
        { actor: 'SU:a', verb: 'post', object: 'o:1', topic: 'sports', meta: { lang: 'en' }, time: at(1, 1) },
        { actor: 'SU:b', verb: 'post', object: 'o:2', topic: 'sports', meta: { lang: 'de' }, time: at(1, 2) },
        { actor: 'SU:c', verb: 'like', object: 'o:3', topic: 'sports', meta: { lang: 'en' }, time: at(1, 3) },
        { actor: 'SU:d', verb: 'post', object: 'o:4', meta: { lang: 'en' }, time: at(1, 4) },
        { actor: 'SU:e', verb: 'post', object: 'o:5', topic: 'news', time: at(1, 5) },
        { actor: 'SU:f', verb: 'post', object: 'o:6', topic: 'news', meta: {}, time: at(1, 6) },
        { actor: 'SU:g', verb: 'post', object: 'o:7', time: at(1, 7) },
        { actor: 'SU:h', verb: 'post', object: 'o:8', topic: 7, time: at(1, 8) },
      ]);
      const got = await groupsOf(feed);
      const exp = expectedFeed('by_custom', feed.userId, acts, got);
      assert.deepEqual(exp.map((e) => e.key).sort(), [':', ':en', '7:', 'news:', 'sports:de', 'sports:en'].sort());
      assertFeed(got, exp, false);
    });

    it('{% if %} formats, on a notification feed', async () => {
      const feed = client.feed('by_if', uid('n'));
      const acts = await addMany(feed, [
        { actor: 'SU:a', verb: 'follow', object: 'SU:me', time: at(1, 1) },
        { actor: 'SU:b', verb: 'follow', object: 'SU:me', time: at(3, 1) },
        { actor: 'SU:c', verb: 'like', object: 'o:1', target: 'board:1', time: at(1, 2) },
        { actor: 'SU:d', verb: 'like', object: 'o:2', target: 'board:1', time: at(2, 2) },
        { actor: 'SU:e', verb: 'like', object: 'o:3', time: at(2, 3) },
        { actor: 'SU:f', verb: 'like', object: 'o:4', time: at(2, 4) },
        { actor: 'SU:g', verb: 'like', object: 'o:5', time: at(1, 4) },
        { actor: 'SU:h', verb: 'pin', object: 'o:6', target: 'board:2', time: at(1, 5) },
      ]);
      const res = (await feed.get()) as any;
      assert.deepEqual(Object.keys(res).sort(), ['duration', 'next', 'results', 'unread', 'unseen']);
      const exp = expectedFeed('by_if', feed.userId, acts, res.results);
      assert.deepEqual(exp.map((e) => e.key).sort(), ['follows', 'like_2024-05-01', 'like_2024-05-02', 'like_on_board:1', 'pin_on_board:2']);
      assertFeed(res.results, exp, true);
      assert.equal(res.unseen, 5);
      assert.equal(res.unread, 5);
      for (const g of res.results) assert.deepEqual([g.is_seen, g.is_read], [false, false]);
    });

    it('time.strftime with hours groups per UTC hour', async () => {
      const feed = client.feed('by_hour', uid('agg'));
      const acts = await addMany(feed, [
        { actor: 'SU:a', verb: 'run', object: 'o:1', time: at(1, 10, 0) },
        { actor: 'SU:a', verb: 'run', object: 'o:2', time: at(1, 10, 59, 59, 999) },
        { actor: 'SU:a', verb: 'run', object: 'o:3', time: at(1, 11, 0) },
        { actor: 'SU:a', verb: 'run', object: 'o:4', time: '2024-05-01T13:15:00+02:00' },
      ]);
      const got = await groupsOf(feed);
      const exp = expectedFeed('by_hour', feed.userId, acts, got);
      assert.deepEqual(exp.map((e) => e.key), ['run-20240501 11h', 'run-20240501 10h']);
      assertFeed(got, exp, false);
    });
  });

  describe('group shape and limits', () => {
    it('aggregated groups carry exactly the §5.2 keys and no seen/read state; responses have no counts', async () => {
      const feed = client.feed('aggregated', uid('agg'));
      const act = await addOne(feed, { actor: 'SU:a', verb: 'like', object: 'o:1', custom: { deep: [1, 2] }, to: [] });
      const res = (await feed.get({ mark_seen: true, mark_read: true })) as any;
      assert.deepEqual(Object.keys(res).sort(), ['duration', 'next', 'results']);
      assert.equal(res.results.length, 1);
      const g = res.results[0];
      assert.deepEqual(Object.keys(g).sort(), GROUP_KEYS);
      assertActivityKeys(g.activities[0], ['custom']);
      assert.deepEqual(g.activities[0].custom, { deep: [1, 2] });
      assert.equal(g.activities[0].origin, null);
      assert.equal(g.activities[0].id, act.id);
      assert.equal(g.created_at, act.time);
      assert.equal(g.updated_at, act.time);
    });

    it('the empty feed reads as no groups, next "" (and zero counts on notification feeds)', async () => {
      const agg = (await client.feed('aggregated', uid('empty')).get()) as any;
      assert.deepEqual([agg.results, agg.next], [[], '']);
      const n = (await client.feed('notification', uid('empty')).get()) as any;
      assert.deepEqual([n.results, n.next, n.unseen, n.unread], [[], '', 0, 0]);
    });

    it('lists the newest 15 activities of a group, while activity_count and actor_count count all', async () => {
      const feed = client.feed('aggregated', uid('agg'));
      const acts = await addMany(
        feed,
        Array.from({ length: 22 }, (_, i) => ({
          // The 5 oldest have actors of their own, so actor_count must look beyond the listed 15.
          actor: i < 5 ? `SU:early${i}` : `SU:late${i % 3}`,
          verb: 'like',
          object: `o:${i}`,
          time: at(7, 8, i),
        })),
      );
      const [g] = await groupsOf(feed);
      assert.equal(g.activities.length, LISTED);
      assert.equal(g.activity_count, 22);
      assert.equal(g.actor_count, 8);
      assertFeed([g], expectedFeed('aggregated', feed.userId, acts), false);
    });

    it('retains the newest 100 activities per group; activity_count keeps counting, created_at is the oldest retained', async () => {
      const feed = client.feed('aggregated', uid('agg'));
      const acts = await addMany(
        feed,
        Array.from({ length: 107 }, (_, i) => ({ actor: 'SU:a', verb: 'like', object: `o:${i}`, time: at(8, 0, 0, i) })),
      );
      const [g] = await groupsOf(feed);
      assert.equal(g.activity_count, 107);
      assert.equal(g.created_at, acts[7].time);
      assert.equal(g.updated_at, acts[106].time);
      assertFeed([g], expectedFeed('aggregated', feed.userId, acts), false);
    });

    it(`keeps at most ${MAX_GROUPS} groups, dropping the least recently updated`, async () => {
      const feed = client.feed('by_object', uid('many'));
      const n = MAX_GROUPS + 3;
      const acts = await addMany(
        feed,
        Array.from({ length: n }, (_, i) => ({ actor: 'SU:a', verb: 'v', object: `o:${i}`, time: at(9, 0, 0, 0, 0) }))
          // Times: i seconds after midnight, added in shuffled order so insertion order differs from time order.
          .map((a, i) => ({ ...a, time: new Date(Date.parse(a.time) + ((i * 7919) % n) * 1000).toISOString() })),
      );
      const got = await groupsOf(feed);
      assert.equal(got.length, MAX_GROUPS);
      // Which groups survive depends on when each was dropped; the newest 1000 by time always do,
      // because a group is only ever dropped when it is the least recently updated.
      const exp = expectedFeed('by_object', feed.userId, acts, got).slice(0, MAX_GROUPS);
      assertFeed(got, exp, false);
    });
  });

  describe('order across adds and removals', () => {
    it('an older group receiving a newer activity moves to the top; an older activity does not move it', async () => {
      const feed = client.feed('by_actor', uid('agg'));
      const acts = await addMany(feed, [
        { actor: 'SU:a', verb: 'post', object: 'o:1', time: at(1, 1) },
        { actor: 'SU:b', verb: 'post', object: 'o:2', time: at(1, 2) },
        { actor: 'SU:c', verb: 'post', object: 'o:3', time: at(1, 3) },
      ]);
      let got = await groupsOf(feed);
      assert.deepEqual(got.map((g) => g.group), ['SU:c', 'SU:b', 'SU:a']);
      const ids = new Map(got.map((g) => [g.group, g.id]));

      acts.push(await addOne(feed, { actor: 'SU:a', verb: 'like', object: 'o:4', time: at(1, 4) }));
      got = await groupsOf(feed);
      assert.deepEqual(got.map((g) => g.group), ['SU:a', 'SU:c', 'SU:b']);
      assertFeed(got, expectedFeed('by_actor', feed.userId, acts, got), false);

      // An activity older than the group's newest: counts and created_at change, not the order.
      acts.push(await addOne(feed, { actor: 'SU:b', verb: 'like', object: 'o:0', time: at(1, 0) }));
      got = await groupsOf(feed);
      assert.deepEqual(got.map((g) => g.group), ['SU:a', 'SU:c', 'SU:b']);
      assertFeed(got, expectedFeed('by_actor', feed.userId, acts, got), false);
      assert.equal(got[2].created_at, '2024-05-01T00:00:00.000000');
      assert.equal(got[2].updated_at, '2024-05-01T02:00:00.000000');
      assert.equal(got[2].verb, 'post', 'the verb stays the newest activity\'s');

      // Group ids are stable while the group exists.
      for (const g of got) assert.equal(g.id, ids.get(g.group));
    });

    it('groups whose newest activities have the same time are ordered by group id, descending', async () => {
      const feed = client.feed('by_actor', uid('agg'));
      const time = at(2, 2);
      const acts = await addMany(
        feed,
        ['a', 'b', 'c', 'd', 'e'].map((x) => ({ actor: `SU:${x}`, verb: 'post', object: `o:${x}`, time })),
      );
      const got = await groupsOf(feed);
      assert.equal(got.length, 5);
      const byId = [...got].sort((x, y) => newestFirst(x, y));
      assert.deepEqual(got.map((g) => g.id), byId.map((g) => g.id));
      assertFeed(got, expectedFeed('by_actor', feed.userId, acts, got), false);
      // Paging by group id walks through the tied groups once each.
      for (const limit of [1, 2, 4]) assert.deepEqual((await readAllGroups(feed, limit)).groups.map((g) => g.id), byId.map((g) => g.id));
      const lt = (await feed.get({ id_lt: got[1].id })).results as any;
      assert.deepEqual(lt.map((g: Group) => g.id), byId.slice(2).map((g) => g.id));
    });

    it('removals update counts, times, actors and verb, reorder, and drop empty groups', async () => {
      const feed = client.feed('by_actor', uid('agg'));
      let acts = await addMany(feed, [
        { actor: 'SU:a', verb: 'post', object: 'o:1', time: at(1, 1) },
        { actor: 'SU:b', verb: 'post', object: 'o:2', time: at(1, 2) },
        { actor: 'SU:a', verb: 'like', object: 'o:3', time: at(1, 3), foreign_id: 'fa:3' },
        { actor: 'SU:c', verb: 'post', object: 'o:4', time: at(1, 4), foreign_id: 'fc:4' },
        { actor: 'SU:b', verb: 'comment', object: 'o:5', time: at(1, 5) },
      ]);
      let got = await groupsOf(feed);
      assert.deepEqual(got.map((g) => g.group), ['SU:b', 'SU:c', 'SU:a']);

      const remove = async (id: string, byForeign = false) => {
        const res = (await (byForeign ? feed.removeActivity({ foreign_id: id }) : feed.removeActivity(id))) as any;
        assert.equal(res.removed, id);
        acts = acts.filter((a) => (byForeign ? a.foreign_id !== id : a.id !== id));
        got = await groupsOf(feed);
        assertFeed(got, expectedFeed('by_actor', feed.userId, acts, got), false);
      };
      // b's newest goes: b falls below c, its updated_at and verb go back.
      await remove(acts[4].id);
      assert.deepEqual(got.map((g) => g.group), ['SU:c', 'SU:a', 'SU:b']);
      assert.equal(got[2].updated_at, '2024-05-01T02:00:00.000000');
      assert.equal(got[2].verb, 'post');
      // c's only activity goes (by foreign id): the group disappears.
      await remove('fc:4', true);
      assert.deepEqual(got.map((g) => g.group), ['SU:a', 'SU:b']);
      // a's newest goes by foreign id.
      await remove('fa:3', true);
      assert.deepEqual(got.map((g) => g.group), ['SU:b', 'SU:a']);
      assert.equal(got[1].activity_count, 1);
      // Removing something absent changes nothing.
      const last = acts[0].id;
      await remove(last);
      assert.deepEqual(got.map((g) => g.group), ['SU:b']);
      await remove(last);
      assert.deepEqual(got.map((g) => g.group), ['SU:b']);
      await remove(acts[0].id);
      assert.deepEqual(got, []);
    });

    it('the group created by a removed activity survives with the others; re-adding that activity changed is no conflict', async () => {
      const feed = client.feed('notification', uid('n'));
      const first = await addOne(feed, { actor: 'SU:a', verb: 'like', object: 'o:1', foreign_id: 'f:1', time: at(3, 10) });
      const second = await addOne(feed, { actor: 'SU:b', verb: 'like', object: 'o:2', foreign_id: 'f:2', time: at(3, 11) });
      const [g0] = await groupsOf(feed);
      await feed.removeActivity(first.id);
      let got = await groupsOf(feed);
      assert.equal(got.length, 1);
      assert.equal(got[0].id, g0.id, 'the group keeps its id');
      assertFeed(got, expectedFeed('notification', feed.userId, [second], got), true);

      // Same foreign_id + time is the same activity (same id); its verb now puts it in another group.
      const again = await addOne(feed, { actor: 'SU:a', verb: 'comment', object: 'o:1', foreign_id: 'f:1', time: at(3, 10) });
      assert.equal(again.id, first.id);
      got = await groupsOf(feed);
      assertFeed(got, expectedFeed('notification', feed.userId, [second, again], got), true);
      assert.notEqual(got[0].id, got[1].id);
      // Both groups can be marked by id.
      await feed.get({ mark_read: [got[1].id] });
      const after = (await feed.get()) as any;
      assert.deepEqual(after.results.map((g: Group) => [g.group, g.is_read]), [
        ['like_2024-05-03', false],
        ['comment_2024-05-03', true],
      ]);
      assert.equal(after.unread, 1);
    });
  });

  describe('keys are computed once, at write time', () => {
    it('an update changing a field of the format leaves the activity in its group, with the new content', async () => {
      const feed = client.feed('by_custom', uid('agg'));
      const acts = await addMany(feed, [
        { actor: 'SU:a', verb: 'post', object: 'o:1', topic: 'sports', foreign_id: 'p:1', time: at(17, 1) },
        { actor: 'SU:b', verb: 'post', object: 'o:2', topic: 'news', foreign_id: 'p:2', time: at(17, 2) },
      ]);
      const before = await groupsOf(feed);
      await client.updateActivities([{ actor: 'SU:a', verb: 'post', object: 'o:1', topic: 'news', foreign_id: 'p:1', time: acts[0].time } as any]);
      await client.activityPartialUpdate({ id: acts[1].id, set: { topic: 'sports' } });
      const got = await groupsOf(feed);
      assert.deepEqual(got.map((g) => [g.id, g.group]), before.map((g) => [g.id, g.group]));
      assert.equal(got.find((g) => g.group === 'sports:')!.activities[0].topic, 'news');
      assert.equal(got.find((g) => g.group === 'news:')!.activities[0].topic, 'sports');
    });

    it('an activity reaching a feed twice (directly and through a follow), or added again, is counted once', async () => {
      const author = client.feed('user', uid('author'));
      const agg = client.feed('aggregated', uid('agg'));
      await agg.follow('user', author.userId);
      const a = await addOne(author, { actor: 'SU:a', verb: 'like', object: 'o:1', foreign_id: 'l:1', time: at(18, 1), to: [agg.id] });
      const again = await addOne(author, { actor: 'SU:a', verb: 'like', object: 'o:1', foreign_id: 'l:1', time: at(18, 1), to: [agg.id] });
      assert.equal(again.id, a.id);
      await addOne(agg, { actor: 'SU:a', verb: 'like', object: 'o:1', foreign_id: 'l:1', time: at(18, 1) });
      const b = await addOne(author, { actor: 'SU:b', verb: 'like', object: 'o:2', time: at(18, 2) });
      const got = await groupsOf(agg);
      assert.equal(got.length, 1);
      assert.equal(got[0].activity_count, 2);
      assert.equal(got[0].actor_count, 2);
      assert.deepEqual(got[0].activities.map((x) => x.id), [b.id, a.id]);
    });
  });

  describe('fan-out, follow copies and unfollow', () => {
    it('folds posts of followed user feeds into groups, with origin = the source feed', async () => {
      const ann = client.feed('user', uid('ann'));
      const bob = client.feed('user', uid('bob'));
      const agg = client.feed('aggregated', uid('agg'));
      const notif = client.feed('notification', uid('n'));
      for (const f of [agg, notif]) {
        await f.follow('user', ann.userId);
        await f.follow('user', bob.userId);
      }
      const acts: Act[] = [];
      const originOf = new Map<string, string>();
      for (let i = 0; i < 12; i++) {
        const src = i % 3 === 0 ? bob : ann;
        const a = await addOne(src, { actor: `SU:${src.userId}`, verb: ['like', 'post'][i % 2], object: `o:${i}`, time: at(10 + (i % 2), i) });
        acts.push(a);
        originOf.set(a.id, src.id);
      }
      for (const f of [agg, notif]) {
        const got = await groupsOf(f);
        const exp = expectedFeed(f.slug, f.userId, acts, got);
        assert.equal(exp.length, 2);
        assertFeed(got, exp, f === notif, (a) => originOf.get(a.id)!);
      }
      const n = (await notif.get()) as any;
      assert.deepEqual([n.unseen, n.unread], [2, 2]);
    });

    it('follow copies fold into groups (honouring activity_copy_limit); unfollow removes them, keepHistory keeps them', async () => {
      const ann = client.feed('user', uid('ann'));
      const bob = client.feed('user', uid('bob'));
      const annActs = await addMany(
        ann,
        Array.from({ length: 8 }, (_, i) => ({ actor: 'SU:ann', verb: i % 2 ? 'like' : 'post', object: `a:${i}`, time: at(12, i) })),
      );
      const bobActs = await addMany(
        bob,
        Array.from({ length: 5 }, (_, i) => ({ actor: 'SU:bob', verb: i < 2 ? 'like' : 'share', object: `b:${i}`, time: at(12, 10 + i) })),
      );
      const origin = (a: Act) => (annActs.includes(a) ? ann.id : bob.id);

      const agg = client.feed('aggregated', uid('agg'));
      await agg.follow('user', ann.userId);
      await agg.follow('user', bob.userId, { limit: 3 });
      const copied = [...annActs, ...bobActs.slice(-3)];
      let got = await groupsOf(agg);
      assertFeed(got, expectedFeed('aggregated', agg.userId, copied, got), false, origin);

      // A mixed group (likes from ann and bob) keeps ann's activities; bob-only groups vanish.
      const bobLike = await addOne(bob, { actor: 'SU:bob', verb: 'like', object: 'b:new', time: at(12, 20) });
      got = await groupsOf(agg);
      assertFeed(got, expectedFeed('aggregated', agg.userId, [...copied, bobLike], got), false, (a) => (a === bobLike ? bob.id : origin(a)));
      assert.equal(got[0].group, 'like_2024-05-12');
      await agg.unfollow('user', bob.userId);
      got = await groupsOf(agg);
      assertFeed(got, expectedFeed('aggregated', agg.userId, annActs, got), false, origin);
      assert.deepEqual(got.map((g) => g.group).sort(), ['like_2024-05-12', 'post_2024-05-12']);

      // keepHistory leaves the copies where they are; later posts no longer arrive.
      const notif = client.feed('notification', uid('n'));
      await notif.follow('user', ann.userId);
      await notif.unfollow('user', ann.userId, { keepHistory: true });
      await addOne(ann, { actor: 'SU:ann', verb: 'like', object: 'a:late', time: at(12, 23) });
      got = await groupsOf(notif);
      assertFeed(got, expectedFeed('notification', notif.userId, annActs, got), true, origin);
    });

    it('removing an activity at its origin removes it from follower groups', async () => {
      const ann = client.feed('user', uid('ann'));
      const agg = client.feed('by_actor', uid('agg'));
      await agg.follow('user', ann.userId);
      const acts = await addMany(ann, [
        { actor: 'SU:x', verb: 'post', object: 'o:1', time: at(13, 1) },
        { actor: 'SU:x', verb: 'post', object: 'o:2', time: at(13, 2) },
        { actor: 'SU:y', verb: 'post', object: 'o:3', time: at(13, 3) },
      ]);
      await ann.removeActivity(acts[1].id);
      let got = await groupsOf(agg);
      assertFeed(got, expectedFeed('by_actor', agg.userId, [acts[0], acts[2]], got), false, () => ann.id);
      await ann.removeActivity(acts[2].id);
      got = await groupsOf(agg);
      assert.deepEqual(got.map((g) => g.group), ['SU:x']);
    });
  });

  describe('pagination over groups', () => {
    let feed: StreamFeed;
    let all: Group[];
    before(async () => {
      feed = client.feed('by_object', uid('pages'));
      // 23 groups, each with 1-3 activities, newest times interleaved with creation order.
      const acts = await addMany(
        feed,
        Array.from({ length: 50 }, (_, i) => ({
          actor: `SU:u${i % 4}`,
          verb: 'post',
          object: `o:${(i * 7) % 23}`,
          time: at(14, 0, (i * 13) % 50),
        })),
      );
      all = (await feed.get({ limit: 100 })).results as any;
      assert.equal(all.length, 23);
      assertFeed(all, expectedFeed('by_object', feed.userId, acts, all), false);
    });

    const ids = (gs: Group[]) => gs.map((g) => g.id);

    it('`next` pages through every group exactly once, in order, and is "" after the last page', async () => {
      for (const limit of [1, 5, 7, 23, 25]) {
        const { groups, pages } = await readAllGroups(feed, limit);
        assert.deepEqual(ids(groups), ids(all), `limit ${limit}`);
        assert.equal(pages.length, Math.ceil(23 / limit), `pages at limit ${limit}`);
        for (const p of pages.slice(0, -1)) {
          assert.equal(p.results.length, limit);
          const q = new URL(p.next, 'http://x').searchParams;
          assert.equal(q.get('id_lt'), p.results[p.results.length - 1].id);
          assert.equal(q.get('limit'), String(limit));
        }
        assert.equal(pages[pages.length - 1].next, '');
      }
    });

    it('limit and offset select slices of the order', async () => {
      for (const [limit, offset] of [[5, 0], [5, 5], [4, 20], [10, 22], [3, 23], [5, 30]]) {
        const res = (await feed.get({ limit, offset } as any)) as any;
        assert.deepEqual(ids(res.results), ids(all.slice(offset, offset + limit)), `limit ${limit} offset ${offset}`);
        assert.equal(res.next === '', offset + limit >= 23, `next at limit ${limit} offset ${offset}`);
      }
    });

    it('id_lt / id_lte / id_gt / id_gte take group ids and mean after/before that group in this order', async () => {
      for (const i of [0, 1, 11, 21, 22]) {
        const g = all[i].id;
        const lt = (await feed.get({ id_lt: g, limit: 100 })).results as any;
        assert.deepEqual(ids(lt), ids(all.slice(i + 1)), `id_lt at ${i}`);
        const lte = (await feed.get({ id_lte: g, limit: 100 })).results as any;
        assert.deepEqual(ids(lte), ids(all.slice(i)), `id_lte at ${i}`);
        const gt = (await feed.get({ id_gt: g, limit: 100 })).results as any;
        assert.deepEqual(ids(gt), ids(all.slice(0, i)), `id_gt at ${i}`);
        const gte = (await feed.get({ id_gte: g, limit: 100 })).results as any;
        assert.deepEqual(ids(gte), ids(all.slice(0, i + 1)), `id_gte at ${i}`);
      }
      // Bounds combine with each other, with limit and with offset.
      const between = (await feed.get({ id_lt: all[3].id, id_gt: all[12].id, limit: 100 })).results as any;
      assert.deepEqual(ids(between), ids(all.slice(4, 12)));
      const page = (await feed.get({ id_lte: all[3].id, limit: 4, offset: 2 } as any)) as any;
      assert.deepEqual(ids(page.results), ids(all.slice(5, 9)));
      const one = (await feed.get({ id_lte: all[6].id, id_gte: all[6].id, limit: 1 })).results as any;
      assert.deepEqual(ids(one), [all[6].id]);
      // Paging on from a bounded first page keeps the bound and reaches the end of the range.
      let res = (await feed.get({ id_gt: all[15].id, limit: 6 })) as any;
      const seen = [...res.results];
      while (res.next !== '') {
        res = await feed.get(nextOptions(res.next, feed) as any);
        seen.push(...res.results);
      }
      assert.deepEqual(ids(seen), ids(all.slice(0, 15)));
    });

    it('rejects bad paging values with 400/4', async () => {
      await expectApiError(feed.get({ id_lt: 'not-a-group' }), 400, 4, 'InputException');
      await expectApiError(feed.get({ limit: 'x' as any }), 400, 4, 'InputException');
      await expectApiError(feed.get({ offset: -1 } as any), 400, 4, 'InputException');
    });
  });

  describe('`to` targets', () => {
    it('copies to notification and aggregated targets land in groups with origin null', async () => {
      const author = client.feed('user', uid('author'));
      const n = client.feed('notification', uid('n'));
      const agg = client.feed('by_actor', uid('agg'));
      const acts = [
        await addOne(author, { actor: 'SU:au', verb: 'like', object: 'o:1', to: [n.id, agg.id], time: at(15, 1) }),
        await addOne(author, { actor: 'SU:au', verb: 'like', object: 'o:2', to: [n.id], time: at(15, 2) }),
        await addOne(author, { actor: 'SU:au', verb: 'follow', object: 'o:3', to: [n.id, agg.id], time: at(15, 3) }),
      ];
      for (const a of acts) assert.ok(Array.isArray(a.to));
      const res = (await n.get()) as any;
      assertFeed(res.results, expectedFeed('notification', n.userId, acts, res.results), true, () => null);
      assert.deepEqual([res.unseen, res.unread], [2, 2]);
      const got = await groupsOf(agg);
      assertFeed(got, expectedFeed('by_actor', agg.userId, [acts[0], acts[2]], got), false, () => null);
      // Removal at the origin reaches the targets.
      await author.removeActivity(acts[2].id);
      const again = (await n.get()) as any;
      assertFeed(again.results, expectedFeed('notification', n.userId, acts.slice(0, 2), again.results), true, () => null);
      assert.deepEqual([again.unseen, again.unread], [1, 1]);
    });

    it('a user may send `to` anyone\'s notification feed; the owner sees it unseen', async () => {
      const me = uid('me');
      const other = uid('other');
      const mine = t.userClient(me).feed('user', me);
      const a = await addOne(mine, { actor: `SU:${me}`, verb: 'mention', object: 'o:1', to: [`notification:${other}`] });
      const res = (await t.userClient(other).feed('notification', other).get()) as any;
      assertFeed(res.results, expectedFeed('notification', other, [a], res.results), true, () => null);
      assert.deepEqual([res.unseen, res.unread], [1, 1]);
    });

    it('updating `to` targets adds the activity to new targets\' groups and removes it from dropped ones', async () => {
      const author = client.feed('user', uid('author'));
      const n1 = client.feed('notification', uid('n1'));
      const n2 = client.feed('notification', uid('n2'));
      const a = await addOne(author, { actor: 'SU:au', verb: 'tag', object: 'o:1', foreign_id: 'tag:1', time: at(16, 1), to: [n1.id] });
      await author.updateActivityToTargets('tag:1', a.time, undefined, [n2.id], [n1.id]);
      assert.deepEqual((await n1.get()).results, []);
      const res = (await n2.get()) as any;
      assert.equal(res.results.length, 1);
      assert.deepEqual(res.results[0].activities.map((x: Act) => x.id), [a.id]);
      assert.deepEqual(res.results[0].activities[0].to, [n2.id]);
      assert.equal(res.results[0].group, 'tag_2024-05-16');
      assert.deepEqual([res.unseen, res.unread], [1, 1]);
      assert.deepEqual([((await n1.get()) as any).unseen, ((await n1.get()) as any).unread], [0, 0]);
    });
  });
});

describe('aggregated feeds: queued fan-out', () => {
  let t: TestServer;
  let client: StreamClient;
  before(async () => {
    t = await startServer({ groups: GROUPS, fanout: { inline_max_followers: 2, chunk_size: 3 }, worker: 'manual' });
    client = t.client();
  });
  after(async () => t.close());

  it('folds queued deliveries into each follower\'s groups, and queued removals out of them', async () => {
    const star = client.feed('user', uid('star'));
    const followers = [
      ...Array.from({ length: 4 }, () => client.feed('aggregated', uid('agg'))),
      ...Array.from({ length: 3 }, () => client.feed('notification', uid('n'))),
      ...Array.from({ length: 2 }, () => client.feed('by_feed', uid('bf'))),
    ];
    await client.followMany!(followers.map((f) => ({ source: f.id, target: star.id })));
    const acts: Act[] = [];
    acts.push(...(await addMany(star, [
      { actor: 'SU:s', verb: 'like', object: 'o:1', time: at(20, 1) },
      { actor: 'SU:t', verb: 'like', object: 'o:2', time: at(20, 2) },
    ])));
    acts.push(await addOne(star, { actor: 'SU:s', verb: 'post', object: 'o:3', time: at(20, 3) }));
    acts.push(await addOne(star, { actor: 'SU:u', verb: 'like', object: 'o:4', time: at(21, 3) }));
    await t.rivulet.worker!.drainAll();
    for (const f of followers) {
      const res = (await f.get()) as any;
      const notification = f.slug === 'notification';
      assertFeed(res.results, expectedFeed(f.slug, f.userId, acts, res.results), notification, () => star.id);
      if (notification) assert.deepEqual([res.unseen, res.unread], [3, 3]);
    }

    await star.removeActivity(acts[2].id);
    await star.removeActivity(acts[1].id);
    await t.rivulet.worker!.drainAll();
    const left = [acts[0], acts[3]];
    for (const f of followers) {
      const res = (await f.get()) as any;
      const notification = f.slug === 'notification';
      assertFeed(res.results, expectedFeed(f.slug, f.userId, left, res.results), notification, () => star.id);
      if (notification) assert.deepEqual([res.unseen, res.unread], [2, 2]);
    }
  });

  it('follow copies fold in inline and unfollow removes them, also with queued fan-out configured', async () => {
    const star = client.feed('user', uid('star'));
    const acts = await addMany(
      star,
      Array.from({ length: 6 }, (_, i) => ({ actor: `SU:a${i % 2}`, verb: i % 3 ? 'like' : 'post', object: `o:${i}`, time: at(22, i) })),
    );
    await t.rivulet.worker!.drainAll();
    const n = client.feed('notification', uid('n'));
    await n.follow('user', star.userId);
    let res = (await n.get()) as any;
    assertFeed(res.results, expectedFeed('notification', n.userId, acts, res.results), true, () => star.id);
    await n.unfollow('user', star.userId);
    await t.rivulet.worker!.drainAll();
    res = (await n.get()) as any;
    assert.deepEqual([res.results, res.unseen, res.unread], [[], 0, 0]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('notification feeds: seen and read', () => {
  let t: TestServer;
  let client: StreamClient;
  before(async () => {
    t = await startServer({ groups: GROUPS });
    client = t.client();
  });
  after(async () => t.close());

  /** The expected state of a notification feed: group id → seen/read, kept by the test. */
  class State {
    readonly marks = new Map<string, { seen: boolean; read: boolean }>();
    sync(groups: Group[]): void {
      for (const g of groups) if (!this.marks.has(g.id)) this.marks.set(g.id, { seen: false, read: false });
      const live = new Set(groups.map((g) => g.id));
      for (const id of [...this.marks.keys()]) if (!live.has(id)) this.marks.delete(id);
    }
    seen(ids: Iterable<string>): void {
      for (const id of ids) if (this.marks.has(id)) this.marks.get(id)!.seen = true;
    }
    read(ids: Iterable<string>): void {
      for (const id of ids) if (this.marks.has(id)) this.marks.set(id, { seen: true, read: true });
    }
    touched(ids: Iterable<string>): void {
      for (const id of ids) this.marks.set(id, { seen: false, read: false });
    }
    get unseen(): number {
      return [...this.marks.values()].filter((m) => !m.seen).length;
    }
    get unread(): number {
      return [...this.marks.values()].filter((m) => !m.read).length;
    }
  }

  /** Reads the whole feed page by page, checking the counts of every page and each group's state. */
  async function check(feed: StreamFeed, state: State, limit = 100): Promise<Group[]> {
    const { groups, pages } = await readAllGroups(feed, limit);
    for (const p of pages) {
      assert.deepEqual(Object.keys(p).sort(), ['duration', 'next', 'results', 'unread', 'unseen']);
      assert.equal(p.unseen, state.unseen, 'unseen counts the whole feed');
      assert.equal(p.unread, state.unread, 'unread counts the whole feed');
    }
    assert.equal(groups.length, state.marks.size);
    for (const g of groups) {
      const m = state.marks.get(g.id);
      assert.ok(m, `unexpected group ${g.id}`);
      assert.deepEqual({ seen: g.is_seen, read: g.is_read }, m, `state of ${g.group}`);
    }
    return groups;
  }

  async function setup(n: number, slug = 'notification'): Promise<{ feed: StreamFeed; groups: Group[]; state: State }> {
    const feed = client.feed(slug, uid('n'));
    await addMany(
      feed,
      Array.from({ length: n }, (_, i) => ({ actor: `SU:a${i % 3}`, verb: `v${i}`, object: `o:${i}`, time: at(1, 0, 0, i) })),
    );
    const state = new State();
    const groups = await groupsOf(feed);
    state.sync(groups);
    return { feed, groups, state };
  }

  it('new groups are unseen and unread; counts cover the whole feed on every page', async () => {
    const { feed, state } = await setup(7);
    assert.equal(state.unseen, 7);
    await check(feed, state, 3);
    const one = (await feed.get({ limit: 1 })) as any;
    assert.deepEqual([one.results.length, one.unseen, one.unread], [1, 7, 7]);
  });

  it('mark_seen=true marks every group: not in the marking response, but in the next read', async () => {
    const { feed, groups, state } = await setup(5);
    const marking = (await feed.get({ limit: 2, mark_seen: true })) as any;
    assert.deepEqual([marking.unseen, marking.unread], [5, 5], 'the marking response shows the state before the marks');
    assert.ok(marking.results.every((g: Group) => g.is_seen === false));
    state.seen(groups.map((g) => g.id));
    const after = await check(feed, state);
    assert.deepEqual(after.map((g) => g.id), groups.map((g) => g.id), 'marking does not change the order');
    assert.equal(state.unseen, 0);
    assert.equal(state.unread, 5);
  });

  it('mark_read=true marks every group read and seen', async () => {
    const { feed, groups, state } = await setup(4);
    await feed.get({ mark_read: true });
    state.read(groups.map((g) => g.id));
    await check(feed, state);
    assert.deepEqual([state.unseen, state.unread], [0, 0]);
  });

  it('mark_seen / mark_read with a list of group ids (sent comma-separated) and with a single id', async () => {
    const { feed, groups, state } = await setup(9);
    await feed.get({ mark_seen: [groups[1].id, groups[4].id, groups[7].id] });
    state.seen([groups[1].id, groups[4].id, groups[7].id]);
    await check(feed, state);

    await feed.get({ mark_read: [groups[0].id, groups[4].id] });
    state.read([groups[0].id, groups[4].id]);
    await check(feed, state);

    // One id is sent as a plain string.
    await feed.get({ mark_read: [groups[8].id] });
    state.read([groups[8].id]);
    await check(feed, state);
    const raw = await rawRequest(t, 'GET', `feed/notification/${feed.userId}/`, {
      query: { mark_seen: groups[2].id },
      token: t.client().getOrCreateToken(),
    });
    assert.equal(raw.status, 200, raw.text);
    state.seen([groups[2].id]);
    // Ids the feed does not have are ignored; both marks in one request; repeated ids are harmless.
    await feed.get({ mark_seen: [groups[3].id, '00000000-0000-1000-8000-000000000000'], mark_read: [groups[5].id, groups[5].id] });
    state.seen([groups[3].id]);
    state.read([groups[5].id]);
    const final = await check(feed, state);
    assert.deepEqual(final.map((g) => g.id), groups.map((g) => g.id), 'marking does not change the order');
    assert.deepEqual([state.unseen, state.unread], [1, 5]);
  });

  it('mark_seen / mark_read = current marks the groups this read returned', async () => {
    const { feed, groups, state } = await setup(12);
    const page = (await feed.get({ limit: 3, offset: 2, mark_read: 'current' } as any)) as any;
    assert.deepEqual(page.results.map((g: Group) => g.id), groups.slice(2, 5).map((g) => g.id));
    assert.ok(page.results.every((g: Group) => !g.is_read && !g.is_seen));
    state.read(groups.slice(2, 5).map((g) => g.id));
    // The next link pages on without repeating the mark.
    const next = new URL(page.next, 'http://x').searchParams;
    assert.equal(next.get('mark_read'), null);
    assert.equal(next.get('mark_seen'), null);
    await feed.get(nextOptions(page.next, feed));
    await check(feed, state, 5);

    const p2 = (await feed.get({ limit: 4, id_lt: groups[6].id, mark_seen: 'current' })) as any;
    assert.deepEqual(p2.results.map((g: Group) => g.id), groups.slice(7, 11).map((g) => g.id));
    state.seen(groups.slice(7, 11).map((g) => g.id));
    await check(feed, state);
  });

  it('mark_seen=false and an absent mark change nothing; a malformed group id is 400/4 and marks nothing', async () => {
    const { feed, groups, state } = await setup(3);
    await feed.get({ mark_seen: false, mark_read: false });
    await check(feed, state);
    const bad = await rawRequest(t, 'GET', `feed/notification/${feed.userId}/`, { query: { mark_read: `${groups[0].id},nope` } });
    assertRawError(bad, 400, 4, 'InputException');
    await check(feed, state);
  });

  it('a marked group that receives a new activity is unseen and unread again, and moves to the top', async () => {
    const feed = client.feed('notification', uid('n'));
    const acts = await addMany(feed, [
      { actor: 'SU:a', verb: 'like', object: 'o:1', time: at(2, 1) },
      { actor: 'SU:b', verb: 'comment', object: 'o:2', time: at(2, 2) },
      { actor: 'SU:c', verb: 'follow', object: 'o:3', time: at(2, 3) },
    ]);
    const state = new State();
    let groups = await groupsOf(feed);
    state.sync(groups);
    await feed.get({ mark_read: true });
    state.read(groups.map((g) => g.id));
    await check(feed, state);

    const like = groups.find((g) => g.group === 'like_2024-05-02')!;
    acts.push(await addOne(feed, { actor: 'SU:d', verb: 'like', object: 'o:4', time: at(2, 4) }));
    state.touched([like.id]);
    groups = await check(feed, state);
    assert.equal(groups[0].id, like.id, 'same group, now on top');
    assertFeed(groups, expectedFeed('notification', feed.userId, acts, groups), true);
    assert.deepEqual([state.unseen, state.unread], [1, 1]);

    // Only seen: a new activity takes it back to unseen too.
    await feed.get({ mark_seen: [groups[1].id] });
    state.seen([groups[1].id]);
    await check(feed, state);
    const comment = groups.find((g) => g.group === 'comment_2024-05-02')!;
    await addOne(feed, { actor: 'SU:e', verb: 'comment', object: 'o:5', time: at(2, 5) });
    state.touched([comment.id]);
    await check(feed, state);
  });

  it('removing activities keeps the marks; a dropped group leaves the counts', async () => {
    const feed = client.feed('notification', uid('n'));
    const acts = await addMany(feed, [
      { actor: 'SU:a', verb: 'like', object: 'o:1', time: at(3, 1) },
      { actor: 'SU:a', verb: 'like', object: 'o:2', time: at(3, 2) },
      { actor: 'SU:b', verb: 'comment', object: 'o:3', time: at(3, 3) },
      { actor: 'SU:c', verb: 'follow', object: 'o:4', time: at(3, 4) },
      { actor: 'SU:d', verb: 'share', object: 'o:5', time: at(3, 5) },
    ]);
    const state = new State();
    const groups = await groupsOf(feed);
    state.sync(groups);
    const id = (key: string) => groups.find((g) => g.group === key)!.id;
    await feed.get({ mark_seen: [id('like_2024-05-03'), id('comment_2024-05-03')], mark_read: [id('share_2024-05-03')] });
    state.seen([id('like_2024-05-03'), id('comment_2024-05-03')]);
    state.read([id('share_2024-05-03')]);
    await check(feed, state);
    // A removal inside a group does not make it unseen.
    await feed.removeActivity(acts[1].id);
    await check(feed, state);
    // Dropping a seen group, an unseen one and a read one.
    for (const i of [2, 3, 4]) await feed.removeActivity(acts[i].id);
    state.sync(await groupsOf(feed));
    await check(feed, state);
    assert.deepEqual([state.marks.size, state.unseen, state.unread], [1, 0, 1]);
  });

  it('the owner\'s user token may mark; another user gets 403/17 and nothing changes', async () => {
    const owner = uid('owner');
    const server = client.feed('notification', owner);
    await addMany(server, [
      { actor: 'SU:a', verb: 'like', object: 'o:1' },
      { actor: 'SU:a', verb: 'post', object: 'o:2' },
    ]);
    const state = new State();
    const groups = await groupsOf(server);
    state.sync(groups);

    const mine = t.userClient(owner).feed('notification', owner);
    const res = (await mine.get({ mark_seen: [groups[0].id] })) as any;
    assert.deepEqual([res.unseen, res.unread], [2, 2]);
    state.seen([groups[0].id]);
    await check(server, state);
    await mine.get({ mark_read: 'current' });
    state.read(groups.map((g) => g.id));
    await check(mine, state);

    const intruder = t.userClient(uid('intruder')).feed('notification', owner);
    await expectApiError(intruder.get({ mark_seen: true }), 403, 17, 'NotAllowedException');
    await expectApiError(intruder.get({ mark_read: true }), 403, 17, 'NotAllowedException');
  });

  it('a readable (public) notification feed of another user still cannot be marked by them', async () => {
    const { feed, groups, state } = await setup(3, 'public_notif');
    const other = t.userClient(uid('other')).feed('public_notif', feed.userId);
    const res = (await other.get()) as any;
    assert.deepEqual(res.results.map((g: Group) => g.id), groups.map((g) => g.id));
    await expectApiError(other.get({ mark_seen: true }), 403, 17, 'NotAllowedException');
    await expectApiError(other.get({ mark_read: [groups[0].id] }), 403, 17, 'NotAllowedException');
    await expectApiError(other.get({ mark_read: 'current' }), 403, 17, 'NotAllowedException');
    await check(feed, state);
  });

  it('counts stay right when groups beyond 1000 are dropped, seen, read or not', async () => {
    const { feed, groups, state } = await setup(MAX_GROUPS - 10);
    // Mark some of the oldest groups: the next inserts drop them first.
    const oldest = groups.slice(-30);
    await feed.get({ mark_read: oldest.filter((_, i) => i % 3 === 0).map((g) => g.id), mark_seen: oldest.filter((_, i) => i % 3 === 1).map((g) => g.id) });
    state.read(oldest.filter((_, i) => i % 3 === 0).map((g) => g.id));
    state.seen(oldest.filter((_, i) => i % 3 === 1).map((g) => g.id));
    await addMany(
      feed,
      Array.from({ length: 25 }, (_, i) => ({ actor: 'SU:new', verb: `w${i}`, object: `n:${i}`, time: at(1, 2, 0, i) })),
    );
    const now = await groupsOf(feed);
    assert.equal(now.length, MAX_GROUPS);
    // The 15 least recently updated groups went.
    assert.deepEqual(now.slice(25).map((g) => g.id), groups.slice(0, MAX_GROUPS - 25).map((g) => g.id));
    state.sync(now);
    await check(feed, state, 100);
    assert.equal(state.marks.size, MAX_GROUPS);
    // A new group older than all others is itself the least recently updated: it goes at once.
    await addOne(feed, { actor: 'SU:old', verb: 'ancient', object: 'o:0', time: at(1, 0, 0, 0) });
    const after = await check(feed, state, 100);
    assert.deepEqual(after.map((g) => g.id), now.map((g) => g.id));
  });

  it('counts stay right over 330 groups through list, current and all marks and new activities', async () => {
    const { feed, groups, state } = await setup(330);
    assert.equal(groups.length, 330);
    await check(feed, state, 100);
    // A limit over 100 is clamped; next pages on with 100.
    const big = (await feed.get({ limit: 150 })) as any;
    assert.equal(big.results.length, 100);
    assert.equal(new URL(big.next, 'http://x').searchParams.get('limit'), '100');

    const seenIds = groups.filter((_, i) => i % 7 === 0).map((g) => g.id);
    await feed.get({ limit: 5, mark_seen: seenIds });
    state.seen(seenIds);
    await check(feed, state, 100);

    const page = (await feed.get({ limit: 100, offset: 100, mark_read: 'current' } as any)) as any;
    state.read(page.results.map((g: Group) => g.id));
    let now = await check(feed, state, 77);
    assert.deepEqual(now.map((g) => g.id), groups.map((g) => g.id), 'marking does not change the order');

    const readIds = groups.slice(250, 300).map((g) => g.id);
    await feed.get({ limit: 1, mark_read: readIds, mark_seen: groups.slice(300).map((g) => g.id) });
    state.read(readIds);
    state.seen(groups.slice(300).map((g) => g.id));
    await check(feed, state, 100);

    // New activities in 20 groups that were seen or read: those become unseen and unread again.
    const touched = groups.filter((g, i) => i >= 100 && i < 140 && i % 2 === 0);
    await addMany(
      feed,
      touched.map((g, i) => ({ actor: 'SU:late', verb: g.verb, object: `late:${i}`, time: at(1, 1, 0, i) })),
    );
    state.touched(touched.map((g) => g.id));
    now = await check(feed, state, 100);
    assert.deepEqual(now.slice(0, 20).map((g) => g.id), touched.map((g) => g.id).reverse());

    await feed.get({ mark_read: true, limit: 1 });
    state.read(groups.map((g) => g.id));
    await check(feed, state, 100);
    assert.deepEqual([state.unseen, state.unread], [0, 0]);
  });
});

describe('configured group bounds', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer({
      groups: [
        { name: 'user', type: 'flat' },
        { name: 'small', type: 'notification', aggregation_format: '{{ object }}', max_groups: 2, max_group_activities: 3 },
      ],
    });
  });
  after(async () => t.close());

  it('keeps max_groups groups per feed and max_group_activities activities per group', async () => {
    const feed = t.client().feed('small', uid('small'));
    for (const object of ['a', 'a', 'a', 'a', 'b', 'c']) await feed.addActivity({ actor: 'x', verb: 'v', object });
    const res = (await feed.get()) as any;
    assert.deepEqual(res.results.map((g: any) => g.group), ['c', 'b']);
    const again = await feed.addActivities(['d', 'd', 'd', 'd', 'd'].map((object) => ({ actor: 'x', verb: 'v', object })));
    const d = ((await feed.get()) as any).results[0];
    assert.equal(d.group, 'd');
    assert.equal(d.activity_count, 5);
    assert.deepEqual(d.activities.map((a: any) => a.id), (again as any).activities.slice(2).map((a: any) => a.id).reverse());
  });
});
