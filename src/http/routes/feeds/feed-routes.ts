import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isPlainObject, withOrigin } from '../../../core/activities/activity.js';
import { InputError, MissingRankingError, NotAllowedError } from '../../../core/errors.js';
import { userAddPolicy } from '../../../services/user-policy.js';
import type { App } from '../../../core/feeds/feed-group.js';
import { feedId, type FeedId } from '../../../core/feeds/feed-id.js';
import { addActivities, addToMany } from '../../../services/add-activities.js';
import type { Services } from '../../../services/context.js';
import { groupOf } from '../../../services/context.js';
import { parsePage, readFeed } from '../../../services/read-feed.js';
import { parseMark, readGroups } from '../../../services/read-groups.js';
import { rankingNow, readRanked } from '../../../services/read-ranked.js';
import { enrichRenderer, plainBytesRenderer, plainRenderer } from '../../../services/enrich.js';
import { readPersonalizedRanking } from '../../../services/personalization/read-personalized.js';
import { enrichOptions } from '../../enrich-options.js';
import { removeActivity } from '../../../services/remove-activity.js';
import { authorize } from '../../plugins/auth.js';
import { bool, carried, query, rankingVars, str, type Query } from '../../query.js';
import { openBytes, raw, send, sendOpen, sendPieces } from '../../reply.js';
import type { ReadCache } from '../../read-cache.js';
import { recordingServices } from '../../../services/read-deps.js';
import { changeKey } from '../../../ports/change-marks.js';
import { userMayRead, type Principal } from '../../../core/auth/principal.js';

function isPersonalized(app: App, feed: FeedId, q: Query): boolean {
  const ranking = str(q, 'ranking');
  return ranking !== undefined && app.groups.get(feed.slug)?.rankings.get(ranking)?.personalized !== undefined;
}

interface FeedParams {
  slug: string;
  uid: string;
}

function pathFeed(req: FastifyRequest): FeedId {
  const p = req.params as FeedParams;
  return feedId(p.slug, p.uid);
}

/** Offset paging (ranked reads) keeps the id bounds: every page ranks the same candidates. */
const NOT_CARRIED_BY_OFFSET = new Set(['api_key', 'location', 'offset', 'limit', 'mark_seen', 'mark_read']);
/** Parameters not carried from a feed read into its `next` link (paging ones are rebuilt). */
const NOT_CARRIED = new Set([...NOT_CARRIED_BY_OFFSET, 'id_lt', 'id_lte']);

function nextLink(prefix: string, feed: FeedId, q: Query, at: { idLt?: string; offset?: number }, limit: number): string {
  const params = carried(q, at.offset !== undefined ? NOT_CARRIED_BY_OFFSET : NOT_CARRIED);
  if (at.idLt !== undefined) params.set('id_lt', at.idLt);
  if (at.offset !== undefined) params.set('offset', String(at.offset));
  params.set('limit', String(limit));
  return `/api/v1.0/${prefix}feed/${feed.slug}/${feed.uid}/?${params.toString()}`;
}

const RESULTS_OPEN = Buffer.from('{"results":[');

/** Flat feed reads, writes and removals (§6.1–§6.4, §6.8). */
export async function feedRoutes(server: FastifyInstance, opts: { services: Services; readCache?: ReadCache | null }): Promise<void> {
  const s = opts.services;
  const cache = opts.readCache ?? null;

  server.post('/feed/:slug/:uid/', async (req, reply) => {
    const feed = pathFeed(req);
    const body = req.body;
    if (!isPlainObject(body)) throw new InputError('body must be an activity object or {"activities": [...]}');
    const batch = Array.isArray(body.activities);
    const inputs = batch ? (body.activities as unknown[]) : [body];
    const { app, principal } = authorize(req, 'feed', feed, (u) => feed.uid === u);
    const policy = principal.kind === 'user' ? userAddPolicy(app, principal.userId) : undefined;
    const acts = await addActivities(s, app, feed, inputs, batch, policy);
    if (batch) return send(reply, raw(`{"activities":[${acts.map((a) => withOrigin(a.body, null)).join(',')}]}`), 201);
    return send(reply, raw(withOrigin(acts[0].body, null)), 201);
  });

  const read = (prefix: string) => async (req: FastifyRequest, reply: import('fastify').FastifyReply) => {
    const feed = pathFeed(req);
    const { app, principal } = authorize(req, 'feed', feed, (u, a) => userMayRead(a, u, feed));
    const q = query(req);
    // A read that only reads is answered from the read cache while nothing has been written since
    // it was built. Everything the body depends on is in the key: the app, the exact URL (feed,
    // paging, flags, ranking, session, user_id), who asks (own reactions), the host (absolute links)
    // and, for ranked reads, the ranking clock's step (scores use "now" in whole steps). Reads that
    // mark notifications write, so those are always built.
    // Personalized rankings change with the model, which no change mark follows: always built.
    if (cache === null || q.mark_seen !== undefined || q.mark_read !== undefined || isPersonalized(app, feed, q)) {
      // Sent once and dropped: text is sent as it is, pieces joined with the end in a shared block (see `sendPieces`).
      const page = await build(s, req, prefix, feed, app, principal, q);
      return typeof page === 'string' ? sendOpen(reply, page.slice(0, -1)) : sendPieces(reply, page);
    }
    let key = `${app.appId}|${principal.kind === 'user' ? principal.userId : '*'}|${req.protocol}://${req.headers.host ?? ''}|${req.url}`;
    // Ranked reads score with "now" in whole steps: the step is part of the key, and the page
    // built on a miss is scored at that same step.
    const now = q.ranking !== undefined ? rankingNow(s.clock) : undefined;
    if (now !== undefined) key += `|${now}`;
    const at = { position: 0 };
    const hit = await cache.get(key, at);
    if (hit !== undefined) return sendOpen(reply, hit);
    // The build notes everything it reads: the body is dropped when a write changes any of it.
    const deps = new Set([changeKey.app(app.appId)]);
    if (now !== undefined) deps.add(changeKey.signals(app.appId));
    const page = await build(recordingServices(s, deps), req, prefix, feed, app, principal, q, now);
    const body = typeof page === 'string' ? openBytes(page) : Buffer.concat(page);
    await cache.set(key, at.position, deps, body);
    return sendOpen(reply, body);
  };

  /** The page as JSON text, or as pieces of bytes to join, without the closing brace (see `sendOpen`). */
  const build = async (s: Services, req: FastifyRequest, prefix: string, feed: FeedId, app: App, principal: Principal, q: Query, nowSeconds?: number): Promise<string | Buffer[]> => {
    const group = groupOf(app, feed);
    const vars = rankingVars(q); // validated on every read (§6.3), even unranked ones
    const range = parsePage(q);
    // Plain reads honour reaction flags; enrich/ reads also resolve references (§23.3).
    const render = enrichRenderer(s, app, enrichOptions(req, principal, prefix === 'enrich/'));
    const ranking = str(q, 'ranking');
    if (ranking !== undefined && ranking !== '') {
      const method = group.rankings.get(ranking);
      if (!method || group.type !== 'flat') {
        throw new MissingRankingError(`ranking method "${ranking.slice(0, 64)}" is not defined for feed group "${feed.slug}"`);
      }
      if (method.personalized !== undefined) {
        const page = await readPersonalizedRanking(s, app, feed, group, method, range, { session: str(q, 'session'), refresh: bool(q, 'refresh'), withScoreVars: bool(q, 'withScoreVars') }, render);
        const next = page.nextOffset !== null ? nextLink(prefix, feed, q, { offset: page.nextOffset }, range.limit) : '';
        return `{"results":[${page.results.join(',')}],"next":${JSON.stringify(next)},"version":${JSON.stringify(page.version)}}`;
      }
      const page = await readRanked(s, app, feed, group, method, range, {
        vars,
        withScoreVars: bool(q, 'withScoreVars'),
        session: str(q, 'session'),
        nowSeconds,
        // Personal variables rank for the reader: a user token's user, else `user_id`, else the feed's user.
        reader: principal.kind === 'user' ? principal.userId : (str(q, 'user_id') ?? feed.uid),
      }, render);
      const next = page.nextOffset !== null ? nextLink(prefix, feed, q, { offset: page.nextOffset }, range.limit) : '';
      return `{"results":[${page.results.join(',')}],"next":${JSON.stringify(next)}}`;
    }
    if (group.type !== 'flat') {
      const marks = { seen: parseMark(str(q, 'mark_seen'), 'mark_seen'), read: parseMark(str(q, 'mark_read'), 'mark_read') };
      if ((marks.seen || marks.read) && principal.kind === 'user' && principal.userId !== feed.uid) throw new NotAllowedError();
      const page = await readGroups(s, app, feed, group, range, marks, render);
      const next = page.lastId ? nextLink(prefix, feed, q, { idLt: page.lastId }, range.limit) : '';
      const counts = page.unseen !== undefined ? `,"unseen":${page.unseen},"unread":${page.unread}` : '';
      return `{"results":[${page.results.join(',')}],"next":${JSON.stringify(next)}${counts}}`;
    }
    // The page is sent as bytes: plain activities too come as kept bytes.
    const page = await readFeed(s, app, feed, group, range, render === plainRenderer ? plainBytesRenderer : render);
    const next = page.lastId ? nextLink(prefix, feed, q, { idLt: page.lastId }, range.limit) : '';
    if (page.bytes !== null) return [RESULTS_OPEN, ...page.bytes, Buffer.from(`],"next":${JSON.stringify(next)}`)];
    return `{"results":[${page.results.join(',')}],"next":${JSON.stringify(next)}}`;
  };
  server.get('/feed/:slug/:uid/', read(''));
  server.get('/enrich/feed/:slug/:uid/', read('enrich/'));

  server.delete('/feed/:slug/:uid/:id/', async (req, reply) => {
    const feed = pathFeed(req);
    const { app } = authorize(req, 'feed', feed, (u) => feed.uid === u);
    const id = (req.params as { id: string }).id;
    const q = query(req);
    await removeActivity(s, app, feed, id, bool(q, 'foreign_id'));
    return send(reply, { removed: id });
  });

  server.post('/feed/add_to_many/', async (req, reply) => {
    const { app } = authorize(req, 'feed', null, null);
    const body = req.body;
    if (!isPlainObject(body)) throw new InputError('body must be {"activity": {...}, "feeds": [...]}');
    await addToMany(s, app, body.activity, body.feeds);
    return send(reply, {}, 201);
  });
}
