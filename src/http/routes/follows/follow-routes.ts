import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isPlainObject } from '../../../core/activities/activity.js';
import { userMayFollow } from '../../../core/auth/principal.js';
import { InputError, NotAllowedError } from '../../../core/errors.js';
import { feedId, parseFeedId, type FeedId } from '../../../core/feeds/feed-id.js';
import { formatTimestamp } from '../../../core/time.js';
import type { FollowEdge } from '../../../ports/follow-store.js';
import { bodyFeed, type Services } from '../../../services/context.js';
import { copyLimitOf, follow, listFollows, parseFollowMany, parseUnfollowMany, unfollow } from '../../../services/follows.js';
import { intParam } from '../../../services/read-feed.js';
import { authorize } from '../../plugins/auth.js';
import { bool, list, query, str } from '../../query.js';
import { send } from '../../reply.js';

function pathFeed(req: FastifyRequest): FeedId {
  const p = req.params as { slug: string; uid: string };
  return feedId(p.slug, p.uid);
}

function relation(e: FollowEdge): Record<string, string> {
  const t = formatTimestamp(e.createdUs);
  return { feed_id: e.source, target_id: e.target, created_at: t, updated_at: t };
}

/** Follow, unfollow, follower/following lists, follow stats, batch follows (§8). */
export async function followRoutes(server: FastifyInstance, opts: { services: Services }): Promise<void> {
  const s = opts.services;

  const doFollow = async (req: FastifyRequest, reply: FastifyReply) => {
    const source = pathFeed(req);
    const { app, principal } = authorize(req, 'follower', source, (u) => source.uid === u);
    const body = req.body;
    if (!isPlainObject(body)) throw new InputError('body must be {"target": "group:id"}');
    const target = bodyFeed(app, body.target, 'target');
    // A follow shows the target's activities in the source feed: a user may follow only what they
    // may read, or groups the app made `followable` (server tokens may follow anything; see
    // docs/security.md).
    if (principal.kind === 'user' && !userMayFollow(app, principal.userId, target)) {
      throw new NotAllowedError(`user ${principal.userId} cannot follow ${target.fid}: it is not a feed this user may read or follow`);
    }
    await follow(s, app, [{ source, target, copyLimit: copyLimitOf(body.activity_copy_limit) }]);
    return send(reply, {}, 201);
  };
  server.post('/feed/:slug/:uid/following/', doFollow);
  server.post('/feed/:slug/:uid/follows/', doFollow);

  const doUnfollow = async (req: FastifyRequest, reply: FastifyReply) => {
    const source = pathFeed(req);
    const { app } = authorize(req, 'follower', source, (u) => source.uid === u);
    const target = parseFeedId((req.params as { target: string }).target, 'target');
    await unfollow(s, app, [{ source, target, keepHistory: bool(query(req), 'keep_history') }]);
    return send(reply, {});
  };
  server.delete('/feed/:slug/:uid/following/:target/', doUnfollow);
  server.delete('/feed/:slug/:uid/follows/:target/', doUnfollow);

  const lister = (direction: 'followers' | 'following') => async (req: FastifyRequest, reply: FastifyReply) => {
    const feed = pathFeed(req);
    const { app } = authorize(req, 'follower', feed, (u) => feed.uid === u);
    const q = query(req);
    const limit = intParam(str(q, 'limit'), 'limit', 25, 500, true);
    const offset = intParam(str(q, 'offset'), 'offset', 0, 10_000, false);
    const filter = direction === 'following' ? list(q, 'filter') : undefined;
    if (filter) {
      if (filter.length > 500) throw new InputError('filter accepts at most 500 feed ids');
      filter.forEach((f) => parseFeedId(f, 'filter'));
    }
    const edges = await listFollows(s, app, feed, direction, limit, offset, filter);
    return send(reply, { results: edges.map(relation) });
  };
  server.get('/feed/:slug/:uid/followers/', lister('followers'));
  server.get('/feed/:slug/:uid/following/', lister('following'));
  server.get('/feed/:slug/:uid/follows/', lister('following'));

  server.get('/stats/follow/', async (req, reply) => {
    const q = query(req);
    const followersOf = str(q, 'followers');
    const followingOf = str(q, 'following');
    if (!followersOf && !followingOf) throw new InputError('followers or following is required');
    const a = followersOf ? parseFeedId(followersOf, 'followers') : null;
    const b = followingOf ? parseFeedId(followingOf, 'following') : null;
    let auth = null;
    for (const f of [a, b]) if (f) auth = authorize(req, 'follower', f, () => true);
    const app = auth!.app;
    const results: Record<string, { feed: string; count: number }> = {};
    if (a) {
      const c = await s.store.followCounts(app.appId, a.fid, list(q, 'followers_slugs'), undefined);
      results.followers = { feed: a.fid, count: c.followers };
    }
    if (b) {
      const c = await s.store.followCounts(app.appId, b.fid, undefined, list(q, 'following_slugs'));
      results.following = { feed: b.fid, count: c.following };
    }
    return send(reply, { results });
  });

  server.post('/follow_many/', async (req, reply) => {
    const { app } = authorize(req, 'follower', null, null);
    const dflt = copyLimitOf(str(query(req), 'activity_copy_limit'));
    await follow(s, app, parseFollowMany(app, req.body, dflt));
    return send(reply, {}, 201);
  });

  server.post('/unfollow_many/', async (req, reply) => {
    const { app } = authorize(req, 'follower', null, null);
    await unfollow(s, app, parseUnfollowMany(app, req.body));
    return send(reply, {});
  });
}
