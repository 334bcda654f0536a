import type { Counts, Group } from '../core/aggregation/groups.js';
import type { ApplyOptions, TimelineEntry, TimelineRange } from './timeline-store.js';

/** One group of an aggregated or notification feed, with its newest activities (as read for a page). */
export interface GroupRecord {
  /** Stable id of the group while it exists (the id of the activity that created it). */
  readonly id: string;
  readonly key: string;
  readonly verb: string;
  readonly activityCount: number;
  readonly actorCount: number;
  /** Time of the oldest retained activity, microseconds. */
  readonly createdUs: number;
  /** Time of the newest activity, microseconds. */
  readonly updatedUs: number;
  readonly seen: boolean;
  readonly read: boolean;
  /** The newest activities of the group, newest first. */
  readonly entries: TimelineEntry[];
}

/**
 * A range over a feed's groups. Groups are ordered by updated time, newest first, ties by id
 * descending; the id bounds name a group and mean "groups after/before it in this order".
 */
export interface GroupRange extends TimelineRange {
  /** How many activities to return per group. */
  readonly perGroup: number;
}

/**
 * A group as stored and as the core's group rules (`src/core/aggregation/groups.ts`) compute it:
 * the whole state of one group, so that writing it is a replace (the core's `Group`).
 */
export type StoredGroup = Group;

/** Group counters of one feed, kept with its groups so that counts cost no scan (the core's `Counts`). */
export type GroupCounts = Counts;

/** The groups of one feed that a merge needs, read in one call (see {@link GroupStore.readForMerge}). */
export interface FeedGroups {
  readonly feed: string;
  /** Changes with every write of the feed's groups; a write names the version it was computed from. */
  readonly version: number;
  readonly counts: GroupCounts;
  /** The feed's groups that match the ask (by key, by id, by a retained entry, or among the oldest), each once. */
  readonly groups: readonly StoredGroup[];
}

/** Which groups of one feed to read for a merge; a group matching several criteria comes once. */
export interface GroupAsk {
  readonly feed: string;
  /** Groups with these aggregation keys (placements). */
  readonly keys?: readonly string[];
  /** Groups with these ids (marks; a new group's id must be free). */
  readonly ids?: readonly string[];
  /** Groups that retain an activity with one of these ids (removals). */
  readonly entryIds?: readonly string[];
  /** The `oldest` least recently updated groups (updated time, then id, ascending): group limits. */
  readonly oldest?: number;
}

/**
 * A replace of some groups of one feed, computed by the core from a {@link FeedGroups} read:
 * `put` groups are stored whole (replacing a group with the same id), `drop` ids are deleted,
 * and the counters take the given values. Applied only when the feed's groups are still at
 * `version`; otherwise nothing changes and the feed is reported back (read again and recompute).
 */
export interface GroupWrite {
  readonly feed: string;
  readonly version: number;
  readonly put: readonly StoredGroup[];
  readonly drop: readonly string[];
  /** Mark every group of the feed seen (and read) first, before `put` applies (a whole notification feed). */
  readonly markAll?: { readonly seen: boolean; readonly read: boolean };
  readonly counts: GroupCounts;
}

/**
 * Groups of aggregated and notification feeds. The rules (which group an activity joins, limits
 * per group and per feed, seen/read marks and their counts) are pure functions in the core; this
 * port reads and replaces one feed's groups.
 *
 * Idempotence and order, per method:
 * - `writeGroups`: each write is a compare-and-set on its feed's version, so a write computed
 *   from a stale read changes nothing (the caller reads again and recomputes); the core's merge is
 *   idempotent (an activity already in its group is not counted again), so re-applying an
 *   intent's placements after a crash leaves the groups as they were.
 * - The reads have no effects.
 */
export interface GroupStore {
  /** A page of groups of one feed, each with its newest `perGroup` entries (one call). */
  readGroups(app: string, feed: string, range: GroupRange): Promise<GroupRecord[]>;

  /** Unseen and unread group counts of a notification feed, without scanning its groups. */
  groupCounts(app: string, feed: string): Promise<{ unseen: number; unread: number }>;

  /** For each ask, the feed's version, counters and the matching groups (see {@link GroupAsk}). One call for many feeds. */
  readForMerge(app: string, asks: readonly GroupAsk[]): Promise<FeedGroups[]>;

  /**
   * Applies the writes (each atomic for its feed) and returns the feeds whose version had moved.
   * `covered`: as for {@link TimelineStore.apply}.
   */
  writeGroups(app: string, writes: readonly GroupWrite[], opts?: ApplyOptions): Promise<string[]>;
}
