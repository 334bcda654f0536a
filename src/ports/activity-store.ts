import type { StoredActivity } from '../core/activities/activity.js';

/** A stored activity plus the feed it was first written to (its home feed). */
export interface ActivityRecord extends StoredActivity {
  /** `slug:uid` of the feed the activity was first added to directly. */
  readonly home: string;
}

/**
 * Activity records by id. They are written only inside a write's atomic step
 * ({@link IntentQueue.commit}, `WriteStep.activity` / `WriteStep.erase`), together with the intent
 * that spreads them; this port reads them.
 *
 * A distributed adapter keeps an activity's record in the place (shard) of its write step, so the
 * record and its intent are written in one atomic operation there.
 */
export interface ActivityStore {
  /**
   * Loads activities by id. Unknown ids are absent from the map; repeated ids are fine.
   * Cost: one call whatever the number of ids.
   * @example getActivities('1', [id1, id2]) // Map { id1 => {...}, id2 => {...} }
   */
  getActivities(app: string, ids: readonly string[]): Promise<Map<string, ActivityRecord>>;

  /**
   * Ids of every stored activity of `app` with this foreign id (any feed, any time), newest first.
   * Which of them a feed holds is a question for {@link TimelineStore.entriesOf}.
   * @example idsByForeignId('1', 'post:42') // ['…', '…']
   */
  idsByForeignId(app: string, foreignId: string): Promise<string[]>;
}
