import { plainRenderer, type EnrichItem, type Renderer } from './enrich.js';
import { isUuid } from '../core/activities/activity-id.js';
import { InputError } from '../core/errors.js';
import type { App, FeedGroup } from '../core/feeds/feed-group.js';
import type { FeedId } from '../core/feeds/feed-id.js';
import { formatActivityTime } from '../core/time.js';
import type { MarkChange as GroupMarks } from './publish-changes.js';
import type { TimelineRange } from '../ports/timeline-store.js';
import { commit, type Uses } from './context.js';
import { withoutFlagged } from './moderation.js';

/** What reading an aggregated or notification feed uses (its groups, bodies, flags, seen/read marks). */
export type ReadGroupsDeps = Uses<'activities' | 'groups', 'flags' | 'hideFlagged' | 'realtime'>;

/** Activities listed per group in a read (§23.2); `activity_count` still counts all. */
export const ACTIVITIES_PER_GROUP = 15;

/** A mark request of a notification read (§7.2): everything, the returned groups, or some ids. */
export type MarkRequest = { kind: 'all' } | { kind: 'current' } | { kind: 'ids'; ids: string[] } | null;

/** Parses `mark_seen` / `mark_read`: `true`, `current`, a comma-separated list of group ids, `false`. */
export function parseMark(value: string | undefined, name: string): MarkRequest {
  if (value === undefined || value === '') return null;
  const l = value.trim().toLowerCase();
  if (l === 'false' || l === '0') return null;
  if (l === 'true' || l === '1') return { kind: 'all' };
  if (l === 'current') return { kind: 'current' };
  const ids = value.split(',').map((v) => v.trim().toLowerCase()).filter((v) => v !== '');
  if (ids.length > 1000) throw new InputError(`${name} accepts at most 1000 group ids`);
  for (const id of ids) if (!isUuid(id)) throw new InputError(`${name}: "${id.slice(0, 64)}" is not a group id`);
  return { kind: 'ids', ids };
}

export interface GroupPage {
  /** Each group as JSON text (§5.2). */
  readonly results: string[];
  /** Id of the last group when more follow, else null. */
  readonly lastId: string | null;
  /** Notification feeds only: counts over the whole feed, before this read's marks. */
  readonly unseen?: number;
  readonly unread?: number;
}

/**
 * Reads a page of an aggregated or notification feed (§6.3, §7): the groups with their newest
 * activities and, for notification feeds, the counters, together; then one batch load of the
 * activities. Marks asked for are applied after the page is built (§23.3), so this response shows the
 * state before them.
 */
export async function readGroups(
  s: ReadGroupsDeps,
  app: App,
  feed: FeedId,
  group: FeedGroup,
  range: TimelineRange,
  marks: { seen: MarkRequest; read: MarkRequest },
  render: Renderer = plainRenderer,
): Promise<GroupPage> {
  const notification = group.type === 'notification';
  const listed = Math.min(ACTIVITIES_PER_GROUP, group.maxGroupActivities);
  // The page of groups and the feed's counts together, then the groups' activities.
  const [groups, counts] = await Promise.all([
    s.ports.groups.readGroups(app.appId, feed.fid, { ...range, limit: range.limit + 1, perGroup: listed }),
    notification ? s.ports.groups.groupCounts(app.appId, feed.fid) : Promise.resolve(null),
  ]);
  const more = groups.length > range.limit;
  if (more) groups.length = range.limit;
  const acts = await s.ports.activities.getActivities(app.appId, groups.flatMap((g) => g.entries.map((e) => e.id)));
  // With moderation.hide_flagged, flagged activities and flagged users' are left out.
  const shown = s.hideFlagged ? new Set((await withoutFlagged(s, app, [...acts.values()])).map((a) => a.id)) : null;
  // Every group's activities are rendered in one batch (one enrichment pass for the page).
  const items: EnrichItem[] = [];
  const perGroup = groups.map((g) => {
    let n = 0;
    for (const e of g.entries) {
      const a = acts.get(e.id);
      if (!a || (shown !== null && !shown.has(a.id))) continue;
      items.push({ body: a.body, origin: e.origin, id: a.id });
      n++;
    }
    return n;
  });
  const rendered = await render(items);
  let at = 0;
  const results: string[] = [];
  groups.forEach((g, gi) => {
    const activities = rendered.slice(at, (at += perGroup[gi]));
    // A group whose every listed activity is hidden is left out.
    if (shown !== null && activities.length === 0 && g.entries.length > 0) return;
    let text =
      `{"id":${JSON.stringify(g.id)},"group":${JSON.stringify(g.key)},"verb":${JSON.stringify(g.verb)},` +
      `"activities":[${activities.join(',')}],"activity_count":${g.activityCount},"actor_count":${g.actorCount},` +
      `"created_at":"${formatActivityTime(g.createdUs)}","updated_at":"${formatActivityTime(g.updatedUs)}"`;
    if (notification) text += `,"is_seen":${g.seen},"is_read":${g.read}`;
    results.push(text + '}');
  });
  if (notification && (marks.seen || marks.read)) {
    const current = groups.map((g) => g.id);
    const resolve = (m: MarkRequest): GroupMarks['seen'] =>
      m === null ? undefined : m.kind === 'all' ? 'all' : m.kind === 'current' ? current : m.ids;
    const mark: GroupMarks = { feed: feed.fid, seen: resolve(marks.seen), read: resolve(marks.read) };
    await commit(s, app.appId, { marks: [mark] });
  }
  return {
    results,
    lastId: more && groups.length > 0 ? groups[groups.length - 1].id : null,
    ...(counts ? { unseen: counts.unseen, unread: counts.unread } : {}),
  };
}
