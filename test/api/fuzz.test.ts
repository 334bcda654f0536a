import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { seededRandom } from '../../src/core/ranking/seeded-random.js';
import { startServer, type TestServer } from '../support/server.js';

const PATHS = [
  'feed/user/{u}/',
  'enrich/feed/user/{u}/',
  'feed/notification/{u}/',
  'feed/aggregated/{u}/',
  'feed/user/{u}/{x}/',
  'feed/add_to_many/',
  'activities/',
  'enrich/activities/',
  'activity/',
  'feed_targets/user/{u}/activity_to_targets/',
  'feed/timeline/{u}/following/',
  'feed/timeline/{u}/follows/',
  'feed/timeline/{u}/following/{x}/',
  'feed/user/{u}/followers/',
  'stats/follow/',
  'follow_many/',
  'unfollow_many/',
  'reaction/',
  'reaction/{x}/',
  'reaction/{x}/restore/',
  'reaction/activity_id/{x}/',
  'reaction/user_id/{u}/like/',
  'collections/food/',
  'collections/food/{x}/',
  'collections/',
  'user/',
  'user/{u}/',
  'users/',
];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];
const WEIRD = ['', ' ', 'null', '%00', '%ZZ', '../', 'a'.repeat(300), '💥', 'user:x', '12345678-1234-1234-1234-123456789012', '-1', '1e309', '[]', '{}'];
const QUERY_KEYS = ['limit', 'offset', 'id_lt', 'id_gte', 'ranking', 'rankingVars', 'mark_seen', 'mark_read', 'ids', 'foreign_ids', 'timestamps', 'withRecentReactions', 'recentReactionsLimit', 'reactionKindsFilter', 'user_id', 'followers', 'following', 'filter', 'keep_history', 'foreign_id', 'soft', 'with_activity_data', 'get_or_create', 'activity_copy_limit', 'foo[bar]'];

function text(v: unknown): string {
  return typeof v === 'string' ? v : (JSON.stringify(v) ?? 'undefined');
}

function value(r: () => number, depth = 0): unknown {
  const k = Math.floor(r() * (depth > 2 ? 6 : 9));
  switch (k) {
    case 0:
      return null;
    case 1:
      return Math.floor(r() * 2000) - 1000;
    case 2:
      return r() < 0.5;
    case 3:
      return WEIRD[Math.floor(r() * WEIRD.length)];
    case 4:
      return 'SU:' + Math.floor(r() * 5);
    case 5:
      return r() * 1e20;
    case 6:
      return Array.from({ length: Math.floor(r() * 4) }, () => value(r, depth + 1));
    default: {
      const keys = ['actor', 'verb', 'object', 'time', 'to', 'foreign_id', 'activities', 'changes', 'set', 'unset', 'target', 'kind', 'activity_id', 'parent', 'data', 'target_feeds', 'id', 'source', 'new_targets', 'feeds', 'activity', 'users', '__proto__'];
      const o: Record<string, unknown> = {};
      for (let i = Math.floor(r() * 5); i > 0; i--) {
        // defineProperty, so that "__proto__" becomes a real key in the JSON sent.
        Object.defineProperty(o, keys[Math.floor(r() * keys.length)], { value: value(r, depth + 1), enumerable: true, configurable: true, writable: true });
      }
      return o;
    }
  }
}

describe('random requests never get a 5xx', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer();
  });
  after(async () => t.close());

  it('answers 1,500 random requests with a 2xx or a Stream error body', { timeout: 120_000 }, async () => {
    const r = seededRandom(20261126);
    const tokens = [
      t.client().getOrCreateToken(),
      t.client().feed('user', 'u1').token,
      t.client().createUserToken('u1'),
      'not-a-token',
    ];
    for (let i = 0; i < 1500; i++) {
      const path = PATHS[Math.floor(r() * PATHS.length)]
        .replace('{u}', r() < 0.8 ? 'u1' : encodeURIComponent(text(value(r))))
        .replace('{x}', encodeURIComponent(text(value(r))).slice(0, 400));
      const method = METHODS[Math.floor(r() * METHODS.length)];
      const params = new URLSearchParams({ api_key: t.apiKey });
      for (let q = Math.floor(r() * 4); q > 0; q--) params.append(QUERY_KEYS[Math.floor(r() * QUERY_KEYS.length)], text(value(r)));
      const body = method === 'GET' || method === 'DELETE' ? undefined : r() < 0.1 ? '{"broken": ' : JSON.stringify(value(r));
      const res = await fetch(`${t.baseUrl}v1.0/${path}?${params}`, {
        method,
        headers: { 'content-type': 'application/json', authorization: tokens[Math.floor(r() * tokens.length)] },
        body,
      });
      const answer = await res.text();
      const where = `request ${i}: ${method} ${path}?${params} body=${body?.slice(0, 200)}`;
      assert.ok(res.status < 500, `${where} → ${res.status} ${answer.slice(0, 300)}`);
      if (res.status >= 400) {
        const err = JSON.parse(answer);
        assert.equal(typeof err.code, 'number', where);
        assert.equal(err.status_code, res.status, where);
        assert.equal(typeof err.detail, 'string', where);
        assert.equal(typeof err.exception, 'string', where);
      }
    }
  });
});
