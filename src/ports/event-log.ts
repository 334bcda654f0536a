/**
 * The engagement event log (personalization.md §2.2, §5): every analytics event, reaction and
 * explicit feedback of an app, append-only, in the order it was committed. Learners read it by
 * `seq`; nothing rewrites an event once stored. Writes arrive with a commit
 * ({@link SignalWriter.recordSignals}), so an event, its de-duplication key and the profile changes it
 * causes are one atomic step.
 */

/** What an event means for ranking; labels map to kinds through the app's label map. */
export type EventKind = 'impression' | 'engage' | 'long_dwell' | 'negative' | 'stated';

/** Where an event came from. */
export type EventSource = 'analytics' | 'reaction' | 'feedback';

/** One event as stored. Times in microseconds since the epoch. */
export interface EventRecord {
  /** Position in the app's log: strictly increasing in commit order, never reused. */
  readonly seq: number;
  /** Server-assigned id (a UUID). */
  readonly id: string;
  readonly source: EventSource;
  readonly user: string;
  readonly kind: EventKind;
  /** The label as sent (`click`, `like`, `impression`, …). */
  readonly label: string;
  /** The resolved activity id, or null when the content named none that exists (yet). */
  readonly activity: string | null;
  /** The foreign id the caller named, when it named one. */
  readonly foreignId: string | null;
  /** Importance: clamp(score / 10, 0.1, 10) × boost, times the label's weight (§2.1). */
  readonly weight: number;
  readonly feedId: string | null;
  readonly location: string | null;
  readonly position: number | null;
  /** Context features as `group:value`. */
  readonly features: readonly string[];
  /** When it happened (the caller's `tracked_at`, clamped), µs. */
  readonly trackedUs: number;
  /** When the server took it, µs. */
  readonly receivedUs: number;
}

/** An event to append: everything but `seq`, which the store assigns. */
export type NewEvent = Omit<EventRecord, 'seq'>;

/**
 * Reads the event log. Every method is one round trip.
 *
 * @example
 *   let after = 0;
 *   for (;;) {
 *     const page = await log.readEvents('1', after, 1000);
 *     if (page.length === 0) break;
 *     learn(page);
 *     after = page[page.length - 1].seq;
 *   }
 */
export interface EventLog {
  /**
   * Events of `app` with `seq > afterSeq`, oldest first, at most `limit`. Events swept by
   * retention are gone; a reader that fell behind simply continues from the oldest kept.
   */
  readEvents(app: string, afterSeq: number, limit: number): Promise<EventRecord[]>;

  /** Number of events of `app` whose content resolved to no activity (orphans, for metrics). */
  orphanCount(app: string): Promise<number>;

  /**
   * Retention: deletes up to `limit` events of `app` received before `beforeUs`, and expired
   * de-duplication keys. Returns how many events it deleted (call again while it returns `limit`).
   * Idempotent.
   */
  sweepEvents(app: string, beforeUs: number, nowUs: number, limit: number): Promise<number>;
}
