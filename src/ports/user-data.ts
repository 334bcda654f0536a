import type { EntryRef } from './collection-store.js';

/**
 * Finds what belongs to one user across the feed data, for data export and erasure (§18.1). Not
 * on any hot path: each call is one indexed range scan.
 */
export interface UserDataIndex {
  /**
   * Ids of the activities whose `actor` is exactly `actor`, oldest first (by id), strictly after
   * `afterId` when given, at most `limit`.
   * @example activityIdsByActor('1', 'SU:alice', null, 1000)
   */
  activityIdsByActor(app: string, actor: string, afterId: string | null, limit: number): Promise<string[]>;

  /** The collection entries `userId` owns, at most `limit`. */
  entriesOwnedBy(app: string, userId: string, limit: number): Promise<EntryRef[]>;
}
