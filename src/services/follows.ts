import { InputError } from '../core/errors.js';
import type { App } from '../core/feeds/feed-group.js';
import type { FeedId } from '../core/feeds/feed-id.js';
import type { FollowEdge } from '../ports/follow-store.js';
import type { EntryWrite } from '../ports/write-store.js';
import { commit, bodyFeed, groupOf, type Services } from './context.js';
import { ActivitySource, entryFor, isGrouped } from './placement.js';
import { auditBatch, followChange } from './audit.js';

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
 * feed with origin = target (§8.1, §8.5), all in one commit. Re-following keeps the existing edge. The copy
 * is bounded (≤ 1,000 per follow) so it is always applied before the response.
 */
export async function follow(s: Services, app: App, requests: readonly FollowRequest[]): Promise<void> {
  if (requests.length > MAX_FOLLOW_MANY) throw new InputError(`at most ${MAX_FOLLOW_MANY} follows per request`);
  for (const r of requests) checkFollow(app, r.source, r.target);
  const now = s.clock.now();
  const entries: EntryWrite[] = [];
  // Flat feeds read pull-served targets at read time: nothing to copy for them, but the edge
  // remembers where the copy would have started, so the merge shows the same history.
  const pulled = await s.store.pullServed(app.appId, [...new Set(requests.map((r) => r.target.fid))]);
  const since: ({ id: string } | { timeUs: number } | null)[] = [];
  for (const r of requests) {
    if (r.copyLimit === 0) {
      since.push({ timeUs: now });
      continue;
    }
    const copied = await directEntries(s, app, r.target.fid, r.copyLimit);
    since.push(copied.length < r.copyLimit ? null : { id: copied[copied.length - 1] });
    if (pulled.has(r.target.fid) && !isGrouped(app, r.source.fid)) continue;
    // Grouped feeds need the activities' fields for their group keys: one batch per follow.
    const src = isGrouped(app, r.source.fid) ? new ActivitySource((await s.store.getActivities(app.appId, copied)).values()) : null;
    for (const id of copied) {
      const e = entryFor(app, r.source.fid, id, r.target.fid, src);
      if (e) entries.push(e);
    }
  }
  await commit(s, app.appId, {
    follows: requests.map((r, i) => ({
      source: r.source.fid,
      target: r.target.fid,
      createdUs: now,
      pullAbove: s.fanout.pullMinFollowers,
      grouped: isGrouped(app, r.source.fid),
      since: since[i],
    })),
    entries,
    audit: auditBatch(s, requests.map((r) => followChange(r.source.fid, r.target.fid, 'followed', { activity_copy_limit: r.copyLimit }))),
  });
}

/** Minimum entries scanned per round trip while looking for a feed's direct entries. */
const COPY_SCAN_PAGE = 100;

/**
 * The newest `limit` entries of `feed` that were written to it directly (origin null: own posts,
 * `to` copies, add_to_many). Entries the feed received through its own follows are skipped: fan-out
 * is one level deep, and a removal at their origin only reaches that origin's followers, so a copy
 * made from them would never be cleaned up. Scans at most the feed's length (bounded by max_length).
 */
async function directEntries(s: Services, app: App, feed: string, limit: number): Promise<string[]> {
  const ids: string[] = [];
  // Feeds that follow nothing hold only direct entries, so one page of `limit` usually suffices.
  const size = Math.max(limit, COPY_SCAN_PAGE);
  let idLt: string | undefined;
  for (;;) {
    const page = await s.store.readFeed(app.appId, feed, { limit: size, offset: 0, idLt });
    for (const e of page) {
      if (e.origin !== null) continue;
      ids.push(e.id);
      if (ids.length === limit) return ids;
    }
    if (page.length < size) return ids;
    idLt = page[page.length - 1].id;
  }
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
export async function unfollow(s: Services, app: App, requests: readonly UnfollowRequest[]): Promise<void> {
  if (requests.length > MAX_FOLLOW_MANY) throw new InputError(`at most ${MAX_FOLLOW_MANY} unfollows per request`);
  for (const r of requests) groupOf(app, r.source);
  // A flat feed kept no copies of a pull-served feed; keeping history means copying its newest
  // activities now, as a push-served follow would have them.
  const entries: EntryWrite[] = [];
  const kept = requests.filter((r) => r.keepHistory && !isGrouped(app, r.source.fid));
  const pulled = kept.length > 0 ? await s.store.pullServed(app.appId, kept.map((r) => r.target.fid)) : new Set<string>();
  for (const r of kept) {
    if (!pulled.has(r.target.fid)) continue;
    // Only what the follower was shown (not what it removed, nothing before the follow's start).
    const newest = await directEntries(s, app, r.target.fid, DEFAULT_COPY_LIMIT);
    const shown = new Set((await s.store.pulledEntriesOf(app.appId, r.source.fid, { ids: newest })).map((e) => e.id));
    for (const id of newest) {
      if (!shown.has(id)) continue;
      const e = entryFor(app, r.source.fid, id, r.target.fid, null);
      if (e) entries.push(e);
    }
  }
  await commit(s, app.appId, {
    unfollows: requests.map((r) => ({ source: r.source.fid, target: r.target.fid })),
    removeByOrigin: requests.filter((r) => !r.keepHistory).map((r) => ({ feed: r.source.fid, origin: r.target.fid })),
    entries,
    audit: auditBatch(s, requests.map((r) => followChange(r.source.fid, r.target.fid, 'unfollowed', { keep_history: r.keepHistory }))),
  });
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
  s: Services,
  app: App,
  feed: FeedId,
  direction: 'followers' | 'following',
  limit: number,
  offset: number,
  filter?: readonly string[],
): Promise<FollowEdge[]> {
  groupOf(app, feed);
  return direction === 'followers'
    ? s.store.followers(app.appId, feed.fid, limit, offset)
    : s.store.following(app.appId, feed.fid, limit, offset, filter);
}

/**
 * Follow counts for `stats/follow/` (§8.4): the followers of `followersOf` (only sources in the
 * `followersSlugs` groups, when given) and the feeds `followingOf` follows (only targets in
 * `followingSlugs`). Each side is one store call; both run together.
 */
export async function followStats(
  s: Services,
  app: App,
  q: { readonly followersOf?: FeedId; readonly followersSlugs?: readonly string[]; readonly followingOf?: FeedId; readonly followingSlugs?: readonly string[] },
): Promise<{ followers?: number; following?: number }> {
  const [a, b] = await Promise.all([
    q.followersOf ? s.store.followCounts(app.appId, q.followersOf.fid, q.followersSlugs, undefined) : null,
    q.followingOf ? s.store.followCounts(app.appId, q.followingOf.fid, undefined, q.followingSlugs) : null,
  ]);
  return { ...(a ? { followers: a.followers } : {}), ...(b ? { following: b.following } : {}) };
}
