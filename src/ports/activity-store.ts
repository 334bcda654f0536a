import type { StoredActivity } from '../core/activities/activity.js';

/** A stored activity plus the feed it was first written to (its home feed). */
export interface ActivityRecord extends StoredActivity {
  /** `slug:uid` of the feed the activity was first added to directly. */
  readonly home: string;
}

/**
 * Reads activities by id. Writes go through {@link WriteStore.commit} so that an activity, its
 * timeline entries and its fan-out job land atomically.
 */
export interface ActivityStore {
  /**
   * Loads activities by id in one batch. Unknown ids are absent from the map.
   * Cost: one round trip whatever the number of ids.
   */
  getActivities(app: string, ids: readonly string[]): Promise<Map<string, ActivityRecord>>;

  /** Ids of the activities with this foreign id that are in `feed` (any time). */
  findInFeedByForeignId(app: string, feed: string, foreignId: string): Promise<string[]>;
}
