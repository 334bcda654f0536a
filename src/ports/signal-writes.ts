import type { NewEvent } from './event-log.js';
import type { ContentTag } from './content-tag-store.js';
import type { ProfileChange } from './profile-store.js';
import type { HiddenPlacement } from './seen-store.js';

/**
 * An event to append, with its de-duplication key and the profile changes it causes. The store
 * appends the event only if no unexpired event of the app holds the same `dedupeKey` (a client
 * retry), and applies `effects` only when it appended: a retried like never counts twice.
 */
export interface EventWrite {
  readonly event: NewEvent;
  /** Identity of the event for retries, e.g. a hash of (user, content, label, tracked_at). */
  readonly dedupeKey: string;
  /** Until when (µs) the key catches retries; afterwards the same key is a new event. */
  readonly dedupeUntilUs: number;
  readonly effects?: readonly ProfileChange[];
}

/** Hide (or show again) an activity for one user; see {@link SeenStore}. */
export interface HideWrite {
  readonly user: string;
  readonly activityId: string;
  readonly hidden: boolean;
  readonly atUs: number;
  /** Hiding: the feeds it was taken out of, so that showing it again restores them. */
  readonly placements?: readonly HiddenPlacement[];
}

/**
 * What one {@link SignalWriter.recordSignals} call writes. Every part is keyed so that applying it
 * again changes nothing: events by `dedupeKey` (with their effects), tags by activity, job
 * completions by id, hides by (user, activity).
 */
export interface SignalWrites {
  readonly events?: readonly EventWrite[];
  /** Profile changes not tied to an event (manual interests). */
  readonly profile?: readonly ProfileChange[];
  /** Replace the tag set of each activity. */
  readonly tags?: readonly { readonly activityId: string; readonly tags: readonly ContentTag[] }[];
  /** Queue a `content.process` job per activity id (the worker reads the activity when it runs). */
  readonly contentJobs?: readonly string[];
  /** Content jobs finished (their rows are deleted). */
  readonly contentDone?: readonly number[];
  /** Content jobs that failed and are tried again, not before the given time (µs). */
  readonly contentRetry?: readonly { readonly jobId: number; readonly notBeforeUs: number }[];
  readonly hides?: readonly HideWrite[];
}

/**
 * Writes personalization signals. Separate from the feeds' write path on purpose: a signal never
 * changes a feed, and a distributed store keeps them in their own places (the event log per app,
 * profiles per user, tags per activity).
 */
export interface SignalWriter {
  /**
   * Applies `writes` in one atomic step on the embedded store (a retried event and its profile
   * changes are dropped together by its key). A distributed store may apply the parts in separate
   * steps, each idempotent; an event's profile changes must still never apply without the event or
   * twice. Resolves once durable.
   *
   * Handed over in the same event-loop turn as a feed write (`Promise.all([commit, recordSignals])`),
   * the embedded store commits both in one transaction: that is how an activity and its content
   * job, or a reaction and its engagement event, are written together there.
   *
   * @example await signals.recordSignals('1', { events: [{ event, dedupeKey, dedupeUntilUs, effects }] })
   */
  recordSignals(app: string, writes: SignalWrites): Promise<void>;
}
