import type { ActivityIndex } from './activity-index.js';
import type { ContentTagStore } from './content-tag-store.js';
import type { EventLog } from './event-log.js';
import type { ProfileStore } from './profile-store.js';
import type { SeenStore } from './seen-store.js';
import type { SignalWriter } from './signal-writes.js';

/** The personalization stores of one backend: every reading role and the writer. */
export interface SignalStore extends EventLog, ProfileStore, ContentTagStore, SeenStore, ActivityIndex, SignalWriter {}
