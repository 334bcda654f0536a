import type { ActivityRecord } from './activity-store.js';
import type { AuditChange } from './audit-log.js';
import type { FanoutJob } from './outbox.js';
import type { ReactionRecord } from './reaction-store.js';

/**
 * Put `id` into `feed` (no-op when present) and trim the feed to `maxLength` newest entries.
 * For aggregated and notification feeds, `group` says which group the activity joins.
 */
export interface EntryWrite {
  readonly feed: string;
  readonly id: string;
  readonly origin: string | null;
  readonly maxLength: number;
  readonly group?: GroupPlacement;
}

/**
 * Where an activity goes in an aggregated or notification feed: the group with key `key` (created
 * when absent). The group's counts, times and verb are updated; a seen/read group becomes unseen
 * and unread again. The feed keeps at most `maxGroups` groups (least recently updated dropped) and
 * each group its `maxPerGroup` newest activities (`activity_count` still counts all).
 */
export interface GroupPlacement {
  readonly key: string;
  readonly actor: string;
  readonly verb: string;
  readonly timeUs: number;
  readonly maxGroups: number;
  readonly maxPerGroup: number;
}

/** Marks on a notification feed: every group (`'all'`) or the groups with these ids. */
export interface GroupMarks {
  readonly feed: string;
  readonly seen?: 'all' | readonly string[];
  readonly read?: 'all' | readonly string[];
}

/** Take `ids` out of `feed`; with `origin` set, only entries that came from that feed. */
export interface EntryRemoval {
  readonly feed: string;
  readonly ids: readonly string[];
  readonly origin?: string | null;
}

/**
 * Everything one use case changes, applied atomically by {@link WriteStore.commit}: either all of it
 * is durable when the promise resolves, or none of it is.
 */
export interface WriteBatch {
  /** Upserts by id; an existing activity keeps its home feed. */
  readonly activities?: readonly ActivityRecord[];
  readonly entries?: readonly EntryWrite[];
  readonly removals?: readonly EntryRemoval[];
  /** Remove every entry of `feed` that came from `origin` (unfollow without history). */
  readonly removeByOrigin?: readonly { feed: string; origin: string }[];
  /**
   * Create edges (existing edges are kept unchanged). Times in microseconds. A target whose
   * follower count passes `pullAbove` becomes served by pull, for good (see
   * {@link FollowStore.pullServed}). `grouped` marks a source that is an aggregated or
   * notification feed (see {@link FollowStore.followerPage}). A follow also forgets the
   * source's hides (see `hides`) of the target's direct activities from `since` on, since push
   * would copy those again.
   */
  readonly follows?: readonly {
    source: string;
    target: string;
    createdUs: number;
    pullAbove?: number;
    grouped?: boolean;
    /**
     * How far back the follower sees the target if the target is (or becomes) pull-served: the
     * oldest activity id the follow copied, or a time (microseconds) when it copied nothing;
     * null for everything. A re-follow keeps the first edge and its bound.
     */
    since?: { id: string } | { timeUs: number } | null;
  }[];
  readonly unfollows?: readonly { source: string; target: string }[];
  readonly enqueue?: readonly FanoutJob[];
  /** Reaction changes; their counts are kept up to date in the same step. */
  readonly reactions?: ReactionWrites;
  /** Notification marks; `read` implies `seen`. */
  readonly marks?: readonly GroupMarks[];
  /** Record how far jobs got (a follower cursor each). */
  readonly progress?: readonly { readonly jobId: number; readonly cursor: string }[];
  readonly complete?: readonly number[];
  /**
   * Hybrid fan-out: hide activities that `feed` shows only through a pull-served feed it follows
   * (the follower removed them from its feed; there is no entry to delete). With `floor` (an
   * activity id), the feed's merged reads show nothing older than that activity from now on.
   */
  readonly hides?: readonly { feed: string; ids: readonly string[]; floor?: string }[];
  /** Forget every feed's hide of these activities (they were removed from their home feed). */
  readonly unhides?: readonly string[];
  /**
   * Delete these activities' records for good (data erasure), applied after everything else in
   * the batch. The batch removes their entries too; an entry left in some feed is skipped by reads.
   */
  readonly erase?: readonly string[];
  /**
   * Audit log entries of this change, recorded in the same atomic step (so a change is never
   * without its entry, and costs no commit of its own); listed through {@link AuditLog}.
   */
  readonly audit?: { readonly atUs: number; readonly changes: readonly AuditChange[] };
}

export interface WriteStore {
  /** Applies the batch in one atomic step. Idempotent for entries and follows. */
  commit(app: string, batch: WriteBatch): Promise<void>;
}

/**
 * Reaction writes. `add` inserts new reactions; `update` replaces data, target feeds and
 * updated time; `remove` deletes for good; `softDelete`/`restore` set or clear `deleted_at`.
 * Counts per (activity or parent, kind) follow every change of a visible reaction.
 */
export interface ReactionWrites {
  readonly add?: readonly ReactionRecord[];
  readonly update?: readonly ReactionRecord[];
  readonly remove?: readonly ReactionRecord[];
  readonly softDelete?: readonly { readonly reaction: ReactionRecord; readonly deletedUs: number }[];
  readonly restore?: readonly ReactionRecord[];
}
