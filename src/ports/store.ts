import type { ActivityStore } from './activity-store.js';
import type { CollectionStore } from './collection-store.js';
import type { FollowStore } from './follow-store.js';
import type { Outbox } from './outbox.js';
import type { ReactionStore } from './reaction-store.js';
import type { SignalStore } from './signal-store.js';
import type { TimelineStore } from './timeline-store.js';
import type { UserStore } from './user-store.js';
import type { WriteStore } from './write-store.js';

/** Everything a storage backend provides; each role is its own port. */
export interface Store extends ActivityStore, TimelineStore, FollowStore, Outbox, WriteStore, UserStore, CollectionStore, ReactionStore {
  /** The personalization stores (event log, profiles, content tags, hides) over the same data. */
  readonly signals: SignalStore;
  /**
   * A value that differs whenever stored data may have changed since it was last taken, by any
   * writer (this process or another over the same data); cheap enough to call on every read.
   * Backends that cannot tell leave it out, and nothing is cached over them.
   */
  changeMark?(): string;
  /**
   * Schema migrations applied to the stored data and the number this version knows (readiness:
   * serving is safe once they are equal). Backends without migrations leave it out.
   */
  migrations?(): Promise<{ applied: number; latest: number }>;
  /** Resolves once this process may write (a backend may need others to notice it first). */
  ready?(): Promise<void>;
  /** Flushes and releases the backend. */
  close(): Promise<void>;
}
