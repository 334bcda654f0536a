/**
 * Black-box tests of activities and flat feeds (stream-v2-api.md §4–§6, §20.3, §23), driven by
 * the official getstream client wherever it covers the call.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawRequest, startServer, uid, type TestServer } from '../support/server.js';
import {
  activityTimeUs,
  assertActivityKeys,
  assertIdMatchesTime,
  DURATION_RE,
  expectApiError,
  feedIds,
  isoUs,
  readAll,
  sortedKeys,
  withoutDuration,
} from './activity-helpers.js';

let t: TestServer;

before(async () => {
  t = await startServer();
});
after(async () => t.close());

/** A server-side client; results are untyped so tests can look at every key. */
function server(): any {
  return t.client();
}

function feed(slug: string, id: string): any {
  return t.client().feed(slug, id);
}

async function follow(followerSlug: string, followerId: string, slug: string, id: string): Promise<void> {
  await feed(followerSlug, followerId).follow(slug, id);
}

/** Activity bodies sent by most tests. */
function act(n: number | string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { actor: 'SU:alice', verb: 'post', object: `SO:post:${n}`, ...extra };
}

describe('add one activity (§5.1, §6.1)', () => {
  it('answers with the stored activity: exact keys, defaults, duration', async () => {
    const u = uid();
    const res = await feed('user', u).addActivity(act(1));
    const { duration, ...a } = res;
    assert.match(duration, DURATION_RE);
    assertActivityKeys(a);
    assert.equal(a.actor, 'SU:alice');
    assert.equal(a.verb, 'post');
    assert.equal(a.object, 'SO:post:1');
    assert.equal(a.target, '');
    assert.equal(a.foreign_id, '');
    assert.equal(a.origin, null);
    assert.equal('to' in a, false);
    assert.ok(!('exception' in res));
  });

  it('uses the documented time format and a UUID v1 id that encodes the time', async () => {
    const startUs = BigInt(Date.now()) * 1000n;
    const a = await feed('user', uid()).addActivity(act(1));
    const afterUs = BigInt(Date.now() + 1) * 1000n;
    assertIdMatchesTime(a);
    const us = activityTimeUs(a.time);
    // The server's clock is monotonic-based and may drift a little from Date.now().
    assert.ok(us >= startUs - 2_000_000n && us <= afterUs + 2_000_000n, `server time ${a.time} is not now`);
  });

  it('keeps a given time exactly (µs), converting zones to UTC, and derives the id from it', async () => {
    const f = feed('user', uid());
    const a = await f.addActivity(act(1, { time: '2024-05-01T10:00:00.123456' }));
    assert.equal(a.time, '2024-05-01T10:00:00.123456');
    assertIdMatchesTime(a);
    const b = await f.addActivity(act(2, { time: '2024-05-01T12:30:00.5+02:00' }));
    assert.equal(b.time, '2024-05-01T10:30:00.500000');
    assertIdMatchesTime(b);
    const c = await f.addActivity(act(3, { time: '2024-05-01T10:00:00.123Z' }));
    assert.equal(c.time, '2024-05-01T10:00:00.123000');
    assert.equal(activityTimeUs(c.time), isoUs('2024-05-01T10:00:00.123Z'));
    const d = await f.addActivity(act(4, { time: '2024-05-01 10:00:01.000001' }));
    assert.equal(d.time, '2024-05-01T10:00:01.000001');
    const e = await f.addActivity(act(5, { time: '2024-05-01T10:00:02.123456789' }));
    assert.equal(e.time, '2024-05-01T10:00:02.123456', 'stored with microsecond precision');
    const g = await f.addActivity(act(6, { time: '2024-05-01T10:00:03' }));
    assert.equal(g.time, '2024-05-01T10:00:03.000000');
    assertIdMatchesTime(g);
  });

  it('round-trips custom fields verbatim (nested objects, arrays, numbers, booleans, null)', async () => {
    const u = uid();
    const custom = {
      board: { name: 'Trips', tags: ['a', 'b'], deep: { x: { y: [1, { z: true }] } } },
      list: [1, 'two', 3.5, false, null, { k: 'v' }, []],
      count: 42,
      negative: -7,
      ratio: 0.125,
      flag: true,
      off: false,
      nothing: null,
      empty_obj: {},
      empty_list: [],
      text: 'héllo ✓ "quoted" \\ slash',
      when: '2024-05-01T10:00:00.000Z',
    };
    const added = await feed('user', u).addActivity(act(1, custom));
    const { duration: _d, ...a } = added;
    assertActivityKeys(a, Object.keys(custom));
    for (const [k, v] of Object.entries(custom)) assert.deepEqual(a[k], v, k);
    const [read] = (await feed('user', u).get({ limit: 1 })).results;
    assert.deepEqual(read, a, 'a later read returns the same activity key for key');
  });

  it('coerces numeric actor, verb, object, target and foreign_id to strings', async () => {
    const u = uid();
    const a = await feed('user', u).addActivity({ actor: 42, verb: 7, object: 3, target: 9, foreign_id: 1234 });
    assert.equal(a.actor, '42');
    assert.equal(a.verb, '7');
    assert.equal(a.object, '3');
    assert.equal(a.target, '9');
    assert.equal(a.foreign_id, '1234');
    const [read] = (await feed('user', u).get()).results;
    assert.deepEqual([read.actor, read.verb, read.object, read.target, read.foreign_id], ['42', '7', '3', '9', '1234']);
  });

  it('includes `to` only when non-empty', async () => {
    const u = uid();
    const a = await feed('user', u).addActivity(act(1, { to: [] }));
    assert.equal('to' in a, false);
    const target = uid();
    const b = await feed('user', u).addActivity(act(2, { to: [`flat:${target}`] }));
    const { duration: _d, ...rest } = b;
    assertActivityKeys(rest, [], true);
    assert.deepEqual(b.to, [`flat:${target}`]);
  });

  it('orders back-to-back adds newest first with strictly increasing times', async () => {
    const u = uid();
    const f = feed('user', u);
    const added = [];
    for (let i = 0; i < 5; i++) added.push(await f.addActivity(act(i)));
    for (let i = 1; i < added.length; i++) {
      assert.ok(activityTimeUs(added[i].time) > activityTimeUs(added[i - 1].time), 'times strictly increase');
    }
    const ids = (await f.get()).results.map((a: any) => a.id);
    assert.deepEqual(ids, added.map((a) => a.id).reverse());
  });

  it('is readable by the very next request, including by a user token reading its own feed', async () => {
    const u = uid();
    const a = await (t.userClient(u).feed('user', u) as any).addActivity({ verb: 'post', object: 'o:1' });
    assert.equal(a.actor, `SU:${u}`);
    const res = await t.userClient(u).feed('user', u).get({ enrich: false } as any);
    assert.deepEqual(res.results.map((x: any) => x.id), [a.id]);
  });
});

describe('add many (§6.2)', () => {
  it('answers {activities, duration} with stored activities in request order', async () => {
    const u = uid();
    const inputs = [act(1, { n: 1 }), act(2, { n: 2, to: [`flat:${uid()}`] }), act(3, { n: 3, foreign_id: 'f:3' })];
    const res = await feed('user', u).addActivities(inputs);
    assert.deepEqual(sortedKeys(res), ['activities', 'duration']);
    assert.match(res.duration, DURATION_RE);
    assert.equal(res.activities.length, 3);
    res.activities.forEach((a: any, i: number) => {
      assertActivityKeys(a, ['n'], i === 1);
      assert.equal(a.n, i + 1);
      assert.equal(a.object, `SO:post:${i + 1}`);
      assert.equal(a.origin, null);
      assertIdMatchesTime(a);
    });
    assert.equal(res.activities[2].foreign_id, 'f:3');
    assert.deepEqual(res.activities[1].to, inputs[1].to);
  });

  it('gives activities without time strictly increasing times in array order', async () => {
    const u = uid();
    const res = await feed('user', u).addActivities([act(1), act(2), act(3), act(4)]);
    const times = res.activities.map((a: any) => activityTimeUs(a.time));
    for (let i = 1; i < times.length; i++) assert.ok(times[i] > times[i - 1]);
    const ids = await feedIds(t, 'user', u);
    assert.deepEqual(ids, res.activities.map((a: any) => a.id).reverse());
  });

  it('round-trips custom fields in a batch too', async () => {
    const u = uid();
    const res = await feed('user', u).addActivities([act(1, { meta: { a: [1, 2, { b: null }] }, ok: true, score_x: 1.5 })]);
    const [read] = (await feed('user', u).get()).results;
    assert.deepEqual(read, res.activities[0]);
    assert.deepEqual(read.meta, { a: [1, 2, { b: null }] });
  });

  it('accepts an empty batch', async () => {
    const u = uid();
    const res = await feed('user', u).addActivities([]);
    assert.deepEqual(withoutDuration(res), { activities: [] });
    assert.deepEqual(await feedIds(t, 'user', u), []);
  });
});

describe('uniqueness of foreign_id + time (§4.2, §20.3.9)', () => {
  it('adding the same pair again keeps the id and updates in place', async () => {
    const u = uid();
    const f = feed('user', u);
    const time = '2024-05-01T10:00:00.123456';
    const a = await f.addActivity(act(1, { foreign_id: 'pin:7', time, color: 'red', gone: 1 }));
    const b = await f.addActivity(act(2, { foreign_id: 'pin:7', time, color: 'blue' }));
    assert.equal(b.id, a.id);
    const all = await readAll(t, 'user', u);
    assert.equal(all.length, 1);
    assert.equal(all[0].id, a.id);
    assert.equal(all[0].color, 'blue');
    assert.equal(all[0].object, 'SO:post:2');
    assert.equal('gone' in all[0], false, 'the second add replaces the stored activity');
  });

  it('the same pair is the same activity when sent with a different zone spelling', async () => {
    const u = uid();
    const f = feed('user', u);
    const a = await f.addActivity(act(1, { foreign_id: 'z:1', time: '2024-05-01T10:00:00.123Z' }));
    const b = await f.addActivity(act(1, { foreign_id: 'z:1', time: '2024-05-01T10:00:00.123000' }));
    assert.equal(a.id, b.id);
    assert.equal((await feedIds(t, 'user', u)).length, 1);
  });

  it('the same foreign id at different times gives distinct activities', async () => {
    const u = uid();
    const f = feed('user', u);
    const a = await f.addActivity(act(1, { foreign_id: 'same', time: '2024-05-01T10:00:00.000001' }));
    const b = await f.addActivity(act(1, { foreign_id: 'same', time: '2024-05-01T10:00:00.000002' }));
    assert.notEqual(a.id, b.id);
    assert.deepEqual(await feedIds(t, 'user', u), [b.id, a.id]);
  });

  it('distinct foreign ids with the same time are distinct activities', async () => {
    const u = uid();
    const time = new Date().toISOString();
    const inputs = Array.from({ length: 10 }, (_, i) => act(i, { foreign_id: `fid:${i}`, time }));
    const res = await feed('user', u).addActivities(inputs);
    const ids = new Set(res.activities.map((a: any) => a.id));
    assert.equal(ids.size, 10);
    for (const a of res.activities) assert.equal(activityTimeUs(a.time), isoUs(time));
    const read = await feedIds(t, 'user', u);
    assert.equal(read.length, 10);
    assert.deepEqual(new Set(read), ids);
    assert.deepEqual(read, [...read].sort().reverse(), 'ordered by id, newest first');
  });

  it('inside one batch, the same pair is one activity (the later item wins)', async () => {
    const u = uid();
    const time = '2024-05-02T00:00:00.000000';
    const res = await feed('user', u).addActivities([
      act(1, { foreign_id: 'dup', time, v: 1 }),
      act(2, { foreign_id: 'other', time }),
      act(3, { foreign_id: 'dup', time, v: 3 }),
    ]);
    const all = await readAll(t, 'user', u);
    assert.equal(all.length, 2);
    const dup = all.find((a) => a.foreign_id === 'dup');
    assert.equal(dup.v, 3);
    // One answer per request item, in request order, each the stored form.
    assert.equal(res.activities.length, 3);
    assert.equal(res.activities[0].id, dup.id);
    assert.equal(res.activities[2].id, dup.id);
    assert.deepEqual(res.activities[2], dup);
    assert.equal(res.activities[1].foreign_id, 'other');
  });

  it('the same content without foreign id at the same time is deduplicated', async () => {
    const u = uid();
    const f = feed('user', u);
    const time = '2024-05-03T00:00:00.000000';
    const a = await f.addActivity(act(1, { time, k: 1 }));
    const b = await f.addActivity(act(1, { time, k: 1 }));
    assert.equal(a.id, b.id);
    assert.equal((await feedIds(t, 'user', u)).length, 1);
    const c = await f.addActivity(act(1, { time, k: 2 }));
    assert.notEqual(c.id, a.id, 'different content is a different activity');
  });

  it('the same content and time in two feeds is one activity in a timeline following both', async () => {
    const [u, topic, tl] = [uid(), uid(), uid()];
    await follow('timeline', tl, 'user', u);
    await follow('timeline', tl, 'flat', topic);
    const time = '2024-05-04T00:00:00.000000';
    const a = await feed('user', u).addActivity(act(1, { time }));
    const b = await feed('flat', topic).addActivity(act(1, { time }));
    assert.equal(a.id, b.id);
    assert.deepEqual(await feedIds(t, 'timeline', tl), [a.id]);
  });
});

describe('read a flat feed (§6.3)', () => {
  let u: string;
  let ids: string[]; // newest first

  before(async () => {
    u = uid();
    const res = await feed('user', u).addActivities(Array.from({ length: 7 }, (_, i) => act(i)));
    ids = res.activities.map((a: any) => a.id).reverse();
  });

  it('answers exactly {results, next, duration}, newest first, with the default limit', async () => {
    const res = await feed('user', u).get();
    assert.deepEqual(sortedKeys(res), ['duration', 'next', 'results']);
    assert.match(res.duration, DURATION_RE);
    assert.deepEqual(res.results.map((a: any) => a.id), ids);
    assert.equal(res.next, '');
    for (const a of res.results) {
      assertActivityKeys(a);
      assert.equal(a.origin, null);
    }
  });

  it('honours limit (also as a string) and offset', async () => {
    assert.deepEqual((await feed('user', u).get({ limit: 3 })).results.map((a: any) => a.id), ids.slice(0, 3));
    assert.deepEqual((await feed('user', u).get({ limit: '2' })).results.map((a: any) => a.id), ids.slice(0, 2));
    assert.deepEqual((await feed('user', u).get({ limit: 2, offset: 2 })).results.map((a: any) => a.id), ids.slice(2, 4));
    assert.deepEqual((await feed('user', u).get({ offset: 6 })).results.map((a: any) => a.id), ids.slice(6));
    const beyond = await feed('user', u).get({ offset: 50 });
    assert.deepEqual(beyond.results, []);
    assert.equal(beyond.next, '');
  });

  it('filters by id_lt, id_lte, id_gt and id_gte, always newest first', async () => {
    const get = async (opts: object) => (await feed('user', u).get(opts)).results.map((a: any) => a.id);
    assert.deepEqual(await get({ id_lt: ids[2] }), ids.slice(3));
    assert.deepEqual(await get({ id_lte: ids[2] }), ids.slice(2));
    assert.deepEqual(await get({ id_gt: ids[4] }), ids.slice(0, 4));
    assert.deepEqual(await get({ id_gte: ids[4] }), ids.slice(0, 5));
    assert.deepEqual(await get({ id_lt: ids[1], id_gt: ids[5] }), ids.slice(2, 5));
    assert.deepEqual(await get({ id_lte: ids[1], id_gte: ids[5] }), ids.slice(1, 6));
    assert.deepEqual(await get({ id_lt: ids[6] }), []);
    assert.deepEqual(await get({ id_gt: ids[0] }), []);
    assert.deepEqual(await get({ id_lt: ids[1], limit: 2 }), ids.slice(2, 4));
    assert.deepEqual(await get({ id_lt: ids[1], offset: 1, limit: 2 }), ids.slice(3, 5));
    assert.deepEqual(await get({ id_lt: ids[2].toUpperCase() }), ids.slice(3), 'ids compare case-insensitively');
  });

  it('getActivityDetail returns exactly the one activity', async () => {
    const res = await feed('user', u).getActivityDetail(ids[3]);
    assert.deepEqual(sortedKeys(res), ['duration', 'next', 'results']);
    assert.deepEqual(res.results.map((a: any) => a.id), [ids[3]]);
    assert.equal(res.next, '');
    const missing = await feed('user', u).getActivityDetail('00000000-0000-1000-8000-000000000000');
    assert.deepEqual(missing.results, []);
    assert.equal(missing.next, '');
  });

  it('links the next page relative to the host with id_lt and limit; "" on the last page', async () => {
    const res = await feed('user', u).get({ limit: 3 });
    assert.equal(typeof res.next, 'string');
    assert.ok(res.next.startsWith(`/api/v1.0/feed/user/${u}/?`), res.next);
    const next = new URL(res.next, 'http://host');
    assert.equal(next.pathname, `/api/v1.0/feed/user/${u}/`);
    assert.equal(next.searchParams.get('id_lt'), ids[2]);
    assert.equal(next.searchParams.get('limit'), '3');
    assert.equal(next.searchParams.has('offset'), false);
    assert.equal(next.searchParams.has('api_key'), false);
    // The link can be requested as is (with the api key and a token added).
    const raw = await rawRequest(t, 'GET', next.pathname.replace('/api/v1.0/', ''), { query: Object.fromEntries(next.searchParams) });
    assert.equal(raw.status, 200);
    assert.deepEqual(raw.body.results.map((a: any) => a.id), ids.slice(3, 6));
  });

  it('following next pages through everything exactly once', async () => {
    for (const limit of [1, 2, 3, 6, 7, 8]) {
      const seen: string[] = [];
      let opts: Record<string, string | number> = { limit };
      let pages = 0;
      for (;;) {
        const res = await feed('user', u).get(opts);
        pages++;
        assert.ok(res.results.length <= limit);
        seen.push(...res.results.map((a: any) => a.id));
        if (res.next === '') break;
        assert.equal(res.results.length, limit, 'only the last page may be short');
        opts = Object.fromEntries(new URL(res.next, 'http://host').searchParams);
        assert.ok(pages < 20);
      }
      assert.deepEqual(seen, ids, `limit ${limit}`);
      assert.equal(pages, Math.max(1, Math.ceil(ids.length / limit)), `a full last page has next "" (limit ${limit})`);
    }
  });

  it('the next link from an offset read continues after the page', async () => {
    const res = await feed('user', u).get({ limit: 2, offset: 1 });
    assert.deepEqual(res.results.map((a: any) => a.id), ids.slice(1, 3));
    const opts = Object.fromEntries(new URL(res.next, 'http://host').searchParams);
    const page2 = await feed('user', u).get(opts);
    assert.deepEqual(page2.results.map((a: any) => a.id), ids.slice(3, 5));
  });

  it('carries the other read parameters into next links', async () => {
    const res = await feed('user', u).get({ limit: 2, withReactionCounts: true, user_id: 'bob' });
    assert.ok(res.next.startsWith(`/api/v1.0/enrich/feed/user/${u}/?`), res.next);
    const q = new URL(res.next, 'http://host').searchParams;
    assert.equal(q.get('withReactionCounts'), 'true');
    assert.equal(q.get('user_id'), 'bob');
    assert.equal(q.get('limit'), '2');
    assert.equal(q.get('id_lt'), ids[1]);
    assert.equal(q.has('location'), false);
  });

  it('keeps the enrich/ prefix and the id_gt bound in next links', async () => {
    const res = await feed('user', u).get({ limit: 2, enrich: true, id_gt: ids[5] });
    assert.deepEqual(res.results.map((a: any) => a.id), ids.slice(0, 2));
    assert.ok(res.next.startsWith(`/api/v1.0/enrich/feed/user/${u}/?`), res.next);
    const q = new URL(res.next, 'http://host').searchParams;
    assert.equal(q.get('id_gt'), ids[5]);
    const seen = res.results.map((a: any) => a.id);
    let next = res.next;
    while (next !== '') {
      const page = await feed('user', u).get({ ...Object.fromEntries(new URL(next, 'http://host').searchParams), enrich: true });
      seen.push(...page.results.map((a: any) => a.id));
      next = page.next;
    }
    assert.deepEqual(seen, ids.slice(0, 5));
  });

  it('an empty feed reads as {results: [], next: ""}', async () => {
    const res = await feed('user', uid()).get();
    assert.deepEqual(withoutDuration(res), { results: [], next: '' });
    const other = await feed('timeline', uid()).get({ limit: 5, offset: 3 });
    assert.deepEqual(withoutDuration(other), { results: [], next: '' });
  });
});

describe('limit clamp (§23.2)', () => {
  it('clamps limit to 100 and still pages on', async () => {
    const u = uid();
    const f = feed('user', u);
    const first = await f.addActivities(Array.from({ length: 100 }, (_, i) => act(i)));
    const second = await f.addActivities(Array.from({ length: 5 }, (_, i) => act(100 + i)));
    const all = [...first.activities, ...second.activities].map((a: any) => a.id).reverse();
    const res = await f.get({ limit: 500 });
    assert.equal(res.results.length, 100);
    assert.deepEqual(res.results.map((a: any) => a.id), all.slice(0, 100));
    const q = new URL(res.next, 'http://host').searchParams;
    assert.equal(q.get('limit'), '100');
    assert.equal(q.get('id_lt'), all[99]);
    const rest = await f.get(Object.fromEntries(q));
    assert.deepEqual(rest.results.map((a: any) => a.id), all.slice(100));
    assert.equal(rest.next, '');
  });
});

describe('limit zero', () => {
  it('reads limit=0 as the default page of 25, with a truthful next link', async () => {
    const f = feed('user', uid());
    await f.addActivities(Array.from({ length: 30 }, (_, i) => act(i)));
    const res = await f.get({ limit: 0 });
    assert.equal(res.results.length, 25);
    assert.notEqual(res.next, '');
  });
});

describe('remove (§6.4)', () => {
  it('removes by id and answers {removed: id, duration}', async () => {
    const u = uid();
    const f = feed('user', u);
    const a = await f.addActivity(act(1));
    const b = await f.addActivity(act(2));
    const res = await f.removeActivity(a.id);
    assert.deepEqual(withoutDuration(res), { removed: a.id });
    assert.deepEqual(await feedIds(t, 'user', u), [b.id]);
  });

  it('removes every activity with a foreign id and answers {removed: foreign id}', async () => {
    const u = uid();
    const f = feed('user', u);
    const keep = await f.addActivity(act(0, { foreign_id: 'keep:1' }));
    await f.addActivity(act(1, { foreign_id: 'pin:9', time: '2024-05-01T10:00:00.000001' }));
    await f.addActivity(act(2, { foreign_id: 'pin:9', time: '2024-05-01T10:00:00.000002' }));
    const res = await f.removeActivity({ foreignId: 'pin:9' });
    assert.deepEqual(withoutDuration(res), { removed: 'pin:9' });
    assert.deepEqual(await feedIds(t, 'user', u), [keep.id]);
    const res2 = await f.removeActivity({ foreign_id: 'keep:1' });
    assert.deepEqual(withoutDuration(res2), { removed: 'keep:1' });
    assert.deepEqual(await feedIds(t, 'user', u), []);
  });

  it('removing something that is not there is 200', async () => {
    const u = uid();
    const f = feed('user', u);
    const a = await f.addActivity(act(1));
    const missing = '11111111-2222-1333-8444-555555555555';
    assert.deepEqual(withoutDuration(await f.removeActivity(missing)), { removed: missing });
    assert.deepEqual(withoutDuration(await f.removeActivity({ foreignId: 'nope' })), { removed: 'nope' });
    assert.deepEqual(withoutDuration(await feed('user', uid()).removeActivity(a.id)), { removed: a.id });
    assert.deepEqual(await feedIds(t, 'user', u), [a.id], 'removing from another feed leaves it here');
    await f.removeActivity(a.id);
    assert.deepEqual(withoutDuration(await f.removeActivity(a.id)), { removed: a.id }, 'removing twice is fine');
  });

  it('removal from the origin feed removes the copies in `to` targets and in followers', async () => {
    const u = uid();
    const [t1, t2, fu, ft] = [uid(), uid(), uid(), uid()];
    await follow('timeline', fu, 'user', u);
    await follow('timeline', ft, 'flat', t1);
    const f = feed('user', u);
    const a = await f.addActivity(act(1, { to: [`flat:${t1}`, `user:${t2}`] }));
    const other = await f.addActivity(act(2));
    assert.deepEqual(await feedIds(t, 'flat', t1), [a.id]);
    assert.deepEqual(await feedIds(t, 'user', t2), [a.id]);
    assert.deepEqual(await feedIds(t, 'timeline', fu), [other.id, a.id]);
    assert.deepEqual(await feedIds(t, 'timeline', ft), [a.id]);
    await f.removeActivity(a.id);
    assert.deepEqual(await feedIds(t, 'user', u), [other.id]);
    assert.deepEqual(await feedIds(t, 'flat', t1), []);
    assert.deepEqual(await feedIds(t, 'user', t2), []);
    assert.deepEqual(await feedIds(t, 'timeline', fu), [other.id]);
    assert.deepEqual(await feedIds(t, 'timeline', ft), []);
  });

  it('removal by foreign id from the origin feed removes the `to` copies too', async () => {
    const u = uid();
    const target = uid();
    const f = feed('user', u);
    await f.addActivity(act(1, { foreign_id: 'post:1', to: [`flat:${target}`] }));
    await f.removeActivity({ foreignId: 'post:1' });
    assert.deepEqual(await feedIds(t, 'user', u), []);
    assert.deepEqual(await feedIds(t, 'flat', target), []);
  });

  it('removal from a target feed only affects that feed (and its followers)', async () => {
    const u = uid();
    const [t1, t2, ft] = [uid(), uid(), uid()];
    await follow('timeline', ft, 'flat', t1);
    const a = await feed('user', u).addActivity(act(1, { to: [`flat:${t1}`, `flat:${t2}`] }));
    await feed('flat', t1).removeActivity(a.id);
    assert.deepEqual(await feedIds(t, 'flat', t1), []);
    assert.deepEqual(await feedIds(t, 'timeline', ft), []);
    assert.deepEqual(await feedIds(t, 'user', u), [a.id]);
    assert.deepEqual(await feedIds(t, 'flat', t2), [a.id]);
  });

  it('removal from a follower feed only affects that feed', async () => {
    const u = uid();
    const fu = uid();
    await follow('timeline', fu, 'user', u);
    const a = await feed('user', u).addActivity(act(1));
    await feed('timeline', fu).removeActivity(a.id);
    assert.deepEqual(await feedIds(t, 'timeline', fu), []);
    assert.deepEqual(await feedIds(t, 'user', u), [a.id]);
  });
});

describe('`to` targets (§6.1, §20.3.7-8)', () => {
  it('copies into each target with origin null and fans out to their followers with origin = target', async () => {
    const u = uid();
    const [t1, t2, f1, f2, fu] = [uid(), uid(), uid(), uid(), uid()];
    await follow('timeline', f1, 'flat', t1);
    await follow('timeline', f2, 'user', t2);
    await follow('timeline', fu, 'user', u);
    const to = [`flat:${t1}`, `user:${t2}`];
    const a = await feed('user', u).addActivity(act(1, { to, tag: 'x' }));
    const { duration: _d, ...stored } = a;
    const own = await readAll(t, 'user', u);
    assert.deepEqual(own, [stored]);
    for (const [slug, id] of [['flat', t1], ['user', t2]]) {
      const [copy, ...rest] = await readAll(t, slug, id);
      assert.equal(rest.length, 0);
      assert.deepEqual(copy, { ...stored, origin: null }, `${slug}:${id}`);
    }
    const [c1] = await readAll(t, 'timeline', f1);
    assert.deepEqual(c1, { ...stored, origin: `flat:${t1}` });
    const [c2] = await readAll(t, 'timeline', f2);
    assert.deepEqual(c2, { ...stored, origin: `user:${t2}` });
    const [c3] = await readAll(t, 'timeline', fu);
    assert.deepEqual(c3, { ...stored, origin: `user:${u}` });
  });

  it('works in batches, per activity', async () => {
    const u = uid();
    const [t1, t2] = [uid(), uid()];
    const res = await feed('user', u).addActivities([act(1, { to: [`flat:${t1}`] }), act(2), act(3, { to: [`flat:${t2}`, `flat:${t1}`] })]);
    const [a1, , a3] = res.activities;
    assert.deepEqual(await feedIds(t, 'flat', t1), [a3.id, a1.id]);
    assert.deepEqual(await feedIds(t, 'flat', t2), [a3.id]);
  });
});

describe('get activities by ids / foreign ids (§6.7)', () => {
  it('takes ids repeated as ids=… or ids[]=… as well as comma-separated (§1.2)', async () => {
    const f = feed('user', uid());
    const a = await f.addActivity(act(1));
    const b = await f.addActivity(act(2));
    for (const path of [`activities/?ids=${a.id}&ids=${b.id}`, `activities/?ids[]=${a.id}&ids[]=${b.id}`, `activities/?ids=${a.id},${b.id}`]) {
      const res = await rawRequest(t, 'GET', path);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.results.map((x: any) => x.id), [a.id, b.id], path);
    }
  });

  it('answers {results, duration} in request order, skipping unknown ids', async () => {
    const u = uid();
    const f = feed('user', u);
    const a = await f.addActivity(act(1, { x: { y: 1 } }));
    const b = await f.addActivity(act(2, { to: [`flat:${uid()}`] }));
    const unknown = '11111111-2222-1333-8444-555555555555';
    const res = await server().getActivities({ ids: [b.id, unknown, a.id] });
    assert.deepEqual(sortedKeys(res), ['duration', 'results']);
    assert.match(res.duration, DURATION_RE);
    const feedRead = (await f.get()).results;
    assert.deepEqual(res.results, [feedRead[0], feedRead[1]], 'key for key what the feed read returns');
    const rev = await server().getActivities({ ids: [a.id, b.id] });
    assert.deepEqual(rev.results.map((x: any) => x.id), [a.id, b.id]);
    const none = await server().getActivities({ ids: [unknown] });
    assert.deepEqual(withoutDuration(none), { results: [] });
  });

  it('finds activities by foreign_id + time with the server time string and with a JS ...Z string', async () => {
    const u = uid();
    const f = feed('user', u);
    const jsTime = new Date(Date.UTC(2024, 4, 1, 10, 0, 0, 123)).toISOString();
    const a = await f.addActivity(act(1, { foreign_id: 'like:1', time: jsTime }));
    const b = await f.addActivity(act(2, { foreign_id: 'like:2' }));
    assert.equal(a.time, '2024-05-01T10:00:00.123000');
    const byServer = await server().getActivities({
      foreignIDTimes: [
        { foreign_id: 'like:2', time: b.time },
        { foreign_id: 'like:1', time: a.time },
      ],
    });
    assert.deepEqual(sortedKeys(byServer), ['duration', 'results']);
    assert.deepEqual(byServer.results.map((x: any) => x.id), [b.id, a.id]);
    const byJs = await server().getActivities({ foreignIDTimes: [{ foreignID: 'like:1', time: jsTime }] });
    assert.deepEqual(byJs.results.map((x: any) => x.id), [a.id]);
    const { duration: _d, ...stored } = a;
    assert.deepEqual(byJs.results[0], stored);
  });

  it('skips unknown foreign id + time pairs', async () => {
    const u = uid();
    const a = await feed('user', u).addActivity(act(1, { foreign_id: 'k:1' }));
    const res = await server().getActivities({
      foreignIDTimes: [
        { foreign_id: 'k:1', time: '2001-01-01T00:00:00.000000' },
        { foreign_id: 'k:unknown', time: a.time },
        { foreign_id: 'k:1', time: a.time },
      ],
    });
    assert.deepEqual(res.results.map((x: any) => x.id), [a.id]);
  });

  it('works for a user token and through enrich/activities/', async () => {
    const u = uid();
    const a = await feed('user', u).addActivity(act(1));
    const res = await (t.userClient(u) as any).getActivities({ ids: [a.id] });
    assert.deepEqual(sortedKeys(res), ['duration', 'results']);
    assert.deepEqual(res.results.map((x: any) => x.id), [a.id]);
  });
});

describe('full update (§6.5, §23.2)', () => {
  it('replaces the activity: fields change, dropped custom fields vanish, id stays; answers {duration}', async () => {
    const u = uid();
    const fu = uid();
    await follow('timeline', fu, 'user', u);
    const f = feed('user', u);
    const a = await f.addActivity(act(1, { foreign_id: 'up:1', time: '2024-05-01T10:00:00.000000', keep: 1, drop: { x: 1 } }));
    const res = await server().updateActivity({
      actor: 'SU:bob',
      verb: 'edit',
      object: 'SO:post:2',
      target: 'SO:board:1',
      foreign_id: 'up:1',
      time: a.time,
      keep: 2,
      added: [1, { z: true }],
    });
    assert.deepEqual(sortedKeys(res), ['duration']);
    const expected = {
      id: a.id,
      actor: 'SU:bob',
      verb: 'edit',
      object: 'SO:post:2',
      target: 'SO:board:1',
      time: a.time,
      foreign_id: 'up:1',
      origin: null,
      keep: 2,
      added: [1, { z: true }],
    };
    assert.deepEqual(await readAll(t, 'user', u), [expected]);
    assert.deepEqual(await readAll(t, 'timeline', fu), [{ ...expected, origin: `user:${u}` }], 'followers hold references');
    const byId = await server().getActivities({ ids: [a.id] });
    assert.deepEqual(byId.results, [expected]);
  });

  it('identifies the activity by a JS ...Z time too, keeps `to` and updates target copies', async () => {
    const u = uid();
    const target = uid();
    const jsTime = '2024-05-01T10:00:00.500Z';
    const a = await feed('user', u).addActivity(act(1, { foreign_id: 'up:2', time: jsTime, to: [`flat:${target}`] }));
    await server().updateActivities([{ ...act(9), foreign_id: 'up:2', time: jsTime, v: 1 }]);
    const [copy] = await readAll(t, 'flat', target);
    assert.equal(copy.id, a.id);
    assert.equal(copy.object, 'SO:post:9');
    assert.equal(copy.v, 1);
    assert.deepEqual(copy.to, [`flat:${target}`], 'to is kept when left out');
    await server().updateActivities([{ ...act(10), foreign_id: 'up:2', time: a.time, to: [`flat:${target}`] }]);
    assert.equal((await readAll(t, 'user', u))[0].object, 'SO:post:10', 'the same `to` is accepted');
  });

  it('ignores an `id` in the item: the activity is the one named by foreign_id + time', async () => {
    const u = uid();
    const f = feed('user', u);
    const a = await f.addActivity(act(1, { foreign_id: 'up:5', time: '2024-05-01T10:00:00.000000' }));
    const other = await f.addActivity(act(2));
    await server().updateActivities([{ ...act(3), id: other.id, foreign_id: 'up:5', time: a.time }]);
    const byId = new Map((await readAll(t, 'user', u)).map((x) => [x.id, x]));
    assert.equal(byId.get(a.id).object, 'SO:post:3');
    assert.equal(byId.get(other.id).object, 'SO:post:2');
  });

  it('updates many activities at once (ten with the same time)', async () => {
    const u = uid();
    const time = new Date().toISOString();
    const res = await feed('user', u).addActivities(Array.from({ length: 10 }, (_, i) => act(i, { foreign_id: `m:${i}`, time })));
    await server().updateActivities(res.activities.map((a: any, i: number) => ({ ...act(i), foreign_id: `m:${i}`, time, round: 2 })));
    const all = await readAll(t, 'user', u);
    assert.equal(all.length, 10);
    for (const a of all) assert.equal(a.round, 2);
  });

  it('refuses a missing time or foreign_id, a bad time, or a changed `to` (400/4) and changes nothing', async () => {
    const u = uid();
    const a = await feed('user', u).addActivity(act(1, { foreign_id: 'up:3', time: '2024-05-01T10:00:00.000000', to: [`flat:${uid()}`] }));
    const { duration: _d, ...stored } = a;
    const base = { ...act(2), foreign_id: 'up:3', time: a.time };
    const { time: _t, ...noTime } = base;
    const { foreign_id: _f, ...noFid } = base;
    await expectApiError(server().updateActivities([noTime]), 400, 4, 'InputException');
    await expectApiError(server().updateActivities([noFid]), 400, 4, 'InputException');
    await expectApiError(server().updateActivities([{ ...base, time: 'aap' }]), 400, 4, 'InputException');
    await expectApiError(server().updateActivities([{ ...base, to: ['to:something'] }]), 400, 4, 'InputException');
    await expectApiError(server().updateActivities([{ ...base, to: [`flat:${uid()}`] }]), 400, 4, 'InputException');
    await expectApiError(server().updateActivities([{ ...base, object: '' }]), 400, 4, 'InputException');
    // A valid item followed by an invalid one: nothing is written.
    await expectApiError(server().updateActivities([base, noTime]), 400, 4, 'InputException');
    assert.deepEqual(await readAll(t, 'user', u), [stored]);
  });

  it('an unknown activity is created in no feed (as the official clients expect); a bad item writes nothing', async () => {
    const u = uid();
    const a = await feed('user', u).addActivity(act(1, { foreign_id: 'up:4', time: '2024-05-01T10:00:00.000000' }));
    const { duration: _d, ...stored } = a;
    await server().updateActivities([{ ...act(1), foreign_id: `up:unknown:${u}`, time: a.time }]);
    const created = await server().getActivities({ foreignIDTimes: [{ foreignID: `up:unknown:${u}`, time: a.time }] });
    assert.equal(created.results.length, 1);
    assert.equal(created.results[0].foreign_id, `up:unknown:${u}`);
    assert.deepEqual(await readAll(t, 'user', u), [stored]);
    // One invalid item rejects the batch: neither the existing nor the new activity changes.
    await expectApiError(
      server().updateActivities([
        { ...act(2), foreign_id: 'up:4', time: a.time },
        { ...act(3), foreign_id: `up:new:${u}`, time: '2024-05-01T10:00:00.000001' },
        { ...act(4), verb: '', foreign_id: 'up:4', time: a.time },
      ]),
      400,
      4,
    );
    assert.deepEqual(await readAll(t, 'user', u), [stored]);
    const none = await server().getActivities({ foreignIDTimes: [{ foreignID: `up:new:${u}`, time: '2024-05-01T10:00:00.000001' }] });
    assert.deepEqual(none.results, []);
  });
});

describe('partial update (§6.6)', () => {
  it('by id: dotted set paths, plain keys, unset; answers exactly {activities, duration}', async () => {
    const u = uid();
    const a = await feed('user', u).addActivity(
      act(1, { product: { name: 'shoe', price: 5 }, foo: { old: 1 }, color: 'red', ingredients: { meat: 1, veg: 2 } }),
    );
    const res = await server().activitiesPartialUpdate([
      {
        id: a.id,
        set: { 'product.price': 7.99, 'product.stock.count': 3, foo: { bar: { baz: 1 } }, fresh: [1, 2] },
        unset: ['color', 'ingredients.meat'],
      },
    ]);
    assert.deepEqual(sortedKeys(res), ['activities', 'duration']);
    assert.match(res.duration, DURATION_RE);
    const expected = {
      id: a.id,
      actor: 'SU:alice',
      verb: 'post',
      object: 'SO:post:1',
      target: '',
      time: a.time,
      foreign_id: '',
      origin: null,
      product: { name: 'shoe', price: 7.99, stock: { count: 3 } },
      foo: { bar: { baz: 1 } },
      ingredients: { veg: 2 },
      fresh: [1, 2],
    };
    assert.deepEqual(res.activities, [expected]);
    assert.deepEqual(await readAll(t, 'user', u), [expected]);
  });

  it('by foreign_id + time (server string or JS ...Z), with an empty unset', async () => {
    const u = uid();
    const jsTime = '2024-05-01T10:00:00.250Z';
    const a = await feed('user', u).addActivity(act(1, { foreign_id: 'pu:1', time: jsTime, n: 0 }));
    const r1 = await server().activityPartialUpdate({ foreign_id: 'pu:1', time: a.time, set: { n: 1 }, unset: [] });
    assert.equal(r1.id, a.id);
    assert.equal(r1.n, 1);
    assert.match(r1.duration, DURATION_RE);
    const r2 = await server().activityPartialUpdate({ foreignID: 'pu:1', time: jsTime, set: { n: 2 } } as any);
    assert.equal(r2.id, a.id);
    assert.equal(r2.n, 2);
    assert.equal((await readAll(t, 'user', u))[0].n, 2);
  });

  it('applies several changes in request order and returns them in that order', async () => {
    const u = uid();
    const f = feed('user', u);
    const a = await f.addActivity(act(1, { n: 0 }));
    const b = await f.addActivity(act(2, { n: 0 }));
    const res = await server().activitiesPartialUpdate([
      { id: b.id, set: { n: 1 } },
      { id: a.id, set: { n: 2 } },
      { id: b.id, set: { m: 3 } },
    ]);
    assert.deepEqual(res.activities.map((x: any) => x.id), [b.id, a.id, b.id]);
    const byId = new Map((await readAll(t, 'user', u)).map((x) => [x.id, x]));
    assert.equal(byId.get(b.id).n, 1);
    assert.equal(byId.get(b.id).m, 3);
    assert.equal(byId.get(a.id).n, 2);
  });

  it('is visible in every feed holding the activity', async () => {
    const u = uid();
    const [target, fu, ft] = [uid(), uid(), uid()];
    await follow('timeline', fu, 'user', u);
    await follow('timeline', ft, 'flat', target);
    const a = await feed('user', u).addActivity(act(1, { to: [`flat:${target}`] }));
    await server().activityPartialUpdate({ id: a.id, set: { seen: true } });
    for (const [slug, id, origin] of [
      ['user', u, null],
      ['flat', target, null],
      ['timeline', fu, `user:${u}`],
      ['timeline', ft, `flat:${target}`],
    ] as const) {
      const [copy] = await readAll(t, slug, id);
      assert.equal(copy.id, a.id, `${slug}:${id}`);
      assert.equal(copy.seen, true, `${slug}:${id}`);
      assert.equal(copy.origin, origin);
      assert.deepEqual(copy.to, [`flat:${target}`]);
    }
  });

  it('refuses unknown activities (404/16) and changes to identity fields (400/4), writing nothing', async () => {
    const u = uid();
    const a = await feed('user', u).addActivity(act(1, { foreign_id: 'pu:2', n: 0 }));
    const { duration: _d, ...stored } = a;
    await expectApiError(
      server().activityPartialUpdate({ id: '11111111-2222-1333-8444-555555555555', set: { n: 1 } }),
      404,
      16,
      'DoesNotExistException',
    );
    await expectApiError(server().activityPartialUpdate({ foreign_id: 'pu:2', time: '2001-01-01T00:00:00', set: { n: 1 } }), 404, 16);
    for (const set of [{ id: 'x' }, { time: '2024-01-01T00:00:00' }, { foreign_id: 'other' }, { to: ['flat:x'] }, { object: '' }]) {
      await expectApiError(server().activityPartialUpdate({ id: a.id, set }), 400, 4, 'InputException');
    }
    await expectApiError(server().activityPartialUpdate({ id: a.id, unset: ['actor'] }), 400, 4, 'InputException');
    await expectApiError(
      server().activitiesPartialUpdate([
        { id: a.id, set: { n: 5 } },
        { id: '11111111-2222-1333-8444-555555555555', set: { n: 1 } },
      ]),
      404,
      16,
    );
    assert.deepEqual(await readAll(t, 'user', u), [stored]);
  });
});

describe('update `to` targets (§6.9)', () => {
  it('new_targets replaces the list: copies added and removed; answers {activity, added, removed, duration}', async () => {
    const u = uid();
    const [t1, t2, t3, f1, f2] = [uid(), uid(), uid(), uid(), uid()];
    await follow('timeline', f1, 'flat', t1);
    await follow('timeline', f2, 'flat', t2);
    const f = feed('user', u);
    const a = await f.addActivity(act(1, { foreign_id: 'tt:1', time: '2024-05-01T10:00:00.000000', to: [`flat:${t1}`] }));
    assert.deepEqual(await feedIds(t, 'timeline', f1), [a.id]);
    const res = await f.updateActivityToTargets('tt:1', a.time, [`flat:${t2}`, `flat:${t3}`]);
    assert.deepEqual(sortedKeys(res), ['activity', 'added', 'removed', 'duration'].sort());
    assert.match(res.duration, DURATION_RE);
    const expected = {
      id: a.id,
      actor: 'SU:alice',
      verb: 'post',
      object: 'SO:post:1',
      target: '',
      time: a.time,
      foreign_id: 'tt:1',
      origin: null,
      to: [`flat:${t2}`, `flat:${t3}`],
    };
    assert.deepEqual(res.activity, expected);
    assert.deepEqual([...res.added].sort(), [`flat:${t2}`, `flat:${t3}`].sort());
    assert.deepEqual(res.removed, [`flat:${t1}`]);
    assert.deepEqual(await readAll(t, 'user', u), [expected]);
    assert.deepEqual(await feedIds(t, 'flat', t1), []);
    assert.deepEqual(await feedIds(t, 'timeline', f1), []);
    assert.deepEqual(await readAll(t, 'flat', t2), [expected]);
    assert.deepEqual(await readAll(t, 'flat', t3), [expected]);
    assert.deepEqual(await readAll(t, 'timeline', f2), [{ ...expected, origin: `flat:${t2}` }]);
  });

  it('added_targets and removed_targets edit the list (kept first, then added)', async () => {
    const u = uid();
    const [t1, t2, t3] = [uid(), uid(), uid()];
    const jsTime = '2024-05-01T10:00:00.750Z';
    const f = feed('user', u);
    const a = await f.addActivity(act(1, { foreign_id: 'tt:2', time: jsTime, to: [`flat:${t1}`, `flat:${t2}`] }));
    const res = await f.updateActivityToTargets('tt:2', jsTime, undefined, [`flat:${t3}`], [`flat:${t1}`]);
    assert.deepEqual(res.activity.to, [`flat:${t2}`, `flat:${t3}`]);
    assert.deepEqual(res.added, [`flat:${t3}`]);
    assert.deepEqual(res.removed, [`flat:${t1}`]);
    assert.deepEqual(await feedIds(t, 'flat', t1), []);
    assert.deepEqual(await feedIds(t, 'flat', t2), [a.id]);
    assert.deepEqual(await feedIds(t, 'flat', t3), [a.id]);
    const res2 = await f.updateActivityToTargets('tt:2', a.time, undefined, [`flat:${t1}`]);
    assert.deepEqual(res2.activity.to, [`flat:${t2}`, `flat:${t3}`, `flat:${t1}`]);
    assert.deepEqual(res2.removed, []);
  });

  it('`to` disappears when the list becomes empty', async () => {
    const u = uid();
    const [t1, t2] = [uid(), uid()];
    const f = feed('user', u);
    const a = await f.addActivity(act(1, { foreign_id: 'tt:3', to: [`flat:${t1}`] }));
    const res = await f.updateActivityToTargets('tt:3', a.time, undefined, undefined, [`flat:${t1}`]);
    assertActivityKeys(res.activity);
    const [own] = await readAll(t, 'user', u);
    assertActivityKeys(own);
    assert.deepEqual(await feedIds(t, 'flat', t1), []);
    // Adding targets to an activity without `to`, then clearing with new_targets: [].
    await f.updateActivityToTargets('tt:3', a.time, undefined, [`flat:${t2}`]);
    assert.deepEqual((await readAll(t, 'user', u))[0].to, [`flat:${t2}`]);
    const cleared = await f.updateActivityToTargets('tt:3', a.time, []);
    assertActivityKeys(cleared.activity);
    assert.deepEqual(cleared.removed, [`flat:${t2}`]);
    assertActivityKeys((await readAll(t, 'user', u))[0]);
    assert.deepEqual(await feedIds(t, 'flat', t2), []);
  });

  it('the batch form applies every item and answers {duration}', async () => {
    const u = uid();
    const [t1, t2] = [uid(), uid()];
    const f = feed('user', u);
    const a = await f.addActivity(act(1, { foreign_id: 'tt:5' }));
    const b = await f.addActivity(act(2, { foreign_id: 'tt:6', to: [`flat:${t1}`] }));
    const res = await f._updateActivityToTargetsMany([
      { foreignId: 'tt:5', time: a.time, addedTargets: [`flat:${t2}`] },
      { foreignId: 'tt:6', time: b.time, removedTargets: [`flat:${t1}`] },
    ]);
    assert.deepEqual(sortedKeys(res), ['duration']);
    assert.deepEqual(await feedIds(t, 'flat', t2), [a.id]);
    assert.deepEqual(await feedIds(t, 'flat', t1), []);
    const byId = new Map((await readAll(t, 'user', u)).map((x) => [x.id, x]));
    assert.deepEqual(byId.get(a.id).to, [`flat:${t2}`]);
    assert.equal('to' in byId.get(b.id), false);
  });

  it('items of one batch that add and then remove a target (or the reverse) leave the feeds as the last item says', async () => {
    const u = uid();
    const [t1, t2, fan] = [uid(), uid(), uid()];
    await follow('timeline', fan, 'flat', t1);
    const f = feed('user', u);
    const a = await f.addActivity(act(1, { foreign_id: 'tt:7', to: [`flat:${t2}`] }));
    await f._updateActivityToTargetsMany([
      { foreignId: 'tt:7', time: a.time, addedTargets: [`flat:${t1}`] },
      { foreignId: 'tt:7', time: a.time, removedTargets: [`flat:${t1}`, `flat:${t2}`] },
      { foreignId: 'tt:7', time: a.time, addedTargets: [`flat:${t2}`] },
    ]);
    assert.deepEqual(await feedIds(t, 'flat', t1), [], 'added then removed: not there');
    assert.deepEqual(await feedIds(t, 'timeline', fan), [], "nor in its follower's feed");
    assert.deepEqual(await feedIds(t, 'flat', t2), [a.id], 'removed then added back: there');
    assert.deepEqual((await readAll(t, 'user', u))[0].to, [`flat:${t2}`]);
  });

  it('refuses an unknown activity or unknown target group without changing anything', async () => {
    const u = uid();
    const t1 = uid();
    const f = feed('user', u);
    const a = await f.addActivity(act(1, { foreign_id: 'tt:4', to: [`flat:${t1}`] }));
    const { duration: _d, ...stored } = a;
    await expectApiError(f.updateActivityToTargets('tt:unknown', a.time, [`flat:${uid()}`]), 404, 16);
    await expectApiError(f.updateActivityToTargets('tt:4', a.time, ['nope:x']), 400, 4, 'InputException');
    await expectApiError(f.updateActivityToTargets('tt:4', 'aap', ['flat:x']), 400, 4, 'InputException');
    assert.deepEqual(await readAll(t, 'user', u), [stored]);
    assert.deepEqual(await feedIds(t, 'flat', t1), [a.id]);
  });
});

describe('add to many (§6.8)', () => {
  it('inserts the same activity (same id, origin null) into every feed without fan-out; answers {duration}', async () => {
    const [a, b, c, follower] = [uid(), uid(), uid(), uid()];
    await follow('timeline', follower, 'flat', a);
    const res = await server().addToMany({ ...act(1), foreign_id: 'many:1', extra: { n: 1 } }, [`flat:${a}`, `user:${b}`, `flat:${c}`]);
    assert.deepEqual(sortedKeys(res), ['duration']);
    const [x] = await readAll(t, 'flat', a);
    assertActivityKeys(x, ['extra']);
    assert.equal(x.origin, null);
    assert.equal(x.foreign_id, 'many:1');
    assertIdMatchesTime(x);
    assert.deepEqual(await readAll(t, 'user', b), [x]);
    assert.deepEqual(await readAll(t, 'flat', c), [x]);
    assert.deepEqual(await feedIds(t, 'timeline', follower), [], 'no fan-out to followers');
  });

  it('refuses an activity with `to` (400/4) and writes nothing', async () => {
    const a = uid();
    await expectApiError(server().addToMany({ ...act(1), to: [`flat:${uid()}`] }, [`flat:${a}`]), 400, 4, 'InputException');
    assert.deepEqual(await feedIds(t, 'flat', a), []);
  });
});

describe('max_length (§23.2)', () => {
  it('keeps the newest max_length entries of a feed', async () => {
    const s = uid();
    const f = feed('short', s);
    const added = [];
    for (let i = 0; i < 8; i++) added.push(await f.addActivity(act(i)));
    const ids = added.map((a) => a.id).reverse();
    assert.deepEqual(await feedIds(t, 'short', s), ids.slice(0, 5));
  });

  it('trims on batch adds and on fan-out into the feed', async () => {
    const s = uid();
    const res = await feed('short', s).addActivities(Array.from({ length: 7 }, (_, i) => act(i)));
    assert.deepEqual(await feedIds(t, 'short', s), res.activities.map((a: any) => a.id).reverse().slice(0, 5));
    const u = uid();
    const follower = uid();
    await follow('short', follower, 'user', u);
    const added = [];
    for (let i = 0; i < 7; i++) added.push(await feed('user', u).addActivity(act(i)));
    assert.deepEqual(await feedIds(t, 'short', follower), added.map((a) => a.id).reverse().slice(0, 5));
    assert.equal((await feedIds(t, 'user', u)).length, 7, 'the source feed keeps everything');
  });

  it('keeps the newest by activity time, whatever the insertion order', async () => {
    const s = uid();
    const f = feed('short', s);
    const times = [5, 1, 7, 3, 6, 2, 4].map((n) => `2024-05-01T10:00:0${n}.000000`);
    const added = [];
    for (const time of times) added.push(await f.addActivity(act(time, { time })));
    const newest = [...added].sort((x, y) => (x.time < y.time ? 1 : -1)).slice(0, 5).map((a) => a.id);
    assert.deepEqual(await feedIds(t, 'short', s), newest);
  });
});
