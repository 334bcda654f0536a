import type { GroupRange, GroupRecord } from '../group-store.js';
import type { PageEntry, TimelineEntry, TimelineRange } from '../timeline-store.js';
import type { WriteBatch } from '../write-store.js';

export type { GroupRange, GroupRecord, PageEntry, TimelineEntry, TimelineRange };

/** Reads feeds. Every method is one round trip. */
export interface LegacyTimelineStore {
  /**
   * Entries of `feed` in the range, newest first (ordered by activity id, i.e. by time).
   * @example readFeed('1', 'user:alice', { idLt: lastId, limit: 26, offset: 0 })
   */
  readFeed(app: string, feed: string, range: TimelineRange): Promise<TimelineEntry[]>;

  /**
   * Like {@link readFeed}, merged with the directly written entries of every pull-served feed
   * that `feed` follows (origin = that feed), deduplicated by id; the range applies to the merged
   * list. Merged entries the feed hid are left out, and so is everything older than the feed's
   * floor (see {@link WriteBatch.hides}). One call; each pulled feed is read only as deep as the
   * range needs.
   */
  readTimeline(app: string, feed: string, range: TimelineRange): Promise<TimelineEntry[]>;

  /**
   * {@link readTimeline} with each entry's stored activity JSON, in one call: the feed-read hot
   * path. Entries whose activity no longer exists are left out.
   */
  readTimelinePage(app: string, feed: string, range: TimelineRange): Promise<PageEntry[]>;

  /** A page of groups of an aggregated or notification feed, each with its newest entries. */
  readGroups(app: string, feed: string, range: GroupRange): Promise<GroupRecord[]>;

  /** Unseen and unread group counts of a notification feed, without scanning its groups. */
  groupCounts(app: string, feed: string): Promise<{ unseen: number; unread: number }>;

  /** Which of `ids` are in `feed`, with their origin. */
  entriesOf(app: string, feed: string, ids: readonly string[]): Promise<TimelineEntry[]>;

  /**
   * The activities (by ids, or every one with a foreign id) that `feed` shows through the merge of
   * the pull-served feeds it follows and has not hidden, with origin = the pulled feed; whether
   * the feed also holds an entry of them is not looked at. One call.
   * @example pulledEntriesOf('1', 'timeline:bob', { foreignId: 'post:42' }) // [{ id, origin: 'user:star' }]
   */
  pulledEntriesOf(app: string, feed: string, key: { readonly ids: readonly string[] } | { readonly foreignId: string }): Promise<TimelineEntry[]>;

  /**
   * When the merged list of `feed` (see {@link readTimeline}) holds more than `maxLength`
   * entries, the id of its `maxLength`-th newest (the oldest one a push-served feed would still
   * hold); otherwise null. Null as well for a feed that follows no pull-served feed. One call,
   * costing a keys-only merge `maxLength` deep.
   * @example oldestKept('1', 'timeline:bob', 3600) // the floor to set when bob removes something
   */
  oldestKept(app: string, feed: string, maxLength: number): Promise<string | null>;
}
