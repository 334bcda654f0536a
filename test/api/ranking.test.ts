// Black-box tests of ranked feed reads (stream-v2-api.md §6.3, §23.4) through the official
// getstream client. Scores are computed here from each method's formula, written out in the test
// (variable lookup, decay functions, ordering); nothing is imported from the server's ranking code.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StreamClient, StreamFeed } from 'getstream';
import { rawRequest, startServer, uid, type TestServer } from '../support/server.js';
import { assertActivityKeys, assertRawError, DURATION_RE, expectApiError } from './activity-helpers.js';

type Act = Record<string, any> & { id: string; time: string; origin: string | null };
type Ranked = Act & { score: number | null; score_vars?: Record<string, number> };

const RANKINGS = {
  popular: { score: 'decay_linear(time) * popularity ^ 0.5', defaults: { popularity: 1 } },
  simple: { score: 'popularity * 2 + likes' },
  boosted: { score: 'boost * popularity', defaults: { boost: 1 } },
  windowed: { score: 'popularity', window: 5 },
  nested: { score: 'stats.likes * 10 + stats.shares - ln(stats.age + 1)' },
  decays: { score: 'decay_exp(time, 3600) * 10 + decay_gauss(time, 7200, 1800, 0.25) + -2 ^ 2 / 4' },
  inverse: { score: '1 / popularity' },
  random: { score: 'rand() + popularity' },
  flat: { score: '1' },
};

const GROUPS = [
  { name: 'user', type: 'flat' as const },
  { name: 'ranked', type: 'flat' as const, ranking: RANKINGS },
  { name: 'timeline', type: 'flat' as const, ranking: { popular: RANKINGS.popular } },
  { name: 'agg', type: 'aggregated' as const },
  { name: 'notification', type: 'notification' as const },
];

// ---------------------------------------------------------------------------------------------
// The model: each formula written out here, with §23.4's lookup and decay rules.

const DAY = 86_400;
/** Ranked reads round "now" down to a minute (so page boundaries stay put within a session). */
const CLOCK_STEP_S = 60;

/** Seconds since the epoch of a stored activity time (`…ffffff`, UTC, no zone). */
function seconds(time: string): number {
  return Date.parse(time.slice(0, 19) + 'Z') / 1000 + Number(time.slice(20, 26)) / 1e6;
}

/** §23.4 lookup: the activity's field (dotted path), then ranking vars, then defaults, then 0. */
function lookup(a: Act, name: string, vars: Record<string, unknown> = {}, defaults: Record<string, number> = {}): number {
  if (name === 'time') return seconds(a.time);
  const walk = (root: any): unknown => name.split('.').reduce((v, k) => (v !== null && typeof v === 'object' ? v[k] : undefined), root);
  let v = walk(a);
  if (v === undefined || v === null) v = walk(vars);
  if (v === undefined || v === null) return defaults[name] ?? 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return 0;
}

function decayDistance(now: number, t: number, offset: number): number {
  return Math.max(0, Math.abs(now - t) - offset);
}
const decayLinear = (now: number, t: number, scale = DAY, offset = 0, decay = 0.5) =>
  Math.max(0, 1 - ((1 - decay) * decayDistance(now, t, offset)) / scale);
const decayExp = (now: number, t: number, scale = DAY, offset = 0, decay = 0.5) => decay ** (decayDistance(now, t, offset) / scale);
const decayGauss = (now: number, t: number, scale = DAY, offset = 0, decay = 0.5) =>
  decay ** ((decayDistance(now, t, offset) / scale) ** 2);

type Scorer = (a: Act, now?: number, vars?: Record<string, unknown>) => number;

const SCORE: Record<string, Scorer> = {
  popular: (a, now = NaN) => decayLinear(now, seconds(a.time)) * Math.pow(lookup(a, 'popularity', {}, { popularity: 1 }), 0.5),
  simple: (a) => lookup(a, 'popularity') * 2 + lookup(a, 'likes'),
  boosted: (a, _now, vars) => lookup(a, 'boost', vars, { boost: 1 }) * lookup(a, 'popularity', vars),
  windowed: (a) => lookup(a, 'popularity'),
  nested: (a) => lookup(a, 'stats.likes') * 10 + lookup(a, 'stats.shares') - Math.log(lookup(a, 'stats.age') + 1),
  decays: (a, now = NaN) => decayExp(now, seconds(a.time), 3600) * 10 + decayGauss(now, seconds(a.time), 7200, 1800, 0.25) + -(2 ** 2) / 4,
  inverse: (a) => 1 / lookup(a, 'popularity'),
  flat: () => 1,
};

/** The sortable form of a version-1 UUID (time first, §4.2): ties are broken by id descending. */
function idKey(id: string): string {
  return id.slice(14, 18) + id.slice(9, 13) + id.slice(0, 8) + id.slice(19, 23) + id.slice(24, 36);
}

/** Ranked order: higher score first, non-finite last, ties by id descending. */
function rank(acts: readonly Act[], score: (a: Act) => number): { act: Act; score: number }[] {
  return acts
    .map((act) => ({ act, score: score(act) }))
    .sort((x, y) => {
      const fx = Number.isFinite(x.score);
      const fy = Number.isFinite(y.score);
      if (fx !== fy) return fx ? -1 : 1;
      if (fx && x.score !== y.score) return y.score - x.score;
      const a = idKey(x.act.id);
      const b = idKey(y.act.id);
      return a > b ? -1 : a < b ? 1 : 0;
    });
}

function close(actual: number | null, expected: number, what: string): void {
  if (!Number.isFinite(expected)) {
    assert.equal(actual, null, `${what}: a non-finite score is written as null`);
    return;
  }
  assert.equal(typeof actual, 'number', what);
  assert.ok(Math.abs(actual! - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${what}: expected ${expected}, got ${actual}`);
}

/** Asserts a ranked page equals the model's order and scores. */
function assertRanked(results: Ranked[], expected: { act: Act; score: number }[], origin: string | null = null): void {
  assert.deepEqual(
    results.map((r) => r.id),
    expected.map((e) => e.act.id),
    `ranked order; expected scores ${JSON.stringify(expected.map((e) => e.score))}, got ${JSON.stringify(results.map((r) => r.score))}`,
  );
  results.forEach((r, i) => {
    close(r.score, expected[i].score, `score of ${r.id}`);
    const { score: _s, score_vars: _v, origin: o, ...stored } = unenriched(r);
    const { origin: _o, ...want } = expected[i].act;
    assert.deepEqual(stored, want, 'a ranked activity is the stored activity plus score');
    assert.equal(o, origin);
  });
}

/**
 * An activity from an `enrich/` read (the client picks it for user tokens and withScoreVars) with
 * its actor reference put back: the actors here have no user objects, so enrichment shows them
 * in the reference-not-found form (§9.1).
 */
function unenriched<T extends Record<string, any>>(a: T): T {
  if (typeof a.actor !== 'object' || a.actor === null) return a;
  assert.equal(a.actor.error, 'ReferenceNotFound');
  assert.equal(typeof a.actor.reference, 'string');
  return { ...a, actor: a.actor.reference };
}

const minute = () => Math.floor(Date.now() / 1000 / CLOCK_STEP_S) * CLOCK_STEP_S;

/**
 * Runs a read whose scores depend on the request time, with the model's "now" equal to the
 * server's: the minute is taken before and after, and the read repeated if it straddled one.
 */
async function atSameMinute<T>(read: () => Promise<T>): Promise<{ res: T; now: number }> {
  for (let i = 0; i < 3; i++) {
    const before = minute();
    const res = await read();
    if (minute() === before) return { res, now: before };
  }
  throw new Error('could not read within one minute');
}

/** `h` hours before now (negative: after), as the JS client sends times. */
function hoursAgo(h: number): string {
  return new Date(Date.now() - h * 3600_000).toISOString();
}

async function addMany(feed: StreamFeed, acts: Record<string, unknown>[]): Promise<Act[]> {
  const res = (await feed.addActivities(acts as any)) as unknown as { activities: Act[] };
  return res.activities;
}

function nextOptions(next: string, feed: StreamFeed, prefix = ''): Record<string, any> {
  assert.ok(next.startsWith(`/api/v1.0/${prefix}feed/${feed.slug}/${feed.userId}/?`), `next link ${next}`);
  const q: Record<string, any> = Object.fromEntries(new URL(next, 'http://x').searchParams);
  for (const k of ['limit', 'offset']) if (q[k] !== undefined) q[k] = Number(q[k]);
  return q;
}

// ---------------------------------------------------------------------------------------------

describe('ranked feeds', () => {
  let t: TestServer;
  let client: StreamClient;
  before(async () => {
    t = await startServer({ groups: GROUPS });
    client = t.client();
  });
  after(async () => t.close());

  describe('order and scores', () => {
    it('decay_linear(time) * popularity ^ 0.5 with a default, ordered and scored as computed', async () => {
      const feed = client.feed('ranked', uid('r'));
      const acts = await addMany(feed, [
        { actor: 'SU:a', verb: 'post', object: 'o:1', time: hoursAgo(1), popularity: 4 },
        { actor: 'SU:a', verb: 'post', object: 'o:2', time: hoursAgo(2), popularity: 9 },
        { actor: 'SU:a', verb: 'post', object: 'o:3', time: hoursAgo(30), popularity: 100 },
        { actor: 'SU:a', verb: 'post', object: 'o:4', time: hoursAgo(0.5) }, // default popularity 1
        { actor: 'SU:a', verb: 'post', object: 'o:5', time: hoursAgo(47), popularity: 25 },
        { actor: 'SU:a', verb: 'post', object: 'o:6', time: hoursAgo(72), popularity: 10_000 }, // decayed to 0
        { actor: 'SU:a', verb: 'post', object: 'o:7', time: hoursAgo(96), popularity: 50 }, // 0 too: tie by id
        { actor: 'SU:a', verb: 'post', object: 'o:8', time: hoursAgo(-3), popularity: 16 }, // in the future
        { actor: 'SU:a', verb: 'post', object: 'o:9', time: hoursAgo(12), popularity: 0 },
        { actor: 'SU:a', verb: 'post', object: 'o:10', time: hoursAgo(5), popularity: 2.25 },
      ]);
      const { res, now } = await atSameMinute(() => feed.get({ ranking: 'popular', limit: 25 }));
      assert.deepEqual(Object.keys(res).sort(), ['duration', 'next', 'results']);
      assert.match(String(res.duration), DURATION_RE);
      assert.equal(res.next, '');
      const expected = rank(acts, (a) => SCORE.popular(a, now));
      assertRanked(res.results as unknown as Ranked[], expected);
      // The two activities decayed to 0 and the 0-popularity one tie at 0: newest id first.
      assert.deepEqual(
        expected.slice(-3).map((e) => e.score),
        [0, 0, 0],
      );
      for (const r of res.results as unknown as Ranked[]) assertActivityKeys(r, [...(r.popularity !== undefined ? ['popularity'] : []), 'score']);
    });

    it('popularity * 2 + likes: missing variables without a default are 0', async () => {
      const feed = client.feed('ranked', uid('r'));
      const acts = await addMany(feed, [
        { actor: 'SU:a', verb: 'post', object: 'o:1', popularity: 3, likes: 1 },
        { actor: 'SU:a', verb: 'post', object: 'o:2', popularity: 1, likes: 10 },
        { actor: 'SU:a', verb: 'post', object: 'o:3', likes: 6 },
        { actor: 'SU:a', verb: 'post', object: 'o:4', popularity: 3 },
        { actor: 'SU:a', verb: 'post', object: 'o:5' },
        { actor: 'SU:a', verb: 'post', object: 'o:6', popularity: -2, likes: 1 },
        { actor: 'SU:a', verb: 'post', object: 'o:7', popularity: null, likes: 2 },
        { actor: 'SU:a', verb: 'post', object: 'o:8', popularity: 2.5, likes: 0.25 },
      ]);
      const res = await feed.get({ ranking: 'simple' });
      const expected = rank(acts, SCORE.simple);
      assert.deepEqual(expected.map((e) => e.score), [12, 7, 6, 6, 5.25, 2, 0, -3]);
      assertRanked(res.results as unknown as Ranked[], expected);
    });

    it('equal scores are ordered by id descending', async () => {
      const feed = client.feed('ranked', uid('r'));
      const time = hoursAgo(2);
      // Same time: the ids differ only in their hashed bits.
      const acts = await addMany(feed, [
        ...Array.from({ length: 6 }, (_, i) => ({ actor: 'SU:a', verb: 'post', object: `same:${i}`, time })),
        ...Array.from({ length: 6 }, (_, i) => ({ actor: 'SU:a', verb: 'post', object: `o:${i}` })),
      ]);
      const res = await feed.get({ ranking: 'flat' });
      const expected = rank(acts, SCORE.flat);
      assertRanked(res.results as unknown as Ranked[], expected);
      const plain = await feed.get();
      assert.deepEqual(res.results.map((a) => a.id), plain.results.map((a) => a.id), 'a constant score keeps the feed order');
    });

    it('nested variables by dots, functions, and unary minus below ^', async () => {
      const feed = client.feed('ranked', uid('r'));
      const acts = await addMany(feed, [
        { actor: 'SU:a', verb: 'post', object: 'o:1', stats: { likes: 3, shares: 2, age: 9 } },
        { actor: 'SU:a', verb: 'post', object: 'o:2', stats: { likes: 2, shares: 30 } },
        { actor: 'SU:a', verb: 'post', object: 'o:3', stats: { shares: 1, age: 0 } },
        { actor: 'SU:a', verb: 'post', object: 'o:4', stats: 5 },
      ]);
      const res = await feed.get({ ranking: 'nested' });
      assertRanked(res.results as unknown as Ranked[], rank(acts, SCORE.nested));

      const timed = client.feed('ranked', uid('r'));
      const tacts = await addMany(timed, [0.2, 1, 1.5, 2.5, 4, 9, 30].map((h, i) => ({ actor: 'SU:a', verb: 'p', object: `t:${i}`, time: hoursAgo(h) })));
      const { res: r2, now } = await atSameMinute(() => timed.get({ ranking: 'decays' }));
      assertRanked(r2.results as unknown as Ranked[], rank(tacts, (a) => SCORE.decays(a, now)));
    });

    it('non-finite scores sort last (ties by id) and are written as null', async () => {
      const feed = client.feed('ranked', uid('r'));
      const acts = await addMany(feed, [
        { actor: 'SU:a', verb: 'post', object: 'o:1', popularity: 4 },
        { actor: 'SU:a', verb: 'post', object: 'o:2', popularity: 0 },
        { actor: 'SU:a', verb: 'post', object: 'o:3', popularity: -0.5 },
        { actor: 'SU:a', verb: 'post', object: 'o:4' },
        { actor: 'SU:a', verb: 'post', object: 'o:5', popularity: 0.1 },
      ]);
      const res = await feed.get({ ranking: 'inverse' });
      const expected = rank(acts, SCORE.inverse);
      assert.equal(expected.filter((e) => !Number.isFinite(e.score)).length, 2);
      assertRanked(res.results as unknown as Ranked[], expected);
    });

    it('an empty feed ranks to nothing', async () => {
      const res = (await client.feed('ranked', uid('empty')).get({ ranking: 'popular', withScoreVars: true })) as any;
      assert.deepEqual([res.results, res.next], [[], '']);
    });

    it('ranked reads cover copies received through follows, with their origin', async () => {
      const star = client.feed('user', uid('star'));
      const tl = client.feed('timeline', uid('tl'));
      await tl.follow('user', star.userId);
      const acts = await addMany(star, [
        { actor: 'SU:s', verb: 'post', object: 'o:1', time: hoursAgo(3), popularity: 4 },
        { actor: 'SU:s', verb: 'post', object: 'o:2', time: hoursAgo(1), popularity: 1 },
        { actor: 'SU:s', verb: 'post', object: 'o:3', time: hoursAgo(20), popularity: 49 },
      ]);
      const { res, now } = await atSameMinute(() => tl.get({ ranking: 'popular' }));
      assertRanked(res.results as unknown as Ranked[], rank(acts, (a) => SCORE.popular(a, now)), star.id);
    });

    it('the owner reads a ranked feed with a user token', async () => {
      const owner = uid('owner');
      const feed = client.feed('ranked', owner);
      const acts = await addMany(feed, [
        { actor: `SU:${owner}`, verb: 'post', object: 'o:1', popularity: 1, likes: 1 },
        { actor: `SU:${owner}`, verb: 'post', object: 'o:2', popularity: 2 },
      ]);
      const res = await t.userClient(owner).feed('ranked', owner).get({ ranking: 'simple' });
      assertRanked(res.results as unknown as Ranked[], rank(acts, SCORE.simple));
    });
  });

  describe('paging', () => {
    let feed: StreamFeed;
    let acts: Act[];
    before(async () => {
      feed = client.feed('ranked', uid('pages'));
      acts = await addMany(
        feed,
        Array.from({ length: 11 }, (_, i) => ({ actor: 'SU:a', verb: 'post', object: `o:${i}`, popularity: (i * 7) % 5, likes: i % 3 })),
      );
    });

    it('offset pages through the ranked order; `next` carries the ranking and is "" after the last page', async () => {
      const expected = rank(acts, SCORE.simple);
      for (const limit of [1, 3, 4, 11, 20]) {
        const got: Ranked[] = [];
        let opts: Record<string, any> = { ranking: 'simple', limit };
        let pages = 0;
        for (;;) {
          const res = (await feed.get(opts)) as any;
          pages++;
          got.push(...res.results);
          if (res.next === '') break;
          assert.equal(res.results.length, limit);
          const q = nextOptions(res.next, feed);
          assert.equal(q.ranking, 'simple');
          assert.equal(q.offset, pages * limit);
          assert.equal(q.limit, limit);
          opts = q;
        }
        assert.equal(pages, Math.max(1, Math.ceil(11 / limit)), `pages at limit ${limit}`);
        assertRanked(got, expected);
      }
    });

    it('offset and limit select slices; an offset past the end is empty', async () => {
      const expected = rank(acts, SCORE.simple);
      for (const [limit, offset] of [[3, 0], [3, 3], [5, 8], [2, 10], [4, 11], [4, 50]]) {
        const res = (await feed.get({ ranking: 'simple', limit, offset })) as any;
        assertRanked(res.results, expected.slice(offset, offset + limit));
        assert.equal(res.next === '', offset + limit >= 11, `next at ${limit}/${offset}`);
      }
    });

    it('id bounds select the candidates before ranking', async () => {
      const byTime = [...acts].sort((x, y) => (idKey(x.id) > idKey(y.id) ? -1 : 1));
      const pivot = byTime[4];
      const older = byTime.slice(5);
      const res = (await feed.get({ ranking: 'simple', id_lt: pivot.id, limit: 100 })) as any;
      assertRanked(res.results, rank(older, SCORE.simple));
      const newer = (await feed.get({ ranking: 'simple', id_gte: pivot.id, limit: 100 })) as any;
      assertRanked(newer.results, rank(byTime.slice(0, 5), SCORE.simple));
      // Paging on with `next` keeps the bounds: every page ranks the same candidates.
      const boundSets: Record<string, string>[] = [
        { id_lt: pivot.id },
        { id_lte: pivot.id },
        { id_gt: byTime[8].id },
        { id_lt: byTime[1].id, id_gte: byTime[9].id },
      ];
      for (const bounds of boundSets) {
        const got: Ranked[] = [];
        let opts: Record<string, any> = { ranking: 'simple', limit: 2, ...bounds };
        for (;;) {
          const res = (await feed.get(opts)) as any;
          got.push(...res.results);
          if (res.next === '') break;
          opts = nextOptions(res.next, feed);
        }
        const inRange = byTime.filter((a) => {
          const k = idKey(a.id);
          const b = bounds;
          return (
            (!b.id_lt || k < idKey(b.id_lt)) &&
            (!b.id_lte || k <= idKey(b.id_lte)) &&
            (!b.id_gt || k > idKey(b.id_gt)) &&
            (!b.id_gte || k >= idKey(b.id_gte))
          );
        });
        assertRanked(got, rank(inRange, SCORE.simple));
      }
    });

    it('rand() is stable within a session, so pages neither repeat nor skip', async () => {
      const full = (await feed.get({ ranking: 'random', session: 's1', limit: 100 })) as any;
      const again = (await feed.get({ ranking: 'random', session: 's1', limit: 100 })) as any;
      assert.deepEqual(again.results.map((r: Ranked) => [r.id, r.score]), full.results.map((r: Ranked) => [r.id, r.score]));
      for (const r of full.results as Ranked[]) {
        const base = lookup(r, 'popularity');
        assert.ok(r.score! >= base && r.score! < base + 1, `rand() + popularity within [${base}, ${base + 1}): ${r.score}`);
      }
      // Scores are sorted and paging with the session reproduces the full order.
      const scores = full.results.map((r: Ranked) => r.score);
      assert.deepEqual(scores, [...scores].sort((a: number, b: number) => b - a));
      const got: Ranked[] = [];
      let opts: Record<string, any> = { ranking: 'random', session: 's1', limit: 4 };
      for (;;) {
        const res = (await feed.get(opts)) as any;
        got.push(...res.results);
        if (res.next === '') break;
        opts = nextOptions(res.next, feed);
        assert.equal(opts.session, 's1');
      }
      assert.deepEqual(got.map((r) => [r.id, r.score]), full.results.map((r: Ranked) => [r.id, r.score]));
    });
  });

  describe('windows', () => {
    it('only the newest `window` entries are scored; offset pages inside the window', async () => {
      const feed = client.feed('ranked', uid('w'));
      // The oldest have the highest popularity; they are outside the window of 5.
      const acts = await addMany(
        feed,
        Array.from({ length: 9 }, (_, i) => ({ actor: 'SU:a', verb: 'post', object: `o:${i}`, popularity: 100 - i * 10 })),
      );
      const newest5 = [...acts].sort((x, y) => (idKey(x.id) > idKey(y.id) ? -1 : 1)).slice(0, 5);
      const res = (await feed.get({ ranking: 'windowed', limit: 25 })) as any;
      assertRanked(res.results, rank(newest5, SCORE.windowed));
      assert.equal(res.next, '');
      const p1 = (await feed.get({ ranking: 'windowed', limit: 3 })) as any;
      assert.notEqual(p1.next, '');
      const p2 = (await feed.get(nextOptions(p1.next, feed))) as any;
      assertRanked([...p1.results, ...p2.results], rank(newest5, SCORE.windowed));
      assert.equal(p2.next, '');
      const past = (await feed.get({ ranking: 'windowed', offset: 5 })) as any;
      assert.deepEqual([past.results, past.next], [[], '']);
    });
  });

  describe('ranking variables and score_vars', () => {
    let feed: StreamFeed;
    let acts: Act[];
    before(async () => {
      feed = client.feed('ranked', uid('vars'));
      acts = await addMany(feed, [
        { actor: 'SU:a', verb: 'post', object: 'o:1', popularity: 5 },
        { actor: 'SU:a', verb: 'post', object: 'o:2', popularity: 3, boost: 10 }, // its own boost wins
        { actor: 'SU:a', verb: 'post', object: 'o:3', popularity: 7 },
        { actor: 'SU:a', verb: 'post', object: 'o:4' }, // popularity from the vars when given
      ]);
    });

    it('without rankingVars the defaults apply', async () => {
      const res = (await feed.get({ ranking: 'boosted' })) as any;
      const expected = rank(acts, (a) => SCORE.boosted(a, 0, {}));
      assert.deepEqual(expected.map((e) => e.score), [30, 7, 5, 0]);
      assertRanked(res.results, expected);
    });

    it('rankingVars as a JSON object string', async () => {
      const vars = { boost: 3, popularity: 2 };
      const res = (await feed.get({ ranking: 'boosted', rankingVars: JSON.stringify(vars) })) as any;
      const expected = rank(acts, (a) => SCORE.boosted(a, 0, vars));
      assert.deepEqual(expected.map((e) => e.score), [30, 21, 15, 6]);
      assertRanked(res.results, expected);
    });

    it('rankingVars in bracket form (the client sends an object that way; so can raw requests)', async () => {
      const vars = { boost: 0.5 };
      const expected = rank(acts, (a) => SCORE.boosted(a, 0, vars));
      const viaClient = (await feed.get({ ranking: 'boosted', rankingVars: vars })) as any;
      assertRanked(viaClient.results, expected);
      const raw = await rawRequest(t, 'GET', `feed/ranked/${feed.userId}/`, { query: { ranking: 'boosted', 'rankingVars[boost]': '0.5' } });
      assert.equal(raw.status, 200, raw.text);
      assertRanked(raw.body.results, expected);
      // Go's spelling, JSON form.
      const go = await rawRequest(t, 'GET', `feed/ranked/${feed.userId}/`, { query: { ranking: 'boosted', ranking_vars: '{"boost":0.5}' } });
      assert.equal(go.status, 200, go.text);
      assertRanked(go.body.results, expected);
    });

    it('`next` keeps the ranking variables, so later pages are scored alike', async () => {
      const vars = { boost: 4, popularity: 9 };
      const expected = rank(acts, (a) => SCORE.boosted(a, 0, vars));
      for (const rankingVars of [JSON.stringify(vars), vars]) {
        const got: Ranked[] = [];
        let opts: Record<string, any> = { ranking: 'boosted', rankingVars, limit: 1 };
        for (;;) {
          const res = (await feed.get(opts)) as any;
          got.push(...res.results);
          if (res.next === '') break;
          opts = nextOptions(res.next, feed);
        }
        assertRanked(got, expected);
      }
    });

    it('withScoreVars adds score_vars: every variable the formula read, with the value used', async () => {
      const vars = { boost: 2 };
      const res = (await feed.get({ ranking: 'boosted', rankingVars: JSON.stringify(vars), withScoreVars: true })) as any;
      const expected = rank(acts, (a) => SCORE.boosted(a, 0, vars));
      const results = res.results as Ranked[];
      assert.deepEqual(results.map((r) => r.id), expected.map((e) => e.act.id));
      for (const r of results) {
        assert.deepEqual(r.score_vars, { boost: lookup(r, 'boost', vars, { boost: 1 }), popularity: lookup(r, 'popularity', vars) });
        close(r.score, r.score_vars!.boost * r.score_vars!.popularity, 'score from score_vars');
      }
      const plain = (await feed.get({ ranking: 'boosted' })) as any;
      for (const r of plain.results) assert.equal('score_vars' in r, false, 'score_vars only when asked');

      const timed = client.feed('ranked', uid('sv'));
      const tacts = await addMany(timed, [
        { actor: 'SU:a', verb: 'post', object: 'o:1', time: hoursAgo(2), popularity: 4 },
        { actor: 'SU:a', verb: 'post', object: 'o:2', time: hoursAgo(6) },
      ]);
      const { res: r2, now } = await atSameMinute(() => timed.get({ ranking: 'popular', withScoreVars: true }));
      const exp2 = rank(tacts, (a) => SCORE.popular(a, now));
      assertRanked(r2.results as unknown as Ranked[], exp2);
      for (const r of r2.results as unknown as Ranked[]) {
        assert.deepEqual(Object.keys(r.score_vars!).sort(), ['popularity', 'time']);
        assert.equal(r.score_vars!.popularity, lookup(r, 'popularity', {}, { popularity: 1 }));
        close(r.score_vars!.time, seconds(r.time), 'score_vars.time is the activity time in seconds');
      }
    });
  });

  describe('errors', () => {
    it('a ranking the group lacks is 400/12', async () => {
      const feed = client.feed('ranked', uid('e'));
      await expectApiError(feed.get({ ranking: 'nope' }), 400, 12, 'MissingRankingException');
      await expectApiError(client.feed('user', uid('e')).get({ ranking: 'popular' }), 400, 12, 'MissingRankingException');
      // `popular` exists in the timeline group only with its own formula; `simple` does not.
      await expectApiError(client.feed('timeline', uid('e')).get({ ranking: 'simple' }), 400, 12, 'MissingRankingException');
    });

    it('ranking an aggregated or notification feed is 400/12 (config refuses methods on them)', async () => {
      const feed = client.feed('agg', uid('e'));
      await feed.addActivity({ actor: 'SU:a', verb: 'post', object: 'o:1', popularity: 1 } as any);
      await expectApiError(feed.get({ ranking: 'popular' }), 400, 12, 'MissingRankingException');
      await expectApiError(client.feed('notification', uid('e')).get({ ranking: 'popular' }), 400, 12, 'MissingRankingException');
      // Without ranking it reads as groups.
      const res = (await feed.get()) as any;
      assert.equal(res.results[0].group, 'post_' + res.results[0].activities[0].time.slice(0, 10));
    });

    it('rankingVars that are not an object are 400/4, on ranked and unranked reads alike', async () => {
      const ranked = client.feed('ranked', uid('e'));
      const user = client.feed('user', uid('e'));
      for (const f of [ranked, user]) {
        for (const bad of ['["popular",1]', 'not json', '3', 'null', '"boost"']) {
          await expectApiError(f.get({ ranking: f === ranked ? 'boosted' : undefined, rankingVars: bad }), 400, 4, 'InputException');
        }
        const raw = await rawRequest(t, 'GET', `feed/${f.slug}/${f.userId}/`, { query: { 'rankingVars[]': 'popular' } });
        assertRawError(raw, 400, 4, 'InputException');
      }
    });

    it('bad paging values on a ranked read are 400/4', async () => {
      const feed = client.feed('ranked', uid('e'));
      await expectApiError(feed.get({ ranking: 'simple', offset: 'x' as any }), 400, 4, 'InputException');
      await expectApiError(feed.get({ ranking: 'simple', offset: 10_001 }), 400, 4, 'InputException');
      await expectApiError(feed.get({ ranking: 'simple', id_lt: 'nope' }), 400, 4, 'InputException');
    });
  });
});
