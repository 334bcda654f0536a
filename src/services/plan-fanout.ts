import type { StoredActivity } from '../core/activities/activity.js';
import type { App } from '../core/feeds/feed-group.js';
import type { FanoutJob } from '../ports/outbox.js';
import type { EntryRemoval, EntryWrite, WriteBatch } from '../ports/write-store.js';
import { commit, type Services } from './context.js';
import { ActivitySource, entryFor } from './placement.js';

/** The part of a write batch that spreads a change to followers. */
export interface FanoutPart {
  entries: EntryWrite[];
  removals: EntryRemoval[];
  enqueue: FanoutJob[];
}

export function emptyFanout(): FanoutPart {
  return { entries: [], removals: [], enqueue: [] };
}

/**
 * Commits `batch` with the fan-out planned for it added (inline entries and removals after the
 * batch's own, queued jobs), then wakes the worker when jobs were queued.
 */
export async function commitWithFanout(s: Services, app: App, batch: WriteBatch, fan: FanoutPart): Promise<void> {
  await commit(s, app.appId, {
    ...batch,
    entries: (batch.entries ?? []).concat(fan.entries),
    removals: (batch.removals ?? []).concat(fan.removals),
    enqueue: (batch.enqueue ?? []).concat(fan.enqueue),
  });
  if (fan.enqueue.length > 0) s.onJobsEnqueued();
}

/** Puts `act` into `feeds` (origin null) with fan-out to their followers: entries into `entries`, the rest into `fan`. */
export async function placeInFeeds(s: Services, app: App, act: StoredActivity, feeds: readonly string[], entries: EntryWrite[], fan: FanoutPart): Promise<void> {
  const src = new ActivitySource([act]);
  for (const f of feeds) {
    const e = entryFor(app, f, act.id, null, src);
    if (e) entries.push(e);
    await planFanout(s, app, 'fanout.add', f, [act.id], fan, src);
  }
}

/** Takes `ids` out of `feeds` (their direct entries) and out of their followers' feeds. */
export async function takeFromFeeds(s: Services, app: App, ids: readonly string[], feeds: readonly string[], removals: EntryRemoval[], fan: FanoutPart): Promise<void> {
  for (const f of feeds) {
    removals.push({ feed: f, ids, origin: null });
    await planFanout(s, app, 'fanout.remove', f, ids, fan);
  }
}

/**
 * Plans spreading `ids` from `source` to its followers: applied inline (in the same commit as the
 * change) when the source has at most `inlineMaxFollowers` followers, otherwise queued as a durable
 * job for the worker. Adds to `part`.
 */
export async function planFanout(
  s: Services,
  app: App,
  kind: FanoutJob['kind'],
  source: string,
  ids: readonly string[],
  part: FanoutPart,
  src: ActivitySource | null = null,
): Promise<void> {
  if (ids.length === 0) return;
  const reach = await followerReach(s, app, kind, source);
  if (reach === 'none') return;
  const max = s.fanout.inlineMaxFollowers;
  const page = await s.store.followerPage(app.appId, source, null, max + 1, reach === 'grouped');
  if (page.feeds.length > max) {
    part.enqueue.push({ kind, app: app.appId, source, ids });
    return;
  }
  applyToFollowers(app, kind, source, ids, page.feeds, part, src);
}

/**
 * Which followers an add must reach: all (undefined), or — when `source` is served by pull —
 * only those in aggregated and notification groups, whose groups are built at write time; flat
 * followers merge a pull-served feed in when they read. Removals always reach every follower,
 * since copies pushed before the feed turned to pull may exist.
 */
export async function followerReach(s: Services, app: App, kind: FanoutJob['kind'], source: string): Promise<'all' | 'grouped' | 'none'> {
  if (kind !== 'fanout.add') return 'all';
  if (!(await s.store.pullServed(app.appId, [source])).has(source)) return 'all';
  return [...app.groups.values()].some((g) => g.type !== 'flat') ? 'grouped' : 'none';
}

/** Adds the entry writes or removals of one chunk of followers to `part`. */
export function applyToFollowers(
  app: App,
  kind: FanoutJob['kind'],
  source: string,
  ids: readonly string[],
  followers: readonly string[],
  part: { entries: EntryWrite[]; removals: EntryRemoval[] },
  src: ActivitySource | null,
): void {
  if (kind === 'fanout.add') {
    for (const feed of followers) {
      for (const id of ids) {
        const e = entryFor(app, feed, id, source, src);
        if (e) part.entries.push(e);
      }
    }
  } else {
    for (const feed of followers) part.removals.push({ feed, ids, origin: source });
  }
}
