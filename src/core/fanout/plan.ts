import { parseBody } from '../activities/activity.js';
import type { Placement } from '../aggregation/groups.js';
import { DEFAULT_MAX_LENGTH, type App } from '../feeds/feed-group.js';

/**
 * What spreading a change to feeds comes to (DESIGN.md, the write path): per-feed operations on
 * flat feeds, and group placements or removals on aggregated and notification feeds. Pure: the
 * followers and activities are given; a service applies the plan through the timeline and group
 * ports. Every operation of a plan is keyed by one feed and idempotent, so a plan may be applied
 * again from its intent after a crash.
 */

/** What placing an activity needs: its id, time and stored JSON. */
export interface PlanActivity {
  readonly id: string;
  readonly timeUs: number;
  readonly body: string;
}

/** The flat entry adds of a plan, per feed. */
export interface FlatAdd {
  readonly feed: string;
  /**
   * The entries, in order. A frozen list is shared with other adds (a follower page's followers
   * all get the same entries): {@link planAdd} copies it before adding to it.
   */
  entries: { readonly id: string; readonly origin: string | null }[];
  readonly maxLength: number;
}

/** A plan: flat adds, group placements per grouped feed, removals per feed (flat or grouped). */
export interface FanoutPlan {
  readonly adds: FlatAdd[];
  readonly placements: Map<string, Placement[]>;
  readonly removals: { readonly feed: string; readonly ids: readonly string[]; readonly origin: string | null; readonly grouped: boolean }[];
  /** Group limits per grouped feed of the plan. */
  readonly limits: Map<string, { readonly maxGroups: number; readonly maxPerGroup: number }>;
}

export function emptyPlan(): FanoutPlan {
  return { adds: [], placements: new Map(), removals: [], limits: new Map() };
}

/** The feed group of a feed id (`slug:uid`). */
function groupOf(app: App, fid: string) {
  return app.groups.get(fid.slice(0, fid.indexOf(':')));
}

/** The max length of a feed (its group's, or the default). */
export function maxLengthOf(app: App, fid: string): number {
  return groupOf(app, fid)?.maxLength ?? DEFAULT_MAX_LENGTH;
}

/** Whether entries of feed `fid` are grouped (aggregated or notification group). */
export function isGroupedFeed(app: App, fid: string): boolean {
  const g = groupOf(app, fid);
  return g !== undefined && g.type !== 'flat';
}

/**
 * Activities being placed, parsed only when a grouped feed needs their fields for a group key,
 * and then once each.
 */
export class PlanActivities {
  readonly #acts = new Map<string, PlanActivity>();
  readonly #parsed = new Map<string, Record<string, unknown>>();

  constructor(acts: Iterable<PlanActivity>) {
    for (const a of acts) this.#acts.set(a.id, a);
  }

  get(id: string): { act: PlanActivity; obj: Record<string, unknown> } | undefined {
    const act = this.#acts.get(id);
    if (!act) return undefined;
    let obj = this.#parsed.get(id);
    if (!obj) this.#parsed.set(id, (obj = parseBody(act.body)));
    return { act, obj };
  }
}

/**
 * Adds to `plan` the placement of activity `id` into feed `fid` with origin `origin`: a flat
 * entry, or (grouped feed) a placement into the group its compiled aggregation format gives,
 * evaluated here at write time (§7.1). A grouped feed needs the activity: without it nothing is
 * placed (it no longer exists).
 */
export function planAdd(plan: FanoutPlan, app: App, fid: string, id: string, origin: string | null, acts: PlanActivities | null): void {
  const i = fid.indexOf(':');
  const group = app.groups.get(fid.slice(0, i));
  if (!group || group.type === 'flat' || !group.groupKey) {
    const last = plan.adds[plan.adds.length - 1];
    if (last !== undefined && last.feed === fid) {
      if (Object.isFrozen(last.entries)) last.entries = [...last.entries];
      last.entries.push({ id, origin });
    }
    else plan.adds.push({ feed: fid, entries: [{ id, origin }], maxLength: group?.maxLength ?? DEFAULT_MAX_LENGTH });
    return;
  }
  const found = acts?.get(id);
  if (!found) return;
  const { act, obj } = found;
  const key = group.groupKey({ activity: obj, timeUs: act.timeUs, feedGroup: group.name, feedUserId: fid.slice(i + 1) });
  let list = plan.placements.get(fid);
  if (!list) {
    plan.placements.set(fid, (list = []));
    plan.limits.set(fid, { maxGroups: group.maxGroups, maxPerGroup: group.maxGroupActivities });
  }
  list.push({ id, origin, key, timeUs: act.timeUs, actor: String(obj.actor ?? ''), verb: String(obj.verb ?? '') });
}

/**
 * Adds to `plan` what an intent does to one page of followers of `source`: for `fanout.add`,
 * every id into every follower (origin `source`); for `fanout.remove`, every id out of every
 * follower where it came from `source`.
 */
export function planFollowers(
  plan: FanoutPlan,
  app: App,
  kind: 'fanout.add' | 'fanout.remove',
  source: string,
  ids: readonly string[],
  followers: readonly string[],
  acts: PlanActivities | null,
): void {
  if (ids.length === 0) return;
  if (kind === 'fanout.add') {
    // What planAdd does for each (feed, id), with one entries list shared by the flat followers.
    let shared: FlatAdd['entries'] | null = null;
    for (const feed of followers) {
      const group = groupOf(app, feed);
      const last = plan.adds[plan.adds.length - 1];
      if ((group !== undefined && group.type !== 'flat' && group.groupKey) || (last !== undefined && last.feed === feed)) {
        for (const id of ids) planAdd(plan, app, feed, id, source, acts);
        continue;
      }
      shared ??= Object.freeze(ids.map((id) => ({ id, origin: source }))) as FlatAdd['entries'];
      plan.adds.push({ feed, entries: shared, maxLength: group?.maxLength ?? DEFAULT_MAX_LENGTH });
    }
  } else {
    for (const feed of followers) plan.removals.push({ feed, ids, origin: source, grouped: isGroupedFeed(app, feed) });
  }
}

/** Number of feed operations in a plan (to size batches). */
export function planSize(plan: FanoutPlan): number {
  let n = plan.adds.length + plan.removals.length;
  for (const list of plan.placements.values()) n += list.length;
  return n;
}
