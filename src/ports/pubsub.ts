/**
 * The body of one realtime message, as the official clients receive it in their `subscribe`
 * callback (stream-v2-api.md §19.3). Plain JSON, so a networked adapter can carry it as is.
 *
 * @example
 * { feed: 'user:42', app_id: '1234', new: [{ id: '…', actor: 'SU:42', verb: 'post', …, origin: null }],
 *   deleted: [], deleted_foreign_ids: [], published_at: '2024-05-01T10:00:00.000000Z' }
 */
export interface RealtimeMessage {
  /** `slug:uid` of the feed that changed. */
  readonly feed: string;
  readonly app_id: string;
  /** Activities added, in stored form with `origin`; aggregated/notification feeds add `group` (the group key). */
  readonly new: readonly Readonly<Record<string, unknown>>[];
  /** Ids of activities taken out of the feed. Always present, possibly empty. */
  readonly deleted: readonly string[];
  /** `[foreign_id, time]` of the removed activities that have a foreign id. Always present. */
  readonly deleted_foreign_ids: readonly (readonly [string, string])[];
  /** Notification feeds: groups marked seen (`'all'` or group ids). */
  readonly mark_seen?: 'all' | readonly string[];
  /** Notification feeds: groups marked read (`'all'` or group ids). */
  readonly mark_read?: 'all' | readonly string[];
  /** Notification feeds: unseen and unread group counts after the change. */
  readonly unseen?: number;
  readonly unread?: number;
  /** RFC 3339 UTC with six fractional digits. */
  readonly published_at: string;
}

/** A change to one feed of one app. */
export interface FeedEvent {
  readonly app: string;
  /** `slug:uid` */
  readonly feed: string;
  readonly message: RealtimeMessage;
}

/**
 * Carries feed events from the processes that change feeds (API, fan-out workers) to the
 * processes holding realtime connections, and tells writers which feeds anyone listens to so that
 * they build events for those feeds only.
 *
 * The in-process adapter delivers synchronously within one process; a networked adapter (Redis
 * pub/sub) delivers to every node and keeps a local replica of the watched set, so that
 * {@link PubSub.isWatched} stays a memory lookup on every node.
 *
 * @example
 * const stop = pubsub.subscribe((e) => deliverToChannel(e));
 * pubsub.watch('1', 'user:42');                          // a socket subscribed to user:42
 * if (pubsub.isWatched('1', 'user:42')) await pubsub.publish([{ app: '1', feed: 'user:42', message }]);
 */
export interface PubSub {
  /**
   * Sends events to every subscriber of this node and of every node that watches the event's feed
   * (a node that watches nothing of a feed may not hear its events). Events of one call are
   * delivered in order, and calls from one process in the order they were made. Nothing is stored:
   * an event published while nobody listens is gone.
   */
  publish(events: readonly FeedEvent[]): Promise<void>;

  /** Receives every event published from now on. Returns a function that stops delivery. */
  subscribe(listener: (event: FeedEvent) => void): () => void;

  /** Counts one more listener of `feed` (a realtime subscription opened on this node). */
  watch(app: string, feed: string): void;

  /** Counts one listener of `feed` less; a no-op when none is counted. */
  unwatch(app: string, feed: string): void;

  /** Whether any node has a listener for `feed`. Cost: one memory lookup, no I/O. */
  isWatched(app: string, feed: string): boolean;

  /** Every feed of `app` with a listener (to reach followers of pull-served feeds). No I/O. */
  watchedFeeds(app: string): string[];

  /** Whether any feed of `app` has a listener. Cost: one memory lookup, no I/O. */
  hasWatchers(app: string): boolean;

  /**
   * Resolves once the watch and unwatch calls made so far count on every node, so that a change
   * written anywhere after it resolved reaches the new listener. Adapters whose counts take effect
   * everywhere at once (one process) may leave it out.
   */
  synced?(): Promise<void>;

  /**
   * Opens a link for small control messages between the realtime endpoints of all processes
   * (plain JSON values, a few hundred bytes to a few KB). A message sent on one link reaches every
   * other open link, in this process and in every other one, and never its own; messages from one
   * link arrive in the order they were sent. Nothing is stored: a process that is not listening
   * misses them. Adapters serving one process may leave it out (links within one process are then
   * not needed).
   */
  openControl?(receive: (message: unknown) => void): ControlLink;

  /**
   * Tells the fan-out workers of every other process that this one committed fan-out jobs (queued
   * or released), so that they claim now instead of at their next poll. Calls close together send
   * one small message (a few ms apart at most, never one per write). Nothing is stored: a worker
   * that misses it finds the jobs at its next poll. Adapters serving one process may leave it out
   * (the process wakes its own worker directly).
   */
  jobsQueued?(): void;

  /**
   * Calls `listener` whenever another process said it committed fan-out jobs (see
   * {@link PubSub.jobsQueued}). Returns a function that stops it.
   */
  onJobsQueued?(listener: () => void): () => void;

  /** Stops delivery and releases connections. */
  close(): Promise<void>;
}

/** One end of the control messages between processes (see {@link PubSub.openControl}). */
export interface ControlLink {
  /** Sends `message` to every other link. */
  send(message: unknown): void;
  /** Stops receiving. */
  close(): void;
}
