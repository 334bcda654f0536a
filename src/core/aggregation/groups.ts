import { createHash } from 'node:crypto';
import { idOrderKey } from '../activities/activity-id.js';

/**
 * The rules of aggregated and notification feeds (stream-v2-api.md §7, §23): which group an
 * activity joins, the limits per group and per feed, removals, seen/read marks and their counts.
 * Pure functions over one feed's groups as read from the store; the result is a replace of the
 * groups that changed, which the store applies only if the feed did not change meanwhile.
 */

/** Distinct actors tracked per group (`actor_count` stops growing there). */
export const MAX_ACTORS_TRACKED = 1000;

/** A retained activity of a group, with what the group's fields are computed from. */
export interface GroupItem {
  readonly id: string;
  readonly origin: string | null;
  readonly timeUs: number;
  readonly actor: string;
  readonly verb: string;
}

/** A whole group, as the group port stores it (`StoredGroup`). */
export interface Group {
  readonly id: string;
  readonly key: string;
  readonly verb: string;
  readonly activityCount: number;
  readonly actors: readonly string[];
  readonly createdUs: number;
  readonly updatedUs: number;
  readonly seen: boolean;
  readonly read: boolean;
  /** Retained activities, newest first. */
  readonly entries: readonly GroupItem[];
  /**
   * The newest activity id the per-group limit ever dropped from the group (null: none). A
   * placement at or below it is not counted again: that makes placing idempotent even for an
   * activity that was trimmed right away (the price: a late activity older than a trimmed one
   * is not counted in `activityCount`; it would not be retained anyway).
   */
  readonly trimmed: string | null;
}

export interface Counts {
  readonly groups: number;
  readonly unseen: number;
  readonly unread: number;
}

/** One feed's groups as read for a change: the groups that matter to it, and the feed's counters. */
export interface GroupsRead {
  readonly counts: Counts;
  readonly groups: readonly Group[];
}

/** The replace that a change comes to: whole groups to store, ids to delete, new counters. */
export interface GroupChange {
  readonly put: Group[];
  readonly drop: string[];
  readonly counts: Counts;
  readonly markAll?: { readonly seen: boolean; readonly read: boolean };
}

/** An activity joining a feed's group with aggregation key `key`. */
export interface Placement extends GroupItem {
  readonly key: string;
}

export interface GroupLimits {
  /** Groups kept per feed; the least recently updated go first. */
  readonly maxGroups: number;
  /** Activities retained per group; `activityCount` still counts all. */
  readonly maxPerGroup: number;
}

/** How many of the oldest groups a merge of `placements` activities must see (see {@link placeInGroups}). */
export function oldestNeeded(placements: number): number {
  // Each placement may create a group (a drop each) and may touch one of the oldest groups
  // (making it newer), so the groups to drop are among the 2n oldest and the touched ones.
  return 2 * placements;
}

/** Order of groups by recency: updated time, then id (the group port's page order, reversed). */
function olderFirst(a: Group, b: Group): number {
  if (a.updatedUs !== b.updatedUs) return a.updatedUs - b.updatedUs;
  const x = idOrderKey(a.id);
  const y = idOrderKey(b.id);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The id of a new group: the creating activity's id, or (taken) that id with a node derived from the key. */
export function freeGroupId(id: string, key: string, taken: (id: string) => boolean): string {
  if (!taken(id)) return id;
  for (let i = 0; ; i++) {
    const node = createHash('sha1').update(`${key}\u0000${i}`).digest().subarray(0, 6).toString('hex');
    const alt = id.slice(0, 24) + node;
    if (!taken(alt)) return alt;
  }
}

function counted(g: Group): { unseen: number; unread: number } {
  return { unseen: g.seen ? 0 : 1, unread: g.read ? 0 : 1 };
}

/** Recomputes a group's times, verb and actors from its retained activities (null when none is left). */
function fromEntries(g: Group, entries: readonly GroupItem[], activityCount: number): Group | null {
  if (entries.length === 0) return null;
  const actors: string[] = [];
  for (const e of entries) if (actors.length < MAX_ACTORS_TRACKED && !actors.includes(e.actor)) actors.push(e.actor);
  return {
    ...g,
    entries,
    activityCount: Math.max(entries.length, activityCount),
    verb: entries[0].verb,
    createdUs: entries[entries.length - 1].timeUs,
    updatedUs: entries[0].timeUs,
    actors,
  };
}

/**
 * Places activities into a feed's groups. An activity already retained by a group of the feed is
 * skipped, so placing the same activities again changes nothing. A new group takes the creating
 * activity's id; the feed keeps `maxGroups` groups (the least recently updated are dropped, a new
 * one included if it is the oldest); each group retains its `maxPerGroup` newest activities. A
 * seen or read group that receives an activity becomes unseen and unread again.
 *
 * `read` must hold the feed's groups with the placements' keys, the groups with the placements'
 * ids (a new group's id must be free), the groups retaining them, and the
 * {@link oldestNeeded} oldest groups. Returns null when nothing changes.
 */
export function placeInGroups(read: GroupsRead, placements: readonly Placement[], limits: GroupLimits): GroupChange | null {
  const byId = new Map(read.groups.map((g) => [g.id, g]));
  const byKey = new Map(read.groups.map((g) => [g.key, g.id]));
  const retained = new Set(read.groups.flatMap((g) => g.entries.map((e) => e.id)));
  const touched = new Set<string>();
  let { groups, unseen, unread } = read.counts;
  for (const p of placements) {
    if (retained.has(p.id)) continue; // idempotent replay
    const item: GroupItem = { id: p.id, origin: p.origin, timeUs: p.timeUs, actor: p.actor, verb: p.verb };
    const gid = byKey.get(p.key);
    const g = gid === undefined ? undefined : byId.get(gid);
    if (g && g.trimmed !== null && idOrderKey(p.id) <= idOrderKey(g.trimmed)) continue; // trimmed before: a replay
    retained.add(p.id);
    if (!g) {
      const id = freeGroupId(p.id, p.key, (x) => byId.has(x));
      byId.set(id, { id, key: p.key, verb: p.verb, activityCount: 1, actors: [p.actor], createdUs: p.timeUs, updatedUs: p.timeUs, seen: false, read: false, entries: [item], trimmed: null });
      byKey.set(p.key, id);
      touched.add(id);
      groups++;
      unseen++;
      unread++;
      continue;
    }
    const entries = [...g.entries, item].sort((a, b) => (idOrderKey(b.id) < idOrderKey(a.id) ? -1 : 1));
    const kept = entries.slice(0, limits.maxPerGroup);
    const dropped = entries.length > kept.length ? entries[kept.length].id : null;
    const actors = g.actors.length < MAX_ACTORS_TRACKED && !g.actors.includes(p.actor) ? [...g.actors, p.actor] : g.actors;
    const newer = p.timeUs >= g.updatedUs;
    const next: Group = {
      ...g,
      entries: kept,
      activityCount: g.activityCount + 1,
      actors,
      verb: newer ? p.verb : g.verb,
      updatedUs: Math.max(g.updatedUs, p.timeUs),
      createdUs: kept.length < entries.length ? kept[kept.length - 1].timeUs : Math.min(g.createdUs, p.timeUs),
      seen: false,
      read: false,
      trimmed: dropped === null || (g.trimmed !== null && idOrderKey(g.trimmed) >= idOrderKey(dropped)) ? g.trimmed : dropped,
    };
    const before = counted(g);
    unseen += 1 - before.unseen;
    unread += 1 - before.unread;
    byId.set(g.id, next);
    touched.add(g.id);
  }
  if (touched.size === 0) return null;
  const drop: string[] = [];
  if (groups > limits.maxGroups) {
    const oldest = [...byId.values()].sort(olderFirst).slice(0, groups - limits.maxGroups);
    for (const g of oldest) {
      drop.push(g.id);
      touched.delete(g.id);
      byId.delete(g.id);
      const c = counted(g);
      groups--;
      unseen -= c.unseen;
      unread -= c.unread;
    }
  }
  // A dropped group that existed before must be deleted; one created here simply is not written.
  const existed = new Set(read.groups.map((g) => g.id));
  const change = { put: [...touched].map((id) => byId.get(id)!), drop: drop.filter((id) => existed.has(id)), counts: { groups, unseen, unread } };
  // A replayed activity whose group the feed's limit had dropped makes a group that is dropped again.
  return change.put.length === 0 && change.drop.length === 0 ? null : change;
}

/**
 * Takes activities out of a feed's groups: counts, times, verb and actors follow the retained
 * activities; a group left without any is dropped. `read` must hold the groups retaining `ids`.
 * Removing again changes nothing. Returns null when no group held any of them.
 */
export function removeFromGroups(read: GroupsRead, ids: readonly string[], origin?: string | null): GroupChange | null {
  const gone = new Set(ids);
  const put: Group[] = [];
  const drop: string[] = [];
  let { groups, unseen, unread } = read.counts;
  for (const g of read.groups) {
    const entries = g.entries.filter((e) => !(gone.has(e.id) && (origin === undefined || e.origin === origin)));
    const removed = g.entries.length - entries.length;
    if (removed === 0) continue;
    const next = fromEntries(g, entries, g.activityCount - removed);
    if (next) put.push(next);
    else {
      drop.push(g.id);
      const c = counted(g);
      groups--;
      unseen -= c.unseen;
      unread -= c.unread;
    }
  }
  if (put.length === 0 && drop.length === 0) return null;
  return { put, drop, counts: { groups, unseen, unread } };
}

/** Takes out every activity that came from `origin` (unfollow without history). */
export function removeOriginFromGroups(read: GroupsRead, origin: string): GroupChange | null {
  const ids = read.groups.flatMap((g) => g.entries.filter((e) => e.origin === origin).map((e) => e.id));
  return ids.length === 0 ? null : removeFromGroups(read, ids, origin);
}

/**
 * Seen/read marks of a notification feed (§23.3): `'all'` or group ids; `read` implies `seen`.
 * Unknown ids are ignored. For ids, `read` must hold those groups; `'all'` needs no groups (the
 * store marks every group and the counters become 0). Marking again changes nothing.
 */
export function markGroups(read: GroupsRead, seen: 'all' | readonly string[] | undefined, readMarks: 'all' | readonly string[] | undefined): GroupChange | null {
  let { groups, unseen, unread } = read.counts;
  let markAll: GroupChange['markAll'];
  if (readMarks === 'all') {
    markAll = { seen: true, read: true };
    unseen = 0;
    unread = 0;
  } else if (seen === 'all') {
    markAll = { seen: true, read: false };
    unseen = 0;
  }
  const seenIds = new Set<string>(Array.isArray(seen) ? seen : []);
  const readIds = new Set<string>(Array.isArray(readMarks) ? readMarks : []);
  for (const id of readIds) seenIds.add(id);
  const put: Group[] = [];
  for (const g of read.groups) {
    const s = g.seen || markAll !== undefined || seenIds.has(g.id);
    const r = g.read || markAll?.read === true || readIds.has(g.id);
    if (s === g.seen && r === g.read) continue;
    if (markAll === undefined && s !== g.seen) unseen--;
    if (markAll?.read !== true && r !== g.read) unread--;
    put.push({ ...g, seen: s, read: r });
  }
  if (put.length === 0 && markAll === undefined) return null;
  return { put, drop: [], counts: { groups, unseen, unread }, ...(markAll ? { markAll } : {}) };
}

/** Counters of a whole set of groups (what a feed's counters must equal). */
export function countGroups(groups: readonly Group[]): Counts {
  let unseen = 0;
  let unread = 0;
  for (const g of groups) {
    if (!g.seen) unseen++;
    if (!g.read) unread++;
  }
  return { groups: groups.length, unseen, unread };
}
