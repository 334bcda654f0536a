/** One reference in a feed: the activity id and the feed it arrived from (`null` = written directly). */
export interface TimelineEntry {
  readonly id: string;
  readonly origin: string | null;
}

/** A range over a feed's entries by activity id; results are always newest first. */
export interface TimelineRange {
  readonly idLt?: string;
  readonly idLte?: string;
  readonly idGt?: string;
  readonly idGte?: string;
  readonly limit: number;
  readonly offset: number;
}

/** Reads feeds. Every method is one round trip. */
export interface TimelineStore {
  /**
   * Entries of `feed` in the range, newest first (ordered by activity id, i.e. by time).
   * @example readFeed('1', 'user:alice', { idLt: lastId, limit: 26, offset: 0 })
   */
  readFeed(app: string, feed: string, range: TimelineRange): Promise<TimelineEntry[]>;

  /** Which of `ids` are in `feed`, with their origin. */
  entriesOf(app: string, feed: string, ids: readonly string[]): Promise<TimelineEntry[]>;
}
