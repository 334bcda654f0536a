import { DEFAULT_SIGNALS, type SignalSettings } from '../../personalization/signals/settings.js';
import type { Services } from '../context.js';

/** What the signal use cases need besides the store: settings per app and a wake-up for the content worker. */
export interface SignalContext {
  readonly settings: ReadonlyMap<string, SignalSettings>;
  /** Told after a commit queued content jobs. */
  readonly onContentQueued: () => void;
  /** Told after a commit appended events, so the learner takes them in soon. */
  readonly onEventsRecorded?: () => void;
}

/** The signal settings of an app (the defaults when none were configured). */
export function settingsOf(s: Pick<Services, 'signals'>, appId: string): SignalSettings {
  return s.signals?.settings.get(appId) ?? DEFAULT_SIGNALS;
}

/** Tells the content worker that jobs were queued, if one listens. */
export function contentQueued(s: Pick<Services, 'signals'>): void {
  s.signals?.onContentQueued();
}

/** Tells the learner that events were appended, if one listens. */
export function eventsRecorded(s: Pick<Services, 'signals'>): void {
  s.signals?.onEventsRecorded?.();
}
