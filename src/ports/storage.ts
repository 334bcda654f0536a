import type { ActivityStore } from './activity-store.js';
import type { CollectionStore } from './collection-store.js';
import type { FollowStore } from './follow-store.js';
import type { GroupStore } from './group-store.js';
import type { IntentQueue } from './intent-queue.js';
import type { ReactionStore } from './reaction-store.js';
import type { TimelineStore } from './timeline-store.js';
import type { UserStore } from './user-store.js';

/**
 * The storage ports of one backend (docs/storage-ports.md): what a storage adapter provides and
 * the contract suites in `test/contract/` check, one suite per port.
 */
export interface StoragePorts {
  readonly intents: IntentQueue;
  readonly activities: ActivityStore;
  readonly timelines: TimelineStore;
  readonly groups: GroupStore;
  readonly follows: FollowStore;
  readonly reactions: ReactionStore;
  readonly users: UserStore;
  readonly collections: CollectionStore;
}
