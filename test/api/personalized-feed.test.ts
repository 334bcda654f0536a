import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NO_POLICY_DETAIL } from '../../src/core/errors.js';
import { startServer, TEST_GROUPS, uid, type TestServer } from '../support/server.js';
import { expectApiError } from './activity-helpers.js';

const GROUPS = [
  ...TEST_GROUPS.filter((g) => g.name !== 'timeline'),
  {
    name: 'timeline',
    type: 'flat' as const,
    ranking: {
      recent: { score: 'decay_linear(time)' },
      picks: { type: 'personalized', score: 'p_engage', guardrails: { author_cap: 1 } },
    },
  },
];

/** Small heads and a low bar for health, so a few hundred events train a usable model. */
const PERSONALIZATION = { learning: { head_dims: 4096, min_examples: 40, learning_rate: 0.2 }, guardrails: { min_following_share: 0, min_fresh: { count: 0, age: '1h' } } };

/** Personalized reads (personalization.md §3), the learner (§6.2), explain and follow recommendations (§2.3). */
describe('personalized feed', () => {
  let t: TestServer;
  let origin: string;
  const reader = uid('reader');
  const skier = uid('skier');
  const pundit = uid('pundit');
  const chef = uid('chef');
  const ski: string[] = [];
  const politics: string[] = [];
  const cooking: string[] = [];

  const drain = () => t.rivulet.signalWorker!.drainAll();

  async function post(author: string, tag: string, n: number, into: string[]) {
    for (let i = 0; i < n; i++) {
      const a = await t.client().feed('user', author).addActivity({ actor: `SU:${author}`, verb: 'post', object: `note:${uid()}`, foreign_id: `post:${uid()}`, text: `${tag} number ${i}` });
      into.push(a.id);
    }
  }

  async function analytics(path: 'impression' | 'engagement', body: unknown) {
    const res = await fetch(`${origin}/analytics/v1.0/${path}/?api_key=${t.apiKey}`, {
      method: 'POST',
      headers: { Authorization: t.client().getAnalyticsToken(), 'stream-auth-type': 'jwt', 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 201, await res.text());
  }

  /** Many readers see ski and politics posts; they click ski posts and hide politics ones. */
  async function train(readers: string[]) {
    for (const u of readers) {
      await analytics('impression', [{ user_data: u, content_list: [...ski, ...politics], feed_id: `timeline:${u}` }]);
      await analytics('engagement', {
        content_list: [
          ...ski.map((id) => ({ user_data: u, label: 'click', content: id, feed_id: `timeline:${u}` })),
          ...politics.map((id) => ({ user_data: u, label: 'skip', content: id, feed_id: `timeline:${u}` })),
        ],
      });
    }
    await drain();
  }

  const read = (opts: Record<string, unknown> = {}) => t.client().personalizedFeed({ feed_slug: 'timeline', user_id: reader, ...opts } as any) as Promise<any>;

  before(async () => {
    t = await startServer({ worker: 'manual', groups: GROUPS, personalization: PERSONALIZATION as any });
    origin = new URL(t.baseUrl).origin;
    await post(skier, '#ski', 6, ski);
    await post(pundit, '#politics', 6, politics);
    await post(chef, '#cooking', 4, cooking);
    for (const author of [skier, pundit, chef]) await t.client().feed('timeline', reader).follow('user', author);
    await drain();
  });
  after(async () => t.close());

  it('before the model is healthy, serves the fallback formula and says so in version', async () => {
    const res = await read({ limit: 5 });
    assert.deepEqual(Object.keys(res).sort(), ['duration', 'limit', 'offset', 'results', 'version']);
    assert.equal(res.version, 'fallback:unhealthy');
    assert.equal(res.limit, 5);
    assert.equal(res.offset, 0);
    assert.equal(res.results.length, 5);
    for (const r of res.results) {
      assert.equal(typeof r.score, 'number');
      assert.equal(r.extra_context.selector_source, 'following');
      assert.equal(r.actor.id ?? r.actor, r.actor.id ?? r.actor, 'enriched like a feed read');
    }
  });

  it("refuses another user's feed to a user token with Stream's exact error, and unknown endpoints with 404", async () => {
    const alice = t.userClient(uid('alice'));
    const err = await expectApiError(alice.personalizedFeed({ feed_slug: 'timeline', user_id: 'bob' } as any), 403, 17, 'NotAllowedException');
    assert.equal(err.body.detail, NO_POLICY_DETAIL);
    await expectApiError(alice.personalizedFeed({ feed_slug: 'timeline', userId: 'hello', endpoint: 'not_existing' } as any), 404, 16);
    // Her own feed is fine.
    const own = (await alice.personalizedFeed({ feed_slug: 'timeline' } as any)) as any;
    assert.ok(own.results.every((r: any) => r.extra_context.selector_source !== 'following'), 'she follows nobody: only discovery candidates');
    await expectApiError(read({ feed_slug: 'nope' }), 400, 6);
    await expectApiError(read({ feed_slug: 'aggregated' }), 400, 4);
    await expectApiError(t.client().personalizedFeed({ feed_slug: 'timeline' } as any), 400, 4);
  });

  it('learns from the event log and ranks what the reader engages with above what draws negative feedback', async () => {
    await train(Array.from({ length: 12 }, (_, i) => `${reader}-peer${i}`));
    const res = await read({ limit: 25, withScoreVars: true });
    assert.match(res.version, /^lr-\d+-\d+$/);
    const ids = res.results.map((r: any) => r.id);
    const scores = (list: string[]) => res.results.filter((r: any) => list.includes(r.id)).map((r: any) => r.score as number);
    assert.ok(Math.min(...scores(ski)) > Math.max(...scores(politics)), `ski posts score above politics posts: ${scores(ski)} / ${scores(politics)}`);
    // The group's personalized method (author cap 1) ranks the default endpoint: one post per author first.
    assert.equal(new Set(res.results.slice(0, 3).map((r: any) => r.actor.id)).size, 3);
    assert.ok(ids.indexOf(ski[5]) < ids.indexOf(politics[5]), 'the best ski post before the best politics post');
    const top = res.results[0];
    assert.ok(top.score_vars.p_engage > 0 && top.score_vars.p_engage < 1);
    assert.equal(typeof top.score_vars.p_engage, 'number');
  });

  it("an engagement changes that user's next read", async () => {
    const before = await read({ limit: 25, withScoreVars: true });
    const scoreOf = (res: any, id: string) => res.results.find((r: any) => r.id === id)?.score;
    const target = cooking[1];
    const b = scoreOf(before, target);
    await analytics('engagement', { content_list: [{ user_data: reader, label: 'like', content: cooking[0], feed_id: `timeline:${reader}` }] });
    await drain();
    const afterRead = await read({ limit: 25, withScoreVars: true });
    const a = scoreOf(afterRead, target);
    assert.ok(a > b, `another #cooking post scores higher after the like: ${b} → ${a}`);
    assert.notEqual(afterRead.version, before.version, 'the model stepped');
  });

  it('keeps pages stable within a session and recomputes with refresh', async () => {
    const session = uid('s');
    const p1 = await read({ limit: 4, session });
    const p2 = await read({ limit: 4, offset: 4, session });
    const whole = await read({ limit: 8, session });
    assert.deepEqual([...p1.results, ...p2.results].map((r: any) => r.id), whole.results.map((r: any) => r.id));
    assert.equal(p2.offset, 4);
    const fresh = await read({ limit: 8, session, refresh: true });
    assert.equal(fresh.results.length, 8);
  });

  it('filters hidden activities and the reader\'s own posts', async () => {
    await t.client().feed('user', reader).addActivity({ actor: `SU:${reader}`, verb: 'post', object: 'x', text: '#ski mine' });
    await fetch(`${origin}/personalization/v1.0/feedback/?api_key=${t.apiKey}`, {
      method: 'POST',
      headers: { Authorization: t.client().getPersonalizationToken(), 'stream-auth-type': 'jwt', 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: reader, activity_id: ski[0], hide: true }),
    });
    await drain();
    const res = await read({ limit: 100 });
    const ids = res.results.map((r: any) => r.id);
    assert.ok(!ids.includes(ski[0]), 'hidden');
    assert.ok(res.results.every((r: any) => (r.actor.id ?? r.actor) !== reader && r.actor !== `SU:${reader}`), 'own posts left out');
  });

  it("a post, an unfollow and a follow show in the reader's next read", async () => {
    // What a read keeps of the reader's feed (its entries, whom it follows) must follow each write.
    const sourceOf = (res: any, id: string) => res.results.find((r: any) => r.id === id)?.extra_context.selector_source;
    await read({ limit: 100 });
    const fresh: string[] = [];
    await post(chef, '#cooking', 1, fresh);
    await drain();
    let res = await read({ limit: 100 });
    assert.equal(sourceOf(res, fresh[0]), 'following', "a followed author's new post is a candidate from the reader's feed at once");
    await t.client().feed('timeline', reader).unfollow('user', chef);
    res = await read({ limit: 100 });
    for (const id of [...cooking, ...fresh]) assert.notEqual(sourceOf(res, id), 'following', "an unfollowed author's posts leave the reader's feed");
    await t.client().feed('timeline', reader).follow('user', chef);
    res = await read({ limit: 100 });
    assert.equal(sourceOf(res, fresh[0]), 'following', 'and come back with the follow');
  });

  it('a personalized ranking method of the group and the discovery endpoint', async () => {
    const picks = await read({ endpoint: 'picks', limit: 3 });
    assert.match(picks.version, /^lr-/);
    const authors = picks.results.map((r: any) => r.actor.id ?? r.actor);
    assert.equal(new Set(authors).size, authors.length, 'author cap 1 per page');
    const viaRanking = (await t.client().feed('timeline', reader).get({ ranking: 'picks', limit: 3 } as any)) as any;
    assert.deepEqual(viaRanking.results.map((r: any) => r.id), picks.results.map((r: any) => r.id));
    const discovery = await read({ endpoint: 'discovery_feed', limit: 25 });
    assert.ok(discovery.results.every((r: any) => r.extra_context.selector_source !== 'following'));
  });

  it('explains one activity: features, heads, objective, guardrails, position (server tokens only)', async () => {
    const url = `${origin}/personalization/v1.0/explain/?api_key=${t.apiKey}&user_id=${reader}&activity_id=${ski[2]}`;
    const res = await fetch(url, { headers: { Authorization: t.client().getPersonalizationToken(), 'stream-auth-type': 'jwt' } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as any;
    const e = body.results[0];
    assert.equal(e.activity_id, ski[2]);
    assert.ok(e.features.some((f: any) => f.name === 'tag:#ski'));
    assert.ok(e.heads.engage.p > 0);
    assert.equal(typeof e.objective.negative, 'number');
    assert.equal(typeof e.position, 'number');
    assert.ok(Array.isArray(e.guardrails));
    const hidden = (await (await fetch(url.replace(ski[2], ski[0]), { headers: { Authorization: t.client().getPersonalizationToken(), 'stream-auth-type': 'jwt' } })).json()) as any;
    assert.equal(hidden.results[0].filtered, 'hidden');
    const asUser = await fetch(url, { headers: { Authorization: t.client().createUserToken(reader), 'stream-auth-type': 'jwt' } });
    assert.equal(asUser.status, 403);
  });

  it("a reader's profile change reaches their next personalized read (the profile kept between reads is dropped)", async () => {
    const baker = uid('baker');
    const baking: string[] = [];
    await post(baker, '#baking', 2, baking);
    await t.client().feed('timeline', reader).follow('user', baker);
    await drain();
    const explain = async () => {
      const url = `${origin}/personalization/v1.0/explain/?api_key=${t.apiKey}&user_id=${reader}&activity_id=${baking[1]}`;
      const res = await fetch(url, { headers: { Authorization: t.client().getPersonalizationToken(), 'stream-auth-type': 'jwt' } });
      assert.equal(res.status, 200);
      const features = ((await res.json()) as any).results[0].features as { name: string; value: number }[];
      return (name: string) => features.find((f) => f.name === name)?.value ?? 0;
    };
    // Two reads: the second is served from the profile kept after the first (each read decays the
    // weights to its own time, so the last digits may differ).
    const before = await explain();
    assert.ok(Math.abs((await explain())('interest_score') - before('interest_score')) < 1e-6);
    assert.equal(before('author_affinity'), 0, 'no engagement with the baker yet');
    await analytics('engagement', { content_list: [{ user_data: reader, label: 'like', content: baking[0], feed_id: `timeline:${reader}` }] });
    await drain();
    const after = await explain();
    assert.ok(after('interest_score') > before('interest_score'), `the like gave the reader a #baking interest: ${before('interest_score')} → ${after('interest_score')}`);
    assert.ok(after('author_affinity') > 0, `and an affinity with the baker: ${after('author_affinity')}`);
  });

  it('recommends authors followed by the authors the reader follows', async () => {
    const newcomer = uid('newcomer');
    await t.client().feed('timeline', skier).follow('user', newcomer);
    await t.client().feed('timeline', chef).follow('user', newcomer);
    const res = (await t.client().personalization.get('follow_recommendations', { user_id: reader, limit: '5' })) as any;
    const rec = res.results.find((r: any) => r.user_id === newcomer);
    assert.ok(rec, JSON.stringify(res.results));
    assert.equal(rec.reasons.two_hop, 2);
    assert.ok(res.results.every((r: any) => ![skier, pundit, chef, reader].includes(r.user_id)));
  });

  it('restarts from the last snapshot and the log after it', async () => {
    const before = await read({ limit: 25 });
    await t.rivulet.signalWorker!.snapshot();
    const dataDir = t.dataDir;
    const app = { appId: t.appId, apiKey: t.apiKey, apiSecret: t.apiSecret };
    await t.rivulet.close();
    t = await startServer({ worker: 'manual', groups: GROUPS, personalization: PERSONALIZATION as any, dataDir, app });
    origin = new URL(t.baseUrl).origin;
    const again = await read({ limit: 25 });
    assert.equal(again.version, before.version);
    assert.deepEqual(again.results.map((r: any) => r.id), before.results.map((r: any) => r.id));
  });
});

describe('personalized feed switched off', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer({ worker: 'manual', personalization: { enabled: false } as any });
  });
  after(async () => t.close());

  it('serves the group formula and says why', async () => {
    const reader = uid('r');
    const author = uid('a');
    await t.client().feed('timeline', reader).follow('user', author);
    const a = await t.client().feed('user', author).addActivity({ actor: author, verb: 'post', object: 'x' });
    const res = (await t.client().personalizedFeed({ feed_slug: 'timeline', user_id: reader } as any)) as any;
    assert.equal(res.version, 'fallback:disabled');
    assert.deepEqual(res.results.map((r: any) => r.id), [a.id]);
  });
});

/**
 * Two processes on one database: one runs the learner (its worker stepped by hand here, so it
 * learns nothing on its own), the other only serves reads from the learner's snapshot.
 */
describe('a process that serves reads without the learner', () => {
  let learning: TestServer;
  let serving: TestServer;
  const reader = uid('reader');
  const skier = uid('skier');
  const chef = uid('chef');
  const ski: string[] = [];
  const cooking: string[] = [];

  async function analytics(path: 'impression' | 'engagement', body: unknown) {
    const res = await fetch(`${new URL(learning.baseUrl).origin}/analytics/v1.0/${path}/?api_key=${learning.apiKey}`, {
      method: 'POST',
      headers: { Authorization: learning.client().getAnalyticsToken(), 'stream-auth-type': 'jwt', 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 201, await res.text());
  }
  const read = () => serving.client().personalizedFeed({ feed_slug: 'timeline', user_id: reader, limit: 25 } as any) as Promise<any>;

  before(async () => {
    learning = await startServer({ worker: 'manual', groups: GROUPS, personalization: PERSONALIZATION as any });
    for (const [author, tag, into] of [[skier, '#ski', ski], [chef, '#cooking', cooking]] as const) {
      for (let i = 0; i < 5; i++) {
        const a = await learning.client().feed('user', author).addActivity({ actor: `SU:${author}`, verb: 'post', object: `note:${uid()}`, text: `${tag} number ${i}` });
        into.push(a.id);
      }
      await learning.client().feed('timeline', reader).follow('user', author);
    }
    for (let p = 0; p < 10; p++) {
      const u = `${reader}-peer${p}`;
      await analytics('impression', [{ user_data: u, content_list: [...ski, ...cooking], feed_id: `timeline:${u}` }]);
      await analytics('engagement', { content_list: ski.map((id) => ({ user_data: u, label: 'click', content: id, feed_id: `timeline:${u}` })) });
    }
    await learning.rivulet.signalWorker!.drainAll();
    await learning.rivulet.signalWorker!.snapshot();
    serving = await startServer({ worker: false, groups: GROUPS, personalization: PERSONALIZATION as any, dataDir: learning.dataDir, app: { appId: learning.appId, apiKey: learning.apiKey, apiSecret: learning.apiSecret } });
  });
  after(async () => {
    await serving?.close();
    await learning?.close();
  });

  it('learns the log after the snapshot, so an engagement reaches its reads before the next snapshot', async () => {
    const first = await read();
    assert.match(first.version, /^lr-\d+-\d+$/, 'the learner\'s snapshot');
    const scoreOf = (res: any, id: string) => res.results.find((r: any) => r.id === id)?.score as number;
    await analytics('engagement', { content_list: [{ user_data: reader, label: 'like', content: cooking[0], feed_id: `timeline:${reader}` }] });
    // The learning process is not stepped and saves no snapshot: only the serving process's own
    // rounds over the log (started by its reads) can change the model it ranks with.
    let next = await read();
    for (let i = 0; i < 100 && next.version === first.version; i++) {
      await new Promise((r) => setTimeout(r, 50));
      next = await read();
    }
    assert.notEqual(next.version, first.version, 'the serving process learned the like');
    assert.ok(scoreOf(next, cooking[1]) > scoreOf(first, cooking[1]), `another #cooking post scores higher: ${scoreOf(first, cooking[1])} → ${scoreOf(next, cooking[1])}`);
  });
});
