import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import StreamAnalytics from 'stream-analytics';
import { NO_POLICY_DETAIL } from '../../src/core/errors.js';
import { startServer, TEST_GROUPS, uid, type TestServer } from '../support/server.js';
import { assertErrorBody, expectApiError } from './activity-helpers.js';

const GROUPS = [
  ...TEST_GROUPS.filter((g) => g.name !== 'timeline'),
  {
    name: 'timeline',
    type: 'flat' as const,
    ranking: {
      interest: { score: 'interest_score * decay_exp(time)' },
      preference: { score: 'preference_score' },
      both: { score: '(1 + interest_score) * (1 + preference_score) * decay_exp(time)' },
    },
  },
];

/** Content signals, profiles, the personal ranking variables and the personalization resources. */
describe('personalization signals', () => {
  let t: TestServer;
  let origin: string;
  let labeler: Server;
  let labelerCalls: { urls: string[]; hints: string[] }[] = [];
  before(async () => {
    // A stand-in for an operator's labeling service: it labels any URL containing "snow" as a snowboard.
    labeler = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const { urls, hints } = JSON.parse(body);
        labelerCalls.push({ urls, hints });
        const labels = urls.some((u: string) => u.includes('snow')) ? [{ label: 'Snowboard', confidence: 0.9 }, { label: 'cloud', confidence: 0.2 }] : [];
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ labels }));
      });
    });
    await new Promise<void>((r) => labeler.listen(0, '127.0.0.1', r));
    t = await startServer({
      worker: 'manual',
      groups: GROUPS,
      personalization: {
        content: {
          labeler: { type: 'http', url: `http://127.0.0.1:${(labeler.address() as AddressInfo).port}/label`, timeout_ms: 2000 },
          blocked_tags: ['#spam', 'kw:rubbish'],
        },
      },
    });
    origin = new URL(t.baseUrl).origin;
  });
  after(async () => {
    await t.close();
    labeler.close();
  });

  const drain = () => t.rivulet.signalWorker!.drainAll();
  const tagsOf = async (id: string) => ((await t.rivulet.store.signals.tagsOf(t.appId, [id])).get(id) ?? []).map((x) => x.tag);

  async function post(author: string, extra: Record<string, unknown>) {
    return t.client().feed('user', author).addActivity({ actor: `SU:${author}`, verb: 'post', object: `note:${uid()}`, foreign_id: `post:${uid()}`, ...extra });
  }

  async function ranked(reader: string, ranking: string) {
    const res = await t.client().feed('timeline', reader).get({ ranking, withScoreVars: true, limit: 25 } as any);
    return res.results as any[];
  }

  it('tags activities off the request path: caller tags, hashtags, mentions, keywords, entities, image labels', async () => {
    labelerCalls = [];
    const a = await post(uid('author'), {
      text: 'Fresh powder at Whistler Blackcomb today! Riding with @alex #Snowboarding #spam',
      interest_tags: ['Winter Sports', ' SKI '],
      image_labels: ['mountain'],
      image: 'https://img.example/snow-1.jpg',
    });
    assert.deepEqual(await tagsOf(a.id), [], 'no tags before the job ran');
    await drain();
    const tags = await tagsOf(a.id);
    for (const want of ['winter sports', 'ski', '#snowboarding', '@alex', 'img:mountain', 'img:snowboard', 'kw:powder', 'ent:whistler blackcomb']) {
      assert.ok(tags.includes(want), `${want} in ${tags.join(', ')}`);
    }
    assert.ok(!tags.includes('#spam'), 'blocked tags are dropped');
    assert.ok(!tags.includes('img:cloud'), 'labels below the confidence threshold are dropped');
    assert.ok(tags.length <= 20);
    assert.equal(labelerCalls.length, 1);
    assert.deepEqual(labelerCalls[0].urls, ['https://img.example/snow-1.jpg']);
    assert.ok(labelerCalls[0].hints.includes('#snowboarding'));
    // An update computes the tags again.
    await t.client().activityPartialUpdate({ id: a.id, set: { text: 'Now about #cooking' } });
    await drain();
    const after = await tagsOf(a.id);
    assert.ok(after.includes('#cooking') && !after.includes('#snowboarding'), after.join(', '));
  });

  it('a like changes that reader\u2019s interest_score on the next read', async () => {
    const author = uid('author');
    const bob = uid('bob');
    await t.client().feed('timeline', bob).follow('user', author);
    const ski = await post(author, { text: 'Best run of the season', interest_tags: ['ski'] });
    const food = await post(author, { text: 'Slow-cooked ramen', interest_tags: ['food'] });
    const other = await post(uid('author'), { text: 'Another trip', interest_tags: ['ski'] });
    await drain();
    let page = await ranked(bob, 'interest');
    assert.deepEqual(page.map((a) => a.score_vars.interest_score), [0, 0]);
    assert.equal(page[0].id, food.id, 'newest first while no interest is known');
    await t.client().reactions.add('like', other.id, {}, { userId: bob });
    page = await ranked(bob, 'interest');
    assert.equal(page[0].id, ski.id, 'the ski post moves up right after the like');
    assert.equal(page[0].score_vars.interest_score, 0.5, 'one matching top interest of weight 1 gives 0.5 (v3)');
    assert.equal(page[1].score_vars.interest_score, 0);
    // The activity's own field of that name does not count.
    const liar = await post(author, { text: 'nothing', interest_score: 1 });
    await drain();
    page = await ranked(bob, 'interest');
    assert.equal(page.find((a) => a.id === liar.id).score_vars.interest_score, 0);
  });

  it('a like counts the tags its activity has at the time of the like, tags written after an earlier like included', async () => {
    const author = uid('author');
    const [ann, ben, cat] = [uid('ann'), uid('ben'), uid('cat')];
    // Liked before its content job ran: no tags yet, so no interest.
    const a = await post(author, { text: 'First ascent', interest_tags: ['climbing'] });
    await t.client().reactions.add('like', a.id, {}, { userId: ann });
    const interests = async (user: string) =>
      ((await t.rivulet.store.signals.profilesOf(t.appId, [user])).get(user) ?? []).filter((w) => w.dimension === 'tag').map((w) => w.key);
    assert.deepEqual(await interests(ann), []);
    // Tagged now: the next like takes the tags.
    await drain();
    await t.client().reactions.add('like', a.id, {}, { userId: ben });
    assert.ok((await interests(ben)).includes('climbing'));
    // Tagged again after an update: a like takes the new tags.
    await t.client().activityPartialUpdate({ id: a.id, set: { interest_tags: ['bouldering'] } });
    await drain();
    await t.client().reactions.add('like', a.id, {}, { userId: cat });
    const catTags = await interests(cat);
    assert.ok(catTags.includes('bouldering') && !catTags.includes('climbing'), catTags.join(', '));
  });

  it('impressions and clicks from stream-analytics move the ranking the same way', async () => {
    const author = uid('author');
    const carol = uid('carol');
    await t.client().feed('timeline', carol).follow('user', author);
    const jazz = await post(author, { text: 'Live #jazz tonight' });
    await post(author, { text: 'New #football season' });
    const older = await post(uid('x'), { text: 'Classic #jazz records' });
    await drain();
    const client = new StreamAnalytics({ apiKey: t.apiKey, token: t.client().createUserToken(carol), baseUrl: `${origin}/analytics/v1.0/` });
    client.setUser(carol);
    await client.trackImpression({ content_list: [older.foreign_id as string, jazz.foreign_id as string], feed_id: `timeline:${carol}` });
    await client.trackEngagement({ label: 'click', content: { foreign_id: older.foreign_id as string }, feed_id: `timeline:${carol}` });
    const page = await ranked(carol, 'interest');
    assert.equal(page[0].id, jazz.id);
    assert.equal(page[0].score_vars.interest_score, 0.5);
  });

  it('runs the README example: impressions and a click rank the clicked topic first', async () => {
    const club = uid('club');
    const carol = uid('carol');
    const client = t.client();
    const jazz = await client.feed('user', club).addActivity({ actor: `SU:${club}`, verb: 'post', object: 'event:1', foreign_id: `${club}:event:1`, text: 'Live #jazz tonight' });
    const football = await client.feed('user', club).addActivity({ actor: `SU:${club}`, verb: 'post', object: 'event:2', foreign_id: `${club}:event:2`, text: 'New #football season' });
    await client.feed('timeline', carol).follow('user', club);
    const analytics = new StreamAnalytics({ apiKey: t.apiKey, token: client.createUserToken(carol), baseUrl: `${origin}/analytics/v1.0/` });
    analytics.setUser(carol);
    await drain();
    await analytics.trackImpression({ content_list: [`${club}:event:1`, `${club}:event:2`], feed_id: `timeline:${carol}` });
    await analytics.trackEngagement({ label: 'click', content: { foreign_id: `${club}:event:1` }, feed_id: `timeline:${carol}` });
    const { results } = await client.feed('timeline', carol).get({ ranking: 'interest', withScoreVars: true } as any);
    const got = (results as any[]).map((a) => [a.id, a.score_vars.interest_score]);
    assert.equal(got[0][0], jazz.id);
    assert.equal(got[0][1], 0.5, "the README says 0.5");
    assert.deepEqual(got[1], [football.id, 0]);
  });

  it('feedback hides an activity from that user\u2019s feeds and shows it again', async () => {
    const author = uid('author');
    const dan = uid('dan');
    const eve = uid('eve');
    await t.client().feed('timeline', dan).follow('user', author);
    await t.client().feed('timeline', eve).follow('user', author);
    const a = await post(author, { text: 'Hot take' });
    const b = await post(author, { text: 'Calm take' });
    const ids = async (u: string) => ((await t.client().feed('timeline', u).get({ limit: 10 })).results as any[]).map((x) => x.id);
    assert.deepEqual(await ids(dan), [b.id, a.id]);
    const r = await t.client().personalization.post('feedback', {}, { user_id: dan, activity_id: a.id, hide: true });
    assert.deepEqual((r as any).results, [{ user_id: dan, activity_id: a.id, hidden: true }]);
    assert.deepEqual(await ids(dan), [b.id]);
    assert.deepEqual(await ids(eve), [b.id, a.id], 'other users keep it');
    assert.deepEqual(((await t.client().feed('timeline', dan).get({ ranking: 'interest' } as any)).results as any[]).map((x) => x.id), [b.id]);
    await t.client().personalization.post('feedback', {}, { user_id: dan, foreign_id: a.foreign_id, hide: false });
    assert.deepEqual(await ids(dan), [b.id, a.id]);
    // The analytics label `hide` has the same effect.
    await new StreamAnalytics({ apiKey: t.apiKey, token: t.client().getAnalyticsToken(), baseUrl: `${origin}/analytics/v1.0/` }).trackEngagement({
      label: 'hide',
      content: b.id,
      user_data: dan,
    });
    assert.deepEqual(await ids(dan), [a.id]);
  });

  it('show more and show less set preference_score, from feedback and from analytics labels', async () => {
    const author = uid('author');
    const author2 = uid('author2');
    const fay = uid('fay');
    await t.client().feed('timeline', fay).follow('user', author);
    await t.client().feed('timeline', fay).follow('user', author2);
    const a = await post(author, { text: '#chess opening' });
    const b = await post(author2, { text: '#golf swing' });
    await drain();
    await t.client().personalization.post('feedback', {}, { user_id: fay, activity_id: a.id, show_more: true });
    await new StreamAnalytics({ apiKey: t.apiKey, token: t.client().getAnalyticsToken(), baseUrl: `${origin}/analytics/` }).trackEngagement({
      label: 'show_less',
      content: b.id,
      user_data: fay,
    });
    const page = await ranked(fay, 'preference');
    const byId = new Map(page.map((x) => [x.id, x.score_vars.preference_score]));
    assert.ok(byId.get(a.id) > 0.5, `show more: ${byId.get(a.id)}`);
    assert.ok(byId.get(b.id) < -0.5, `show less: ${byId.get(b.id)}`);
    assert.equal(page[0].id, a.id);
  });

  it('reads, sets and deletes interests; manual interests rank from the first read', async () => {
    const author = uid('author');
    const gus = uid('gus');
    await t.client().feed('timeline', gus).follow('user', author);
    const cats = await post(author, { text: 'My #cats' });
    await post(author, { text: 'Some #dogs' });
    await drain();
    const p = t.client().personalization;
    const set = await p.post('interests', { user_id: gus }, { interests: [{ tag: '#Cats', weight: 1 }, { tag: 'dogs', weight: -0.5 }] });
    assert.equal((set as any).results.length, 2);
    const got = (await p.get('interests', { user_id: gus })) as any;
    assert.deepEqual(got.results, [
      { tag: '#cats', weight: 1, source: 'manual' },
      { tag: 'dogs', weight: -0.5, source: 'manual' },
    ]);
    const page = await ranked(gus, 'interest');
    assert.equal(page[0].id, cats.id);
    assert.equal(page[0].score_vars.interest_score, 0.5);
    await p.delete('interests', { user_id: gus, tag: '#cats' });
    assert.deepEqual(((await p.get('interests', { user_id: gus })) as any).results.map((x: any) => x.tag), ['dogs']);
    await p.delete('interests', { user_id: gus });
    assert.deepEqual(((await p.get('interests', { user_id: gus })) as any).results, []);
  });

  it('refuses bad input, other users and unknown resources', async () => {
    const p = t.client().personalization;
    await expectApiError(p.get('not_a_resource', {}), 404, 16);
    await expectApiError(p.post('feedback', {}, { user_id: 'u', activity_id: 'missing', hide: true }), 404, 16);
    await expectApiError(p.post('feedback', {}, { user_id: 'u', activity_id: 'x' }), 400, 4);
    await expectApiError(p.post('feedback', {}, { activity_id: 'x', hide: true }), 400, 10);
    await expectApiError(p.post('interests', { user_id: 'u' }, { interests: [{ tag: 'x', weight: 2 }] }), 400, 4);
    await expectApiError(p.delete('interests', { user_id: 'u', source: 'weird' }), 400, 4);
    const res = await fetch(`${origin}/personalization/v1.0/interests/?api_key=${t.apiKey}&user_id=someone`, {
      headers: { authorization: t.client().createUserToken('me'), 'stream-auth-type': 'jwt' },
    });
    const body = await res.json();
    assertErrorBody(body, 403, 17);
    assert.equal(body.detail, NO_POLICY_DETAIL);
    const mine = await fetch(`${origin}/personalization/v1.0/interests/?api_key=${t.apiKey}`, {
      headers: { authorization: t.client().createUserToken('me'), 'stream-auth-type': 'jwt' },
    });
    assert.equal(mine.status, 200);
    const feedToken = await fetch(`${origin}/personalization/v1.0/interests/?api_key=${t.apiKey}&user_id=x`, {
      headers: { authorization: t.client().getReadOnlyToken('user', 'x'), 'stream-auth-type': 'jwt' },
    });
    assertErrorBody(await feedToken.json(), 403, 17);
  });

  it('deletes events past the retention period', async () => {
    const before = (await t.rivulet.store.signals.readEvents(t.appId, 0, 100_000)).length;
    assert.ok(before > 0);
    assert.equal(await t.rivulet.signalWorker!.sweep(), 0, 'nothing is 90 days old');
    const far = Date.now() * 1000 + 91 * 86_400_000_000;
    const n = await t.rivulet.store.signals.sweepEvents(t.appId, far - 90 * 86_400_000_000, far, 100_000);
    assert.equal(n, before);
    assert.equal((await t.rivulet.store.signals.readEvents(t.appId, 0, 100_000)).length, 0);
  });
});

describe('content jobs when the image labeler is down', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer({
      worker: 'manual',
      personalization: { content: { labeler: { type: 'http', url: 'http://127.0.0.1:1/label', timeout_ms: 500 }, keywords: false } },
    });
  });
  after(async () => t.close());

  it('stores the other tags now and tries the job again later', async () => {
    const a = await t.client().feed('user', 'u1').addActivity({ actor: 'SU:u1', verb: 'post', object: 'x', text: '#ski at dawn', image: 'https://img.example/snow.jpg' });
    await t.rivulet.signalWorker!.drainAll();
    const tags = (await t.rivulet.store.signals.tagsOf(t.appId, [a.id])).get(a.id)!.map((x) => x.tag);
    assert.deepEqual(tags, ['#ski']);
    const now = Date.now() * 1000;
    assert.equal((await t.rivulet.store.signals.pendingContentJobs(now, 10)).length, 0, 'delayed, not pending now');
    const later = await t.rivulet.store.signals.pendingContentJobs(now + 3_600_000_000, 10);
    assert.deepEqual(later.map((j) => [j.activityId, j.attempts]), [[a.id, 1]]);
  });
});
