// The token matrix (issue "Security and robustness", keep them closed): every kind of token —
// missing, forged, expired, `alg: none`, another app's, null claims, narrow scopes, feed tokens,
// user tokens of the owner and of another user — against every API route and against realtime
// subscriptions. Every cell is an assertion; the refused cells run first and must change nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StreamClient } from 'getstream';
import { faye } from '../../src/realtime/faye.js';
import { startServer, type TestServer } from '../support/server.js';
import { jwt } from '../support/jwt.js';
import { assertErrorBody } from './activity-helpers.js';

type Outcome = 'allowed' | 403 | 401 | 'key';

/** Who may call a route with a user token (§2.3): any user, only alice (the owner), or no user. */
type UserRule = 'any' | 'owner' | 'server';

interface Route {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path below /api/v1.0/, with `{A}` (alice's activity id) and `{R}` (her reaction id). */
  readonly path: string;
  readonly resource: string;
  readonly user: UserRule;
  readonly body?: unknown;
}

const T = '2024-05-01T10:00:00';

/** Every API route, pointed at alice's data, with a body a permitted caller could send. */
const ROUTES: readonly Route[] = [
  { method: 'POST', path: 'feed/user/alice/', resource: 'feed', user: 'owner', body: { actor: 'SU:alice', verb: 'post', object: 'o:m' } },
  { method: 'GET', path: 'feed/user/alice/', resource: 'feed', user: 'any' },
  { method: 'GET', path: 'enrich/feed/user/alice/', resource: 'feed', user: 'any' },
  { method: 'GET', path: 'feed/secret/alice/', resource: 'feed', user: 'owner' },
  { method: 'GET', path: 'enrich/feed/secret/alice/', resource: 'feed', user: 'owner' },
  { method: 'GET', path: 'feed/notification/alice/?mark_read=true', resource: 'feed', user: 'owner' },
  { method: 'DELETE', path: 'feed/user/alice/{A}/', resource: 'feed', user: 'owner' },
  { method: 'DELETE', path: 'feed/user/alice/a:1/?foreign_id=1', resource: 'feed', user: 'owner' },
  { method: 'POST', path: 'feed/add_to_many/', resource: 'feed', user: 'server', body: { activity: { actor: 'SU:alice', verb: 'post', object: 'o:m' }, feeds: ['user:alice'] } },
  { method: 'POST', path: 'activities/', resource: 'activities', user: 'server', body: { activities: [{ actor: 'SU:alice', verb: 'post', object: 'o:x', foreign_id: 'a:1', time: T }] } },
  { method: 'POST', path: 'activity/', resource: 'activities', user: 'server', body: { id: '{A}', set: { object: 'o:x' } } },
  { method: 'GET', path: 'activities/?ids={A}', resource: 'activities', user: 'any' },
  { method: 'GET', path: 'enrich/activities/?ids={A}', resource: 'activities', user: 'any' },
  { method: 'POST', path: 'feed_targets/user/alice/activity_to_targets/', resource: 'feed_targets', user: 'server', body: { foreign_id: 'a:1', time: T, added_targets: ['flat:alice'] } },
  { method: 'POST', path: 'feed/timeline/alice/following/', resource: 'follower', user: 'owner', body: { target: 'user:bob' } },
  { method: 'POST', path: 'feed/timeline/alice/follows/', resource: 'follower', user: 'owner', body: { target: 'user:bob' } },
  { method: 'DELETE', path: 'feed/timeline/alice/following/user:carol/', resource: 'follower', user: 'owner' },
  { method: 'DELETE', path: 'feed/timeline/alice/follows/user:carol/', resource: 'follower', user: 'owner' },
  { method: 'GET', path: 'feed/user/alice/followers/', resource: 'follower', user: 'owner' },
  { method: 'GET', path: 'feed/timeline/alice/following/', resource: 'follower', user: 'owner' },
  { method: 'GET', path: 'feed/timeline/alice/follows/', resource: 'follower', user: 'owner' },
  { method: 'GET', path: 'stats/follow/?followers=user:alice&following=timeline:alice', resource: 'follower', user: 'any' },
  { method: 'POST', path: 'follow_many/', resource: 'follower', user: 'server', body: [{ source: 'timeline:alice', target: 'user:dave' }] },
  { method: 'POST', path: 'unfollow_many/', resource: 'follower', user: 'server', body: [{ source: 'timeline:alice', target: 'user:carol' }] },
  { method: 'POST', path: 'reaction/', resource: 'reactions', user: 'owner', body: { kind: 'like', activity_id: '{A}', user_id: 'alice', target_feeds: ['notification:alice'] } },
  { method: 'GET', path: 'reaction/{R}/', resource: 'reactions', user: 'any' },
  { method: 'PUT', path: 'reaction/{R}/', resource: 'reactions', user: 'owner', body: { data: { text: 'edited' } } },
  { method: 'DELETE', path: 'reaction/{R}/?soft=true', resource: 'reactions', user: 'owner' },
  { method: 'PUT', path: 'reaction/{R}/restore/', resource: 'reactions', user: 'owner' },
  { method: 'GET', path: 'reaction/activity_id/{A}/', resource: 'reactions', user: 'any' },
  { method: 'GET', path: 'reaction/user_id/alice/comment/', resource: 'reactions', user: 'any' },
  { method: 'GET', path: 'reaction/get_many/?ids={R}', resource: 'reactions', user: 'any' },
  { method: 'POST', path: 'collections/food/', resource: 'collections', user: 'any', body: { data: { name: 'new' } } },
  { method: 'GET', path: 'collections/food/alice-dish/', resource: 'collections', user: 'any' },
  { method: 'PUT', path: 'collections/food/alice-dish/', resource: 'collections', user: 'owner', body: { data: { name: 'changed' } } },
  { method: 'DELETE', path: 'collections/food/alice-dish/', resource: 'collections', user: 'owner' },
  { method: 'POST', path: 'collections/', resource: 'collections', user: 'server', body: { data: { food: [{ id: 'alice-dish', name: 'overwritten' }] } } },
  { method: 'GET', path: 'collections/?foreign_ids=food:alice-dish', resource: 'collections', user: 'server' },
  { method: 'DELETE', path: 'collections/?collection_name=food&ids=alice-dish', resource: 'collections', user: 'server' },
  { method: 'POST', path: 'user/?get_or_create=true', resource: 'users', user: 'owner', body: { id: 'alice', data: { name: 'Mallory' } } },
  { method: 'GET', path: 'user/alice/?with_follow_counts=true', resource: 'users', user: 'any' },
  { method: 'PUT', path: 'user/alice/', resource: 'users', user: 'owner', body: { data: { name: 'changed' } } },
  { method: 'DELETE', path: 'user/alice/', resource: 'users', user: 'owner' },
  { method: 'POST', path: 'users/', resource: 'users', user: 'server', body: { users: [{ id: 'alice', data: { name: 'x' } }], override: true } },
  { method: 'GET', path: 'users/?ids=alice', resource: 'users', user: 'server' },
  { method: 'DELETE', path: 'users/?ids=alice', resource: 'users', user: 'server' },
  // Uploads and link previews are for every token (resource `global`: only `*` server tokens).
  { method: 'POST', path: 'files/', resource: 'global', user: 'any', body: { not: 'multipart' } },
  { method: 'DELETE', path: 'files/?url=http://127.0.0.1/api/v1.0/files/1/x/y.txt', resource: 'global', user: 'any' },
  { method: 'POST', path: 'images/', resource: 'global', user: 'any', body: { not: 'multipart' } },
  { method: 'DELETE', path: 'images/?url=http://127.0.0.1/api/v1.0/files/1/x/y.png', resource: 'global', user: 'any' },
  { method: 'GET', path: 'images/?url=http://127.0.0.1/api/v1.0/files/1/x/y.png&w=10&h=10', resource: 'global', user: 'any' },
  { method: 'GET', path: 'og/?url=http://127.0.0.1:9/', resource: 'global', user: 'any' },
  { method: 'POST', path: 'moderation/flag', resource: 'moderation', user: 'server', body: { activity_id: '{A}', reason: 'spam' } },
  { method: 'GET', path: 'moderation/flags/', resource: 'moderation', user: 'server' },
  { method: 'GET', path: 'audit_logs/', resource: 'audit_logs', user: 'server' },
  { method: 'POST', path: 'data_privacy/delete_activities/', resource: 'data_privacy', user: 'server', body: { ids: ['{A}'] } },
  { method: 'POST', path: 'data_privacy/delete_reactions/', resource: 'data_privacy', user: 'server', body: { ids: ['{R}'] } },
  { method: 'GET', path: 'data_privacy/export_ids/alice', resource: 'data_privacy', user: 'server' },
  { method: 'GET', path: 'data_privacy/export/alice', resource: 'data_privacy', user: 'server' },
  { method: 'POST', path: 'data_privacy/delete_user/', resource: 'data_privacy', user: 'server', body: { user_id: 'alice' } },
  // The analytics and personalization services, beside the API (paths from the server's root).
  { method: 'POST', path: '/analytics/v1.0/impression/', resource: 'analytics', user: 'owner', body: [{ content_list: ['{A}'], user_data: 'alice', feed_id: 'user:alice' }] },
  { method: 'POST', path: '/analytics/engagement/', resource: 'analytics', user: 'owner', body: { content_list: [{ label: 'click', content: '{A}', user_data: 'alice' }] } },
  { method: 'GET', path: '/personalization/v1.0/interests/?user_id=alice', resource: 'personalization', user: 'owner' },
  { method: 'POST', path: '/personalization/v1.0/interests/', resource: 'personalization', user: 'owner', body: { user_id: 'alice', interests: { cats: 1 } } },
  { method: 'DELETE', path: '/personalization/v1.0/interests/?user_id=alice', resource: 'personalization', user: 'owner' },
  { method: 'POST', path: '/personalization/v1.0/feedback/', resource: 'personalization', user: 'owner', body: { user_id: 'alice', activity_id: '{A}', type: 'show_more' } },
];

interface Token {
  readonly name: string;
  /** The Authorization header (null: none) and api_key (default: the app's). */
  readonly header: (t: TestServer) => string | null;
  readonly apiKey?: (t: TestServer) => string;
  readonly expect: (r: Route) => Outcome;
}

const server = (claims: object) => (t: TestServer) => jwt(claims, t.apiSecret);
const refused401 = () => 401 as const;

const TOKENS: readonly Token[] = [
  { name: 'no token', header: () => null, expect: refused401 },
  { name: 'not a JWT', header: () => 'not-a-token', expect: refused401 },
  { name: 'signed with another secret (forged, or another app\'s)', header: () => jwt({ resource: '*', action: '*', feed_id: '*' }, 'another-app-secret-0123456789'), expect: refused401 },
  {
    name: 'alg none',
    header: (t) => {
      const [, payload] = jwt({ resource: '*', action: '*', feed_id: '*' }, t.apiSecret).split('.');
      return `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
    },
    expect: refused401,
  },
  { name: 'HS512 with the right secret', header: (t) => jwt({ resource: '*', action: '*', feed_id: '*' }, t.apiSecret, 'HS512'), expect: refused401 },
  { name: 'expired', header: server({ resource: '*', action: '*', feed_id: '*', exp: Math.floor(Date.now() / 1000) - 60 }), expect: refused401 },
  { name: 'resource: null', header: server({ resource: null, action: '*', feed_id: '*', user_id: 'alice' }), expect: refused401 },
  { name: 'action: null', header: server({ resource: '*', action: null, feed_id: '*' }), expect: refused401 },
  { name: 'user_id: null', header: server({ user_id: null }), expect: refused401 },
  { name: 'unknown api_key', header: server({ resource: '*', action: '*', feed_id: '*' }), apiKey: () => 'no-such-key', expect: () => 'key' },
  { name: 'server token, full scope', header: server({ resource: '*', action: '*', feed_id: '*' }), expect: () => 'allowed' },
  // Marking notifications read through a read (GET) is allowed to read tokens, as Stream does:
  // a client-side notification bell holds a read-only token.
  { name: 'server token, action read', header: server({ resource: '*', action: 'read', feed_id: '*' }), expect: (r) => (r.method === 'GET' ? 'allowed' : 403) },
  { name: 'server token, resource reactions', header: server({ resource: 'reactions', action: '*', feed_id: '*' }), expect: (r) => (r.resource === 'reactions' ? 'allowed' : 403) },
  { name: 'feed token of another feed', header: server({ resource: '*', action: '*', feed_id: 'usermallory' }), expect: () => 403 },
  { name: 'user token of alice (the owner)', header: (t) => t.client().createUserToken('alice'), expect: (r) => (r.user === 'server' ? 403 : 'allowed') },
  { name: 'user token of mallory (another user)', header: (t) => t.client().createUserToken('mallory'), expect: (r) => (r.user === 'any' ? 'allowed' : 403) },
];

function expectation(token: Token, route: Route): Outcome {
  return token.expect(route);
}

describe('token matrix', () => {
  let t: TestServer;
  let admin: StreamClient;
  const ids = { A: '', R: '' };

  before(async () => {
    t = await startServer();
    admin = t.client();
    const act = (await admin.feed('user', 'alice').addActivity({ actor: 'SU:alice', verb: 'post', object: 'o:1', foreign_id: 'a:1', time: T })) as any;
    ids.A = act.id;
    await admin.feed('secret', 'alice').addActivity({ actor: 'SU:alice', verb: 'post', object: 'o:secret' });
    await admin.feed('notification', 'alice').addActivity({ actor: 'SU:bob', verb: 'like', object: 'o:1' });
    await admin.feed('timeline', 'alice').follow('user', 'carol');
    ids.R = ((await admin.reactions.add('comment', ids.A, { text: 'mine' }, { userId: 'alice' })) as any).id;
    await t.userClient('alice').collections.add('food', 'alice-dish', { name: 'soup' });
    await admin.user('alice').create({ name: 'Alice' });
  });
  after(async () => t.close());

  const fill = (s: string) => s.replace('{A}', ids.A).replace('{R}', ids.R);

  async function call(token: Token, route: Route): Promise<{ status: number; body: any }> {
    const path = fill(route.path);
    const url = new URL(path.startsWith('/') ? `${t.baseUrl.replace(/\/api\/$/, '')}${path}` : `${t.baseUrl}v1.0/${path}`);
    url.searchParams.set('api_key', token.apiKey?.(t) ?? t.apiKey);
    const headers: Record<string, string> = {};
    const h = token.header(t);
    if (h !== null) headers.authorization = h;
    let body: string | undefined;
    if (route.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = fill(JSON.stringify(route.body));
    }
    const res = await fetch(url, { method: route.method, headers, body });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  /** Alice's data as the server sees it (without the answers' `duration`s). */
  async function canary(): Promise<unknown> {
    const feeds: Record<string, unknown> = {};
    for (const slug of ['user', 'secret', 'timeline', 'notification', 'flat']) feeds[slug] = await admin.feed(slug, 'alice').get({ limit: 100 });
    const data = {
      feeds,
      following: (await admin.feed('timeline', 'alice').following()).results,
      activity: await admin.getActivities({ ids: [ids.A] }),
      reaction: await admin.reactions.get(ids.R),
      entry: (await admin.collections.get('food', 'alice-dish')).data,
      user: (await admin.user('alice').get()).data,
    };
    return JSON.parse(JSON.stringify(data, (k, v) => (k === 'duration' ? undefined : v)));
  }

  let before_: unknown;
  describe('refused cells', () => {
    before(async () => {
      before_ = await canary();
    });
    for (const token of TOKENS) {
      for (const route of ROUTES) {
        const outcome = expectation(token, route);
        if (outcome === 'allowed') continue;
        const want = outcome === 'key' ? [401, 2] : outcome === 401 ? [401, 3] : [403, 17];
        it(`${token.name} × ${route.method} ${route.path} → ${want.join('/')}`, async () => {
          const res = await call(token, route);
          assert.equal(res.status, want[0], JSON.stringify(res.body));
          assertErrorBody(res.body, want[0], want[1]);
        });
      }
    }
    it('changed nothing of alice\'s data', async () => {
      assert.deepEqual(await canary(), before_);
    });
  });

  describe('allowed cells', () => {
    for (const token of TOKENS) {
      for (const route of ROUTES) {
        if (expectation(token, route) !== 'allowed') continue;
        it(`${token.name} × ${route.method} ${route.path} → not refused`, async () => {
          const res = await call(token, route);
          // Allowed means authorized: the answer may still be a 404 or 409 for data an earlier cell changed.
          assert.ok(res.status < 500 && res.status !== 401 && res.status !== 403, `${res.status} ${JSON.stringify(res.body)}`);
        });
      }
    }
  });

  describe('realtime subscriptions', () => {
    const channel = () => `/site-${t.appId}-feed-secretalice`;

    async function subscribe(signature: string | null, apiKey = t.apiKey): Promise<string> {
      const c = new faye.Client(t.baseUrl.replace(/\/api\/$/, '/faye'), { timeout: 10 });
      c.addExtension({
        outgoing: (message, callback) => {
          if (message.channel === '/meta/subscribe') message.ext = { user_id: channel().slice(1), api_key: apiKey, ...(signature !== null ? { signature } : {}) };
          callback(message);
        },
      });
      try {
        await c.subscribe(channel(), () => {});
        return 'allowed';
      } catch (err) {
        return String((err as { code?: number }).code ?? err);
      } finally {
        c.disconnect();
      }
    }

    for (const token of TOKENS) {
      // A subscription is a read of alice's secret feed.
      const read: Route = { method: 'GET', path: 'feed/secret/alice/', resource: 'feed', user: 'owner' };
      const outcome = expectation(token, read);
      const want = outcome === 'allowed' ? 'allowed' : outcome === 403 ? '403' : '401';
      it(`${token.name} → ${want}`, async () => {
        const header = token.header(t);
        assert.equal(await subscribe(header, token.apiKey?.(t) ?? t.apiKey), want);
      });
    }
  });
});
