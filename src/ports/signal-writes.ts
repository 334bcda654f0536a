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
 * The personalization part of a commit ({@link WriteBatch.signals}): applied in the same atomic
 * step as the rest of the batch, so a reaction and the engagement event it is, or an activity and
 * its content job, land together.
 *
 * On a distributed backend, whose steps span one slot, each part is keyed so that re-applying it
 * changes nothing: events by `dedupeKey` (with their effects), tags by activity, jobs by id.
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
