import type { ActivityRecord } from '../activity-store.js';

export type { ActivityRecord };

/**
 * The earlier activity read port, still served by the SQLite store while the services move to
 * the ports in `src/ports/` (see docs/storage-ports.md).
 */
export interface LegacyActivityStore {
  /** Loads activities by id in one batch. Unknown ids are absent from the map. */
  getActivities(app: string, ids: readonly string[]): Promise<Map<string, ActivityRecord>>;

  /** Ids of the activities with this foreign id that are in `feed` (any time). */
  findInFeedByForeignId(app: string, feed: string, foreignId: string): Promise<string[]>;
}
