import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import type { App, FeedGroup } from '../core/feeds/feed-group.js';
import { bayeuxError, channelOf, SubscriptionAuth } from './subscription-auth.js';

function group(name: string, isPublic = false): [string, FeedGroup] {
  return [name, { name, type: 'flat', rankings: new Map(), maxLength: 10_000, maxGroups: 1000, maxGroupActivities: 100, realtime: true, public: isPublic, followable: isPublic }];
}

const app: App = {
  appId: '42',
  apiKey: 'key42',
  apiSecret: 'secret42',
  groups: new Map([group('user', true), group('user_agg'), group('timeline')]),
};

function sign(claims: object, secret = app.apiSecret, alg = 'HS256'): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${part({ alg, typ: 'JWT' })}.${part(claims)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

const ext = (signature: string, apiKey = app.apiKey) => ({ user_id: 'ignored', api_key: apiKey, signature });

describe('SubscriptionAuth', () => {
  const auth = new SubscriptionAuth([app]);

  it('resolves a channel against the configured group names', () => {
    assert.equal(channelOf('42', 'timeline', 'bob'), '/site-42-feed-timelinebob');
    assert.equal(auth.resolve('/site-42-feed-timelinebob')?.feed.fid, 'timeline:bob');
    // Slug and user id are joined without a separator, so a channel could name two feeds: the
    // longest group name that leaves a valid user id wins.
    assert.equal(auth.resolve('/site-42-feed-user_aggbob')?.feed.fid, 'user_agg:bob');
    assert.equal(auth.resolve('/site-42-feed-user_agg')?.feed.fid, 'user:_agg');
    for (const bad of ['/site-42-feed-nosuch1', '/site-7-feed-userbob', '/site-42-feed-user', '/site-42-feed-user*', '/meta/subscribe', '/**']) {
      assert.equal(auth.resolve(bad), null, bad);
    }
  });

  it('allows server tokens that cover the feed with read or * actions', () => {
    const ch = '/site-42-feed-timelinebob';
    for (const claims of [
      { resource: '*', action: '*', feed_id: 'timelinebob' },
      { resource: '*', action: 'read', feed_id: 'timelinebob' },
      { resource: 'feed', action: 'read', feed_id: 'timeline:bob' },
      { resource: '*', action: '*', feed_id: '*' },
    ]) {
      assert.equal(auth.authorize(ch, ext(sign(claims))).ok, true, JSON.stringify(claims));
    }
    for (const claims of [
      { resource: '*', action: '*', feed_id: 'timelinealice' },
      { resource: '*', action: 'write', feed_id: 'timelinebob' },
      { resource: 'reactions', action: '*', feed_id: '*' },
    ]) {
      const d = auth.authorize(ch, ext(sign(claims)));
      assert.equal(d.ok, false, JSON.stringify(claims));
      assert.match(!d.ok ? d.error : '', /^403:/);
    }
  });

  it('allows user tokens on their own feeds and on public groups', () => {
    assert.equal(auth.authorize('/site-42-feed-timelinebob', ext(sign({ user_id: 'bob' }))).ok, true);
    assert.equal(auth.authorize('/site-42-feed-userbob', ext(sign({ user_id: 'eve' }))).ok, true);
    assert.equal(auth.authorize('/site-42-feed-timelinebob', ext(sign({ user_id: 'eve' }))).ok, false);
    // A channel that could name two feeds is the feed of the longest group name: bob's user_agg
    // feed (not public), which bob may read and eve may not.
    assert.equal(auth.authorize('/site-42-feed-user_aggbob', ext(sign({ user_id: 'bob' }))).ok, true);
    assert.equal(auth.authorize('/site-42-feed-user_aggbob', ext(sign({ user_id: 'eve' }))).ok, false);
    // The case: a private group whose name extends another private group's.
    const agg = new SubscriptionAuth([{ ...app, groups: new Map([group('timeline'), group('timeline_aggregated')]) }]);
    assert.equal(agg.authorize('/site-42-feed-timeline_aggregatedalice', ext(sign({ user_id: 'alice' }))).ok, true);
    assert.equal(agg.authorize('/site-42-feed-timeline_aggregatedalice', ext(sign({ user_id: '_aggregatedalice' }))).ok, false);
  });

  it('refuses bad credentials with a Bayeux 401', () => {
    const ch = '/site-42-feed-timelinebob';
    const good = sign({ user_id: 'bob' });
    const cases: [unknown, RegExp][] = [
      [undefined, /api_key is missing/],
      [{ signature: good }, /api_key is missing/],
      [ext(good, 'otherkey'), /api_key is not valid/],
      [{ api_key: app.apiKey }, /signature is missing/],
      [ext(sign({ user_id: 'bob' }, 'wrong')), /signature is invalid/],
      [ext(sign({ user_id: 'bob' }, app.apiSecret, 'HS512')), /HS256/],
      [ext('not.a.jwt'), /malformed/],
      [ext(sign({ user_id: 'bob', exp: 1 })), /expired/],
    ];
    for (const [e, why] of cases) {
      const d = auth.authorize(ch, e);
      assert.equal(d.ok, false, JSON.stringify(e));
      if (!d.ok) {
        assert.match(d.error, /^401:\/site-42-feed-timelinebob:/);
        assert.match(d.error, why);
      }
    }
  });

  it('writes errors in the grammar the Faye client parses', () => {
    assert.equal(bayeuxError(403, '/site-1-feed-user1', 'not valid for feed user:1, sorry'), '403:/site-1-feed-user1:not valid for feed user 1  sorry');
  });
});
