import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import StreamAnalytics from 'stream-analytics';
import { NO_POLICY_DETAIL } from '../../src/core/errors.js';
import { startServer, uid, type TestServer } from '../support/server.js';
import { assertErrorBody } from './activity-helpers.js';

/** The analytics service driven by the official `stream-analytics` client (personalization.md §2.1). */
describe('analytics ingestion', () => {
  let t: TestServer;
  let origin: string;
  before(async () => {
    t = await startServer({ worker: 'manual' });
    origin = new URL(t.baseUrl).origin;
  });
  after(async () => t.close());

  const analytics = (token: string, versioned = true) =>
    new StreamAnalytics({ apiKey: t.apiKey, token, baseUrl: `${origin}/analytics/${versioned ? 'v1.0/' : ''}` });
  const serverToken = () => t.client().getAnalyticsToken();
  const events = () => t.rivulet.store.signals.readEvents(t.appId, 0, 10_000);
  const post = async (path: string, body: unknown, token = serverToken()) => {
    const res = await fetch(`${origin}/analytics/${path}?api_key=${t.apiKey}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: token, 'stream-auth-type': 'jwt' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };

  async function addPost(user: string, extra: Record<string, unknown> = {}) {
    return t.client().feed('user', user).addActivity({ actor: `SU:${user}`, verb: 'post', object: 'note:1', foreign_id: `post:${uid()}`, ...extra });
  }

  it('takes impressions and engagements from the stream-analytics client, with every field it sends', async () => {
    const author = uid('author');
    const a = await addPost(author);
    const b = await addPost(author);
    const viewer = uid('viewer');
    const client = analytics(serverToken());
    client.setUser({ id: viewer, alias: 'Viewer' });
    const before = (await events()).length;
    const r1 = await client.trackImpression({
      content_list: [a.foreign_id as string, { foreign_id: b.foreign_id as string, extra: 1 }],
      feed_id: `timeline:${viewer}`,
      location: 'homepage',
      features: [{ group: 'topic', value: 'ski' }],
    });
    assert.equal(typeof r1.duration, 'string');
    await client.trackEngagement({
      label: 'click',
      content: { foreign_id: a.foreign_id as string },
      position: 3,
      score: 20,
      boost: 2,
      feed_id: `timeline:${viewer}`,
      location: 'homepage',
      tracked_at: new Date().toISOString(),
    });
    const got = (await events()).slice(before);
    assert.deepEqual(got.map((e) => [e.kind, e.label, e.activity]), [
      ['impression', 'impression', a.id],
      ['impression', 'impression', b.id],
      ['engage', 'click', a.id],
    ]);
    assert.deepEqual(got.map((e) => e.user), [viewer, viewer, viewer]);
    assert.deepEqual(got[0].features, ['topic:ski']);
    assert.deepEqual(got.map((e) => e.position), [0, 1, 3]);
    assert.equal(got[2].feedId, `timeline:${viewer}`);
    assert.equal(got[2].location, 'homepage');
    // score 20 → importance 2, boost 2, click weight 1.
    assert.equal(got[2].weight, 4);
    assert.equal(got[2].foreignId, a.foreign_id);
  });

  it('answers both URL forms, with and without the version segment', async () => {
    const a = await addPost(uid('author'));
    const user = uid('v');
    const before = (await events()).length;
    await analytics(serverToken(), false).trackEngagement({ label: 'like', content: a.id, user_data: user });
    await analytics(serverToken(), true).trackEngagement({ label: 'like', content: a.id, user_data: `${user}-2` });
    const got = (await events()).slice(before);
    assert.deepEqual(got.map((e) => [e.user, e.activity]), [[user, a.id], [`${user}-2`, a.id]]);
  });

  it('lets a user token send only its own events (403, code 17)', async () => {
    const a = await addPost(uid('author'));
    const alice = uid('alice');
    const token = t.client().createUserToken(alice);
    const client = analytics(token);
    await client.trackEngagement({ label: 'click', content: a.id, user_data: alice });
    const before = (await events()).length;
    let err: any;
    try {
      await client.trackEngagement({ label: 'click', content: a.id, user_data: 'mallory' });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof StreamAnalytics.errors.APIError, `expected an API error, got ${err}`);
    assert.equal(err.response.status, 403);
    const res = await post('v1.0/engagement/', { content_list: [{ label: 'click', content: a.id, user_data: 'mallory' }] }, token);
    assertErrorBody(res.body, 403, 17, 'NotAllowedException');
    assert.equal(res.body.detail, NO_POLICY_DETAIL);
    assert.equal((await events()).length, before);
  });

  it('refuses a whole request naming each bad event and field, storing nothing', async () => {
    const before = (await events()).length;
    const res = await post('v1.0/engagement/', {
      content_list: [
        { label: 'click', content: 'post:1', user_data: 'u1' },
        { label: 42, content: 'post:1', user_data: 'u1' },
        { label: 'click', user_data: 'u1', score: 1000 },
      ],
    });
    assertErrorBody(res.body, 400, 4, 'InputException');
    assert.match(res.body.detail, /events\[1\]\.label/);
    assert.match(res.body.detail, /events\[2\]\.content/);
    assert.match(res.body.detail, /events\[2\]\.score/);
    assert.deepEqual(Object.keys(res.body.exception_fields).sort(), ['events[1].label', 'events[2].content', 'events[2].score']);
    assert.equal((await events()).length, before);
    const imp = await post('impression/', [{ content_list: [], user_data: 'u1' }, { content_list: ['x'], user_data: { alias: 'no id' } }]);
    assertErrorBody(imp.body, 400, 4);
    assert.match(imp.body.detail, /events\[0\]\.content_list/);
    assert.match(imp.body.detail, /events\[1\]\.user_data/);
    for (const body of ['not json', '{}', '[]', 'null', '[1]']) {
      const r = await post('v1.0/impression/', body);
      assert.equal(r.status, 400, body);
      assertErrorBody(r.body, 400, 4);
    }
    assert.equal((await events()).length, before);
  });

  it('refuses a bad api key, a bad token and a token for another resource', async () => {
    const body = [{ content_list: ['x'], user_data: 'u1' }];
    const bad = await fetch(`${origin}/analytics/v1.0/impression/?api_key=nope`, { method: 'POST', headers: { authorization: serverToken() }, body: JSON.stringify(body) });
    assertErrorBody(await bad.json(), 401, 2);
    const unsigned = await post('v1.0/impression/', body, 'not.a.token');
    assertErrorBody(unsigned.body, 401, 3);
    const feedToken = t.client().getReadOnlyToken('user', 'x');
    const other = await post('v1.0/impression/', body, feedToken);
    assertErrorBody(other.body, 403, 17);
  });

  it('stores a retried request once', async () => {
    const a = await addPost(uid('author'));
    const client = analytics(serverToken());
    const before = (await events()).length;
    const e = { label: 'share', content: a.id, user_data: uid('r'), tracked_at: '2026-01-01T00:00:00Z' };
    await client.trackEngagements([e]);
    await client.trackEngagements([e]);
    const imp = { content_list: [a.id], user_data: e.user_data };
    await client.trackImpressions([imp]);
    await client.trackImpressions([imp]);
    const got = (await events()).slice(before);
    assert.deepEqual(got.map((x) => x.label), ['share', 'impression']);
  });

  it('accepts the other SDKs shapes: a single object and a wrapped impression list', async () => {
    const a = await addPost(uid('author'));
    const before = (await events()).length;
    assert.equal((await post('v1.0/engagement/', { label: 'open', content: a.id, user_data: 'single' })).status, 201);
    assert.equal((await post('v1.0/engagement/', [{ label: 'open', content: a.id, user_data: 'bare' }])).status, 201);
    assert.equal((await post('v1.0/impression/', { content_list: [{ content_list: [a.id], user_data: 'wrapped' }] })).status, 201);
    assert.equal((await post('v1.0/impression/', { content_list: [a.id], user_data: 'one' })).status, 201);
    const got = (await events()).slice(before);
    assert.deepEqual(got.map((x) => x.user), ['single', 'bare', 'wrapped', 'one']);
  });

  it('keeps events whose content is not an activity (yet) as orphans', async () => {
    const before = await t.rivulet.store.signals.orphanCount(t.appId);
    await analytics(serverToken()).trackEngagement({ label: 'click', content: 'post:never-written', user_data: 'u' });
    assert.equal(await t.rivulet.store.signals.orphanCount(t.appId), before + 1);
  });

  it('records the events of a redirect URL built by the getstream client and answers 302', async () => {
    const a = await addPost(uid('author'));
    const user = uid('mail');
    const client = t.client() as any;
    client.baseAnalyticsUrl = `${origin}/analytics/`;
    const target = 'https://example.com/landing?x=1&y=two words';
    const url: string = client.createRedirectUrl(target, user, [
      { content_list: [a.foreign_id], user_data: user, feed_id: `timeline:${user}`, location: 'email' },
      { content: a.foreign_id, label: 'click', user_data: user, position: 1, feed_id: `timeline:${user}`, location: 'email' },
    ]);
    const before = (await events()).length;
    const res = await fetch(url, { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), new URL(target).href);
    const got = (await events()).slice(before);
    assert.deepEqual(got.map((e) => [e.label, e.activity, e.location]).sort(), [['click', a.id, 'email'], ['impression', a.id, 'email']].sort());
    const noToken = await fetch(url.replace(/authorization=[^&]+/, 'authorization=bad'), { redirect: 'manual' });
    assert.equal(noToken.status, 401);
    const badUrl = await fetch(url.replace(/url=[^&]+/, 'url=javascript%3Aalert(1)'), { redirect: 'manual' });
    assert.equal(badUrl.status, 400);
  });

  it('counts reactions added through the reactions API as engagement events', async () => {
    const a = await addPost(uid('author'));
    const user = uid('reactor');
    const before = (await events()).length;
    const r = await t.client().reactions.add('like', a.id, {}, { userId: user });
    await t.client().reactions.add('comment', a.id, { text: 'nice' }, { userId: user });
    const got = (await events()).slice(before);
    assert.deepEqual(got.map((e) => [e.source, e.kind, e.label, e.user, e.activity]), [
      ['reaction', 'engage', 'like', user, a.id],
      ['reaction', 'engage', 'comment', user, a.id],
    ]);
    assert.equal(got[0].weight, 2);
    assert.ok(r.id);
  });

  it('takes a reaction on an activity id that is not one of its activities as an orphan event', async () => {
    const before = (await events()).length;
    await t.client().reactions.add('like', 'not-a-uuid', {}, { userId: 'u1' });
    await t.client().reactions.add('like', '00000000-0000-1000-8000-000000000000', {}, { userId: 'u1' });
    const got = (await events()).slice(before);
    assert.deepEqual(got.map((e) => [e.label, e.activity]), [['like', null], ['like', null]]);
  });
});
