/** One reference in a feed: the activity id and the feed it arrived from (`null` = written directly). */
export interface TimelineEntry {
  readonly id: string;
  readonly origin: string | null;
}

/** A timeline entry with its activity's stored JSON (without origin). */
export interface PageEntry extends TimelineEntry {
  readonly body: string;
}

/** A range over a feed's entries by activity id; results are always newest first. */
export interface TimelineRange {
  readonly idLt?: string;
  readonly idLte?: string;
  readonly idGt?: string;
  readonly idGte?: string;
  readonly limit: number;
  readonly offset: number;
  /**
   * Merged reads only: the reading feed's max_length. A push-served feed holds at most that many
   * entries, so the merged list is cut to its newest `maxLength` entries before the bounds,
   * offset and limit apply.
   */
  readonly maxLength?: number;
}

/**
 * A range scan of ONE feed: its entries with ids inside the bounds, newest first, skipping
 * `offset` and returning at most `limit`.
 */
export interface FeedScan {
  readonly feed: string;
  readonly idLt?: string;
  readonly idLte?: string;
  readonly idGt?: string;
  readonly idGte?: string;
  readonly limit: number;
  readonly offset?: number;
  /** Only entries written directly into the feed (origin null): what a pull-served feed shows. */
  readonly directOnly?: boolean;
  /** With each entry's stored activity JSON; entries whose activity no longer exists are left out. */
  readonly bodies?: boolean;
}

/** What a merged read needs to know about the reading feed (one call, see {@link TimelineStore.readerState}). */
export interface ReaderState {
  /** Entries the feed holds (flat entries; grouped feeds count their retained activities). */
  readonly count: number;
  /** The oldest activity id merged reads still show (set by removals from a merged feed); null: none. */
  readonly floor: string | null;
  /** Every activity id the feed hid from its merged reads (see {@link FeedOp} `hide`). */
  readonly hidden: readonly string[];
}

/**
 * One per-feed operation. Every operation is keyed by ONE feed (`feed`), idempotent (applying it
 * twice leaves the feed as applying it once) and safe in any order with the other operations on
 * that feed, with one exception stated where it applies: an `add` and a `remove` of the same
 * activity id do not commute; the intent that issues them orders them (a replayed add re-checks
 * that the activity is still in its source, see DESIGN.md and docs/storage-ports.md).
 *
 * - `add`: put each entry into the feed unless an entry with its id is there (the first origin is
 *   kept), then keep the newest `maxLength` entries. Rule: set union, then "newest N" — applying
 *   it twice or interleaved with other adds gives the same feed.
 * - `remove`: take `ids` out; with `origin` given (`null` = direct), only entries with that origin.
 *   Rule: set difference.
 * - `removeOrigin`: take every entry whose origin is `origin` out (unfollow without history).
 * - `hide`: add `ids` to the feed's hidden set (its merged reads skip them); with `floor`, raise the
 *   feed's floor to at least that id (max, never lowered). Rule: set union and max.
 * - `unhide`: take `ids` out of the feed's hidden set. Rule: set difference.
 */
export type FeedOp =
  | { readonly kind: 'add'; readonly feed: string; readonly entries: readonly TimelineEntry[]; readonly maxLength: number }
  | { readonly kind: 'remove'; readonly feed: string; readonly ids: readonly string[]; readonly origin?: string | null }
  | { readonly kind: 'removeOrigin'; readonly feed: string; readonly origin: string }
  | { readonly kind: 'hide'; readonly feed: string; readonly ids: readonly string[]; readonly floor?: string }
  | { readonly kind: 'unhide'; readonly feed: string; readonly ids: readonly string[] };

/** How per-feed operations are applied ({@link TimelineStore.apply}, {@link GroupStore.writeGroups}). */
export interface ApplyOptions {
  /**
   * A durable intent redoes these operations after a crash (a fan-out chunk of a claimed intent,
   * the follower pages of a write whose intents are committed), so they need not be on disk when
   * the call resolves: SQLite commits them without waiting for fsync. Without it, they are as
   * durable as a step when the call resolves (a write's own feeds are not always covered by an
   * intent: a source without followers gets none).
   */
  readonly covered?: boolean;
  /**
   * False: the caller will not use what changed (nobody listens for realtime events), so the
   * adapter may skip building the change records and return an empty list. The operations are
   * applied the same way either way.
   */
  readonly changes?: boolean;
}

/** What an operation changed in its feed, for realtime events: entries really added and ids really removed. */
export interface FeedChange {
  readonly feed: string;
  readonly added: readonly TimelineEntry[];
  readonly removed: readonly string[];
}

/**
 * Flat feed entries: range scans of one feed and per-feed operations. Feed rules (the hybrid
 * merge, hides, floors, `since` bounds) are not here: they are pure functions in
 * `src/core/feeds/merge-timeline.ts` over what these primitives return. A merged feed read is a
 * fixed number of calls issued together: {@link FollowStore.pullSources} with {@link scan} of the
 * reader, then {@link readerState} with {@link scanMany} of the pulled feeds.
 */
export interface TimelineStore {
  /**
   * A range scan of one feed (see {@link FeedScan}), newest first.
   * @example scan('1', { feed: 'user:alice', idLt: lastId, limit: 26, bodies: true })
   */
  scan(app: string, scan: FeedScan): Promise<(TimelineEntry & { readonly body?: string })[]>;

  /** Several scans in one call, one result list per scan, in order (the sources of a merge). */
  scanMany(app: string, scans: readonly FeedScan[]): Promise<(TimelineEntry & { readonly body?: string })[][]>;

  /** The reading feed's entry count, floor and hidden ids (see {@link ReaderState}). */
  readerState(app: string, feed: string): Promise<ReaderState>;

  /** Which of `ids` are in `feed`, with their origin (in no particular order). */
  entriesOf(app: string, feed: string, ids: readonly string[]): Promise<TimelineEntry[]>;

  /**
   * The entries of `feed` whose activity has this foreign id (any time): removals by foreign id.
   * One call.
   */
  entriesByForeignId(app: string, feed: string, foreignId: string): Promise<TimelineEntry[]>;

  /**
   * Applies per-feed operations (see {@link FeedOp}), in the order given within each feed; feeds
   * may be applied in any order and in parallel. Resolves once every operation is applied (they
   * are visible to reads). Returns one change per feed that changed. With `covered` (see
   * {@link ApplyOptions}) an adapter need not wait for them to reach the disk. A post's own entries
   * may be applied while its step is still on its way (see `IntentQueue.commit`): an entry
   * may so name an activity not stored yet, or never (a failed step); reads skip such entries.
   */
  apply(app: string, ops: readonly FeedOp[], opts?: ApplyOptions): Promise<FeedChange[]>;

  /**
   * Optional, on a store that applies the writes handed to it in order (see `IntentQueue.ordered`):
   * puts `ids` (origin `source`) into every follower of `source` as flat entries, reading the
   * followers where and when the operation is applied, after every write handed over before it.
   * The embedded store applies it in the same transaction as the writes handed over in the same
   * turn, so a post hands over its step, its own entries and its small fan-out at once and waits
   * for one commit. Followers in the feed groups named in `opts.skipGroups` (aggregated and
   * notification feeds) get nothing and come back in `skipped`, for the caller to place. A
   * store without it leaves the caller to read follower pages and {@link apply} them.
   */
  spread?(app: string, source: string, ids: readonly string[], opts: SpreadOptions): Promise<{ readonly changes: FeedChange[]; readonly skipped: readonly string[] }>;
}

/** How {@link TimelineStore.spread} places entries. */
export interface SpreadOptions extends ApplyOptions {
  /** The feed length kept per feed group (by name); `defaultMaxLength` for a group not named. */
  readonly maxLengths: Readonly<Record<string, number>>;
  readonly defaultMaxLength: number;
  /** Feed groups whose followers are skipped and returned (their entries go into groups). */
  readonly skipGroups: readonly string[];
}
