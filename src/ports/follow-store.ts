/** A follow edge: `feed_id` follows `target_id` (stream-v2-api.md §5.6). Times in microseconds. */
export interface FollowEdge {
  readonly source: string;
  readonly target: string;
  readonly createdUs: number;
}

/** A follower of a feed, as fan-out needs it. */
export interface Follower {
  readonly feed: string;
  /** The follower is an aggregated or notification feed (its entries are grouped). */
  readonly grouped: boolean;
}

/** One page of the followers of a feed, with the feed's follower count. */
export interface FollowerPage {
  readonly followers: readonly Follower[];
  /** Opaque cursor for the next page; `null` after the last page. */
  readonly cursor: string | null;
  /** How many followers the feed has in all (at the time of the read). */
  readonly total: number;
}

/** A pull-served feed a reader follows, with the bound of that follow (see {@link FollowWrite.since}). */
export interface PullSource {
  readonly feed: string;
  /** The oldest activity id the reader sees from this feed (inclusive); null: everything. */
  readonly since: string | null;
  /** How many entries the pulled feed holds (an upper bound for the merge). */
  readonly count: number;
}

/**
 * The follow graph. Edges are written in a write's atomic step ({@link WriteStep.follow});
 * whether a feed is served by pull is decided by the core (`src/core/feeds/pull-switch.ts`) and
 * recorded here.
 *
 * Idempotence and order, per method:
 * - `markPullServed`: idempotent and sticky (the flag never clears, so a feed never has to be
 *   copied back into its followers); order-free.
 * - `syncGroupedEdges`: idempotent (sets each edge's `grouped` mark from its source's group type).
 * - The reads have no effects.
 */
export interface FollowStore {
  /**
   * One page of the feeds that follow `target`, in a stable order, with the total count. Pass the
   * previous page's cursor to continue; pages never repeat or skip a follower that existed
   * throughout. `groupedOnly` keeps only grouped followers, read without walking the others.
   */
  followerPage(app: string, target: string, cursor: string | null, limit: number, groupedOnly?: boolean): Promise<FollowerPage>;

  /**
   * The pull-served feeds that `reader` follows, with each follow's `since` bound and each
   * feed's entry count: the sources a merged read of `reader` scans. One call.
   */
  pullSources(app: string, reader: string): Promise<PullSource[]>;

  /** Which of `feeds` are served by pull. */
  pullServed(app: string, feeds: readonly string[]): Promise<Set<string>>;

  /** Marks `feeds` as served by pull, for good. */
  markPullServed(app: string, feeds: readonly string[]): Promise<void>;

  /** Makes the `grouped` mark of every edge agree with the configured group types. Run at start. */
  syncGroupedEdges(app: string, groupedSlugs: readonly string[]): Promise<void>;

  /** Which of `candidates` follow `target` (one call, for realtime delivery of pulled feeds). */
  followersAmong(app: string, target: string, candidates: readonly string[]): Promise<string[]>;

  /** Edges into `target`, newest first. */
  followers(app: string, target: string, limit: number, offset: number): Promise<FollowEdge[]>;

  /** Edges out of `source`, newest first; `filter` (feed ids) keeps only edges to those feeds. */
  following(app: string, source: string, limit: number, offset: number, filter?: readonly string[]): Promise<FollowEdge[]>;

  /**
   * Which of the (source, target) feed pairs are follow edges, in one call: `true` at the index of
   * each pair that is one. Optional: without it, callers ask {@link following} with a filter, one
   * call per source.
   */
  edgesAmong?(app: string, pairs: readonly (readonly [source: string, target: string])[]): Promise<boolean[]>;

  /** Counts edges into and out of `feed`; slug lists (when given) count only edges whose other end is in those groups. */
  followCounts(
    app: string,
    feed: string,
    followersSlugs?: readonly string[],
    followingSlugs?: readonly string[],
  ): Promise<{ followers: number; following: number }>;
}
