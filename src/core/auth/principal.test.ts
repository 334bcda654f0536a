import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthenticationError } from '../errors.js';
import { actorIsUser, principalFromClaims, userMayFollow, userMayRead } from './principal.js';
import type { App, FeedGroup } from '../feeds/feed-group.js';
import { feedId } from '../feeds/feed-id.js';

describe('principalFromClaims', () => {
  it('reads server and user tokens', () => {
    assert.deepEqual(principalFromClaims({ resource: '*', action: '*', feed_id: '*' }), { kind: 'server', resources: null, actions: null, feeds: null, userId: null });
    const p = principalFromClaims({ resource: 'feed,follower', action: 'read', feed_id: 'user1,user:2', user_id: '*' });
    assert.equal(p.kind, 'server');
    if (p.kind === 'server') {
      assert.deepEqual([...p.resources!], ['feed', 'follower']);
      assert.deepEqual([...p.feeds!], ['user1', 'user:2']);
      assert.equal(p.userId, '*');
    }
    // action and feed_id default to everything when absent.
    const r = principalFromClaims({ resource: 'feed' });
    assert.ok(r.kind === 'server' && r.actions === null && r.feeds === null);
    assert.deepEqual(principalFromClaims({ user_id: 'alice', role: 'admin' }), { kind: 'user', userId: 'alice' });
  });

  it('refuses claims present with a value that is not a non-empty string (never a wildcard)', () => {
    for (const claims of [
      { resource: null, user_id: 'alice' },
      { resource: null },
      { resource: '' },
      { resource: ' , ' },
      { resource: 1 },
      { resource: ['*'] },
      { resource: '*', action: null },
      { resource: '*', action: '' },
      { resource: '*', feed_id: null },
      { resource: '*', feed_id: {} },
      { resource: '*', user_id: null },
      { resource: '*', user_id: 3 },
      { user_id: null },
      { user_id: '' },
      { user_id: ['alice'] },
      {},
    ]) {
      assert.throws(() => principalFromClaims(claims), AuthenticationError, JSON.stringify(claims));
    }
  });
});

describe('user policy helpers', () => {
  const group = (name: string, isPublic: boolean): [string, FeedGroup] => [
    name,
    { name, type: 'flat', rankings: new Map(), maxLength: 10, maxGroups: 1, maxGroupActivities: 1, realtime: true, public: isPublic, followable: isPublic },
  ];
  const app: App = { appId: '1', apiKey: 'k', apiSecret: 's', groups: new Map([group('user', true), group('timeline', false)]) };

  it('userMayRead: own feeds of every group, others\' feeds of public groups', () => {
    assert.equal(userMayRead(app, 'alice', feedId('timeline', 'alice')), true);
    assert.equal(userMayRead(app, 'alice', feedId('user', 'bob')), true);
    assert.equal(userMayRead(app, 'alice', feedId('timeline', 'bob')), false);
    assert.equal(userMayRead(app, 'alice', feedId('nosuch', 'bob')), false);
  });

  it('userMayFollow: own feeds of every group, others\' feeds of followable groups only', () => {
    const followableTimeline: App = {
      ...app,
      groups: new Map([group('user', true), ['timeline', { ...group('timeline', false)[1], followable: true }], group('secret', false)]),
    };
    assert.equal(userMayFollow(app, 'alice', feedId('timeline', 'alice')), true);
    assert.equal(userMayFollow(app, 'alice', feedId('user', 'bob')), true);
    assert.equal(userMayFollow(app, 'alice', feedId('timeline', 'bob')), false);
    assert.equal(userMayFollow(followableTimeline, 'alice', feedId('timeline', 'bob')), true);
    assert.equal(userMayRead(followableTimeline, 'alice', feedId('timeline', 'bob')), false);
    assert.equal(userMayFollow(followableTimeline, 'alice', feedId('secret', 'bob')), false);
    assert.equal(userMayFollow(app, 'alice', feedId('nosuch', 'bob')), false);
  });

  it('actorIsUser: SU:<id> or the bare id, nothing else', () => {
    assert.equal(actorIsUser('SU:alice', 'alice'), true);
    assert.equal(actorIsUser('alice', 'alice'), true);
    for (const other of ['SU:alicex', 'su:alice', 'SU:bob', '', null, undefined, 7, { id: 'alice' }]) assert.equal(actorIsUser(other, 'alice'), false, String(other));
  });
});
