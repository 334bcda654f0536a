import type { ActivityStore } from './activity-store.js';
import type { CollectionStore } from './collection-store.js';
import type { FollowStore } from './follow-store.js';
import type { Outbox } from './outbox.js';
import type { ReactionStore } from './reaction-store.js';
import type { TimelineStore } from './timeline-store.js';
import type { UserStore } from './user-store.js';
import type { WriteStore } from './write-store.js';

/** Everything a storage backend provides; each role is its own port. */
export interface Store extends ActivityStore, TimelineStore, FollowStore, Outbox, WriteStore, UserStore, CollectionStore, ReactionStore {
  /** Flushes and releases the backend. */
  close(): Promise<void>;
}
