import { InputError } from '../core/errors.js';
import type { App } from '../core/feeds/feed-group.js';
import type { FeedId } from '../core/feeds/feed-id.js';
import { becomesPullServed } from '../core/feeds/pull-switch.js';
import type { ActivityRecord } from '../ports/activity-store.js';
import type { FollowEdge } from '../ports/follow-store.js';
import { bodyFeed, groupOf, type Uses } from './context.js';
import { isGroupedFeed as isGrouped } from '../core/fanout/plan.js';
import { applyFeedWork, Changes, FeedWork, planActivities, publish, runWrite } from './write-step.js';
import { auditBatch, followChange } from './audit.js';
import { pulledEntriesOf } from './pulled-view.js';

/** What following and unfollowing use (the write path, the copied entries, audit). */
export type FollowDeps = Uses<'activities' | 'follows' | 'groups' | 'intents' | 'timelines', 'audit' | 'clock' | 'fanout' | 'onJobsEnqueued' | 'realtime'>;
/** What listing follows and counting them use. */
export type FollowReadDeps = Uses<'follows'>;

export const DEFAULT_COPY_LIMIT = 100;
export const MAX_COPY_LIMIT = 1000;
export const MAX_FOLLOW_MANY = 2500;

/** A follow to create: `source` follows `target`, copying `copyLimit` newest activities. */
export interface FollowRequest {
  readonly source: FeedId;
  readonly target: FeedId;
  readonly copyLimit: number;
}

/** Validates `activity_copy_limit` (integer 0–1,000; strings of digits accepted; absent or null: the default). */
export function copyLimitOf(value: unknown, dflt = DEFAULT_COPY_LIMIT): number {
  if (value === undefined || value === null) return dflt;
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_COPY_LIMIT) {
    throw new InputError(`activity_copy_limit must be an integer between 0 and ${MAX_COPY_LIMIT}`, { fields: { activity_copy_limit: ['must be an integer from 0 to 1000'] } });
  }
  return n;
}

/** Checks one follow edge: both groups exist, the target is flat, no self-follow. */
export function checkFollow(app: App, source: FeedId, target: FeedId): void {
  groupOf(app, source);
  const tg = app.groups.get(target.slug);
  if (!tg) throw new InputError(`target: feed group "${target.slug}" does not exist`);
  if (tg.type !== 'flat') throw new InputError(`target: only flat feeds can be followed, "${target.slug}" is ${tg.type}`);
  if (source.fid === target.fid) throw new InputError('a feed cannot follow itself');
}

/**
 * Creates follow edges and copies each target's newest directly-written activities into its source
 * feed with origin = target (§8.1, §8.5). Each edge is one step; the copies are per-feed operations
 * applied after the edges are durable and read after them, so a post written meanwhile is either
 * copied here or spread to the new follower by its own write. Re-following keeps the existing
 * edge. The copy is bounded (≤ 1,000 per follow) so it is always applied before the response. A
 * target whose follower count passes `pullMinFollowers` becomes served by pull (see
 * `src/core/feeds/pull-switch.ts`).
 */
export async function follow(s: FollowDeps, app: App, requests: readonly FollowRequest[]): Promise<void> {
  if (requests.length > MAX_FOLLOW_MANY) throw new InputError(`at most ${MAX_FOLLOW_MANY} follows per request`);
  for (const r of requests) checkFollow(app, r.source, r.target);
  if (requests.length === 0) return;
  const now = s.clock.now();
  const targets = [...new Set(requests.map((r) => r.target.fid))];
  // Flat feeds read pull-served targets at read time: nothing to copy for them, but the edge
  // remembers where the copy would have started, so the merge shows the same history.
  const [pulled, before] = await Promise.all([s.ports.follows.pullServed(app.appId, targets), directEntries(s, app, requests)]);
  const since = requests.map((r, i): { id: string } | { timeUs: number } | null => {
    if (r.copyLimit === 0) return { timeUs: now };
    const copied = before[i];
    return copied.length < r.copyLimit ? null : { id: copied[copied.length - 1] };
  });
  await s.ports.intents.commit(
    app.appId,
    requests.map((r, i) => {
      const audit = auditBatch(s, [followChange(r.source.fid, r.target.fid, 'followed', { activity_copy_limit: r.copyLimit })]);
      return {
        follow: { source: r.source.fid, target: r.target.fid, createdUs: now, grouped: isGrouped(app, r.source.fid), since: since[i] },
        ...(audit ? { audit } : {}),
      };
    }),
  );
  // Read after the edges are durable (see above), together with the targets' follower counts.
  const [copies, totals] = await Promise.all([
    directEntries(s, app, requests),
    Promise.all(targets.map((t) => s.ports.follows.followerPage(app.appId, t, null, 1).then((p) => p.total))),
  ]);
  const threshold = s.fanout.pullMinFollowers;
  const turned = targets.filter((t, i) => becomesPullServed(totals[i], threshold, pulled.has(t)));
  const copied = requests.map((r, i) => (pulled.has(r.target.fid) && !isGrouped(app, r.source.fid) ? [] : copies[i]));
  // Grouped feeds need the activities' fields for their group keys: one load for every follow.
  const groupedIds = requests.flatMap((r, i) => (isGrouped(app, r.source.fid) ? copied[i] : []));
  const acts = groupedIds.length > 0 ? await s.ports.activities.getActivities(app.appId, [...new Set(groupedIds)]) : new Map<string, ActivityRecord>();
  // Applied in slices of about COPY_SLICE entries: 2,500 follows copying 1,000 activities each
  // are 2.5 million entries, which planned and handed to the store in one piece hold the main
  // thread (and every other request) for seconds.
  const planned = planActivities(acts.values());
  let work = new FeedWork(planned);
  let size = 0;
  const apply = async () => {
    const changes = work.empty ? new Changes() : await applyFeedWork(s, app, work);
    await publish(s, app, changes);
    work = new FeedWork(planned);
    size = 0;
  };
  for (let i = 0; i < requests.length; i++) {
    const r = requests[i];
    for (const id of copied[i]) work.add(app, r.source.fid, id, r.target.fid);
    size += copied[i].length;
    if (size >= COPY_SLICE && i < requests.length - 1) await apply();
  }
  await Promise.all([apply(), turned.length > 0 ? s.ports.follows.markPullServed(app.appId, turned) : undefined]);
}

/** About how many copied entries a follow request applies at a time (see {@link follow}). */
const COPY_SLICE = 100_000;

/**
 * The newest `copyLimit` entries of each request's target that were written to it directly
 * (origin null: own posts, `to` copies, add_to_many), newest first, in one call. Entries the
 * target received through its own follows are skipped: fan-out is one level deep, and a removal
 * at their origin only reaches that origin's followers, so a copy made from them would never be
 * cleaned up.
 */
async function directEntries(s: Uses<'timelines'>, app: App, requests: readonly { target: FeedId; copyLimit: number }[]): Promise<string[][]> {
  // One scan per target, as deep as its deepest request: `follow_many` often has thousands of
  // sources following the same few targets, and each scan reads up to 1,000 entries.
  const deepest = new Map<string, number>();
  for (const r of requests) if (r.copyLimit > (deepest.get(r.target.fid) ?? 0)) deepest.set(r.target.fid, r.copyLimit);
  const feeds = [...deepest.keys()];
  const found = feeds.length > 0 ? await s.ports.timelines.scanMany(app.appId, feeds.map((feed) => ({ feed, limit: deepest.get(feed)!, directOnly: true }))) : [];
  const ids = new Map(feeds.map((feed, i) => [feed, found[i].map((e) => e.id)]));
  return requests.map((r) => (r.copyLimit > 0 ? ids.get(r.target.fid)!.slice(0, r.copyLimit) : []));
}

export interface UnfollowRequest {
  readonly source: FeedId;
  readonly target: FeedId;
  readonly keepHistory: boolean;
}

/**
 * Removes follow edges (§8.2, §8.5); unless `keepHistory`, every entry of the source feed that
 * came from the target is removed too. Unfollowing a non-edge is not an error.
 */
export async function unfollow(s: FollowDeps, app: App, requests: readonly UnfollowRequest[]): Promise<void> {
  if (requests.length > MAX_FOLLOW_MANY) throw new InputError(`at most ${MAX_FOLLOW_MANY} unfollows per request`);
  for (const r of requests) groupOf(app, r.source);
  if (requests.length === 0) return;
  // A flat feed kept no copies of a pull-served feed; keeping history means copying its newest
  // activities now, as a push-served follow would have them.
  const work = new FeedWork();
  const kept = requests.filter((r) => r.keepHistory && !isGrouped(app, r.source.fid));
  const pulled = kept.length > 0 ? await s.ports.follows.pullServed(app.appId, kept.map((r) => r.target.fid)) : new Set<string>();
  const copying = kept.filter((r) => pulled.has(r.target.fid));
  const newest = await directEntries(s, app, copying.map((r) => ({ target: r.target, copyLimit: DEFAULT_COPY_LIMIT })));
  for (let i = 0; i < copying.length; i++) {
    const r = copying[i];
    // Only what the follower was shown (not what it removed, nothing before the follow's start).
    const shown = new Set((await pulledEntriesOf(s, app.appId, r.source.fid, { ids: newest[i] })).map((e) => e.id));
    for (const id of newest[i]) if (shown.has(id)) work.add(app, r.source.fid, id, r.target.fid);
  }
  for (const r of requests) if (!r.keepHistory) work.ops.push({ kind: 'removeOrigin', feed: r.source.fid, origin: r.target.fid });
  await runWrite(
    s,
    app,
    requests.map((r) => {
      const audit = auditBatch(s, [followChange(r.source.fid, r.target.fid, 'unfollowed', { keep_history: r.keepHistory })]);
      return { unfollow: { source: r.source.fid, target: r.target.fid }, ...(audit ? { audit } : {}) };
    }),
    { work, spreads: [], intents: [] },
  );
}

/** Parses the bare-array body of `follow_many/` (§8.5). */
export function parseFollowMany(app: App, body: unknown, dfltCopy: number): FollowRequest[] {
  if (!Array.isArray(body)) throw new InputError('body must be an array of {source, target}');
  return body.map((item, i) => {
    if (typeof item !== 'object' || item === null) throw new InputError(`[${i}]: must be an object with source and target`);
    const it = item as Record<string, unknown>;
    return {
      source: bodyFeed(app, it.source, `[${i}].source`),
      target: bodyFeed(app, it.target, `[${i}].target`),
      copyLimit: copyLimitOf(it.activity_copy_limit, dfltCopy),
    };
  });
}

/** Parses the bare-array body of `unfollow_many/` (§8.5). */
export function parseUnfollowMany(app: App, body: unknown): UnfollowRequest[] {
  if (!Array.isArray(body)) throw new InputError('body must be an array of {source, target}');
  return body.map((item, i) => {
    if (typeof item !== 'object' || item === null) throw new InputError(`[${i}]: must be an object with source and target`);
    const it = item as Record<string, unknown>;
    const kh = it.keep_history;
    if (kh !== undefined && typeof kh !== 'boolean') throw new InputError(`[${i}].keep_history must be a boolean`);
    return {
      source: bodyFeed(app, it.source, `[${i}].source`),
      target: bodyFeed(app, it.target, `[${i}].target`),
      keepHistory: kh === true,
    };
  });
}

/** Followers or following of a feed, newest edge first (§8.3). */
export async function listFollows(
  s: FollowReadDeps,
  app: App,
  feed: FeedId,
  direction: 'followers' | 'following',
  limit: number,
  offset: number,
  filter?: readonly string[],
): Promise<FollowEdge[]> {
  groupOf(app, feed);
  return direction === 'followers'
    ? s.ports.follows.followers(app.appId, feed.fid, limit, offset)
    : s.ports.follows.following(app.appId, feed.fid, limit, offset, filter);
}

/**
 * Follow counts for `stats/follow/` (§8.4): the followers of `followersOf` (only sources in the
 * `followersSlugs` groups, when given) and the feeds `followingOf` follows (only targets in
 * `followingSlugs`). Each side is one store call; both run together.
 */
export async function followStats(
  s: FollowReadDeps,
  app: App,
  q: { readonly followersOf?: FeedId; readonly followersSlugs?: readonly string[]; readonly followingOf?: FeedId; readonly followingSlugs?: readonly string[] },
): Promise<{ followers?: number; following?: number }> {
  const [a, b] = await Promise.all([
    q.followersOf ? s.ports.follows.followCounts(app.appId, q.followersOf.fid, q.followersSlugs, undefined) : null,
    q.followingOf ? s.ports.follows.followCounts(app.appId, q.followingOf.fid, undefined, q.followingSlugs) : null,
  ]);
  return { ...(a ? { followers: a.followers } : {}), ...(b ? { following: b.following } : {}) };
}
