import type { ActivityIndex } from './activity-index.js';
import type { ContentTagStore } from './content-tag-store.js';
import type { EventLog } from './event-log.js';
import type { ProfileStore } from './profile-store.js';
import type { SeenStore } from './seen-store.js';

/**
 * The personalization stores of one backend, read side. Writes go through
 * {@link WriteStore.commit} with {@link SignalWrites}, so they share the commit's atomic step.
 */
export interface SignalStore extends EventLog, ProfileStore, ContentTagStore, SeenStore, ActivityIndex {}
