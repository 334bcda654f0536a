import type { FollowEdge } from '../follow-store.js';

export type { FollowEdge };

export interface FollowPage {
  readonly feeds: string[];
  /** Opaque cursor for the next page; `null` after the last page. */
  readonly cursor: string | null;
}

/** Reads the follow graph. Edges are written through {@link WriteStore.commit}. */
export interface LegacyFollowStore {
  /**
   * One page of the feeds that follow `target`, in a stable order, for fan-out. Pass the previous
   * page's cursor to continue; pages never repeat or skip a follower that existed throughout.
   * `groupedOnly` keeps only the followers whose edge was written with `grouped` (aggregated and
   * notification feeds), read from an index without walking the other followers.
   */
  followerPage(app: string, target: string, cursor: string | null, limit: number, groupedOnly?: boolean): Promise<FollowPage>;

  /**
   * Which of `feeds` are served by pull: feeds whose follower count once passed the threshold
   * given with their follows. Their activities are not copied into flat follower feeds; reads
   * merge them in (see {@link TimelineStore.readTimeline}). The flag never clears, so a feed
   * never has to be copied back into its followers.
   */
  pullServed(app: string, feeds: readonly string[]): Promise<Set<string>>;

  /**
   * Makes the `grouped` mark of every edge agree with the configured group types: edges whose
   * source is in one of `groupedSlugs` are grouped, all others not. Run at start, so a group that
   * changed type (or edges written before the mark existed) are right. Idempotent.
   */
  syncGroupedEdges(app: string, groupedSlugs: readonly string[]): Promise<void>;

  /** Which of `candidates` follow `target` (one query, for realtime delivery of pulled feeds). */
  followersAmong(app: string, target: string, candidates: readonly string[]): Promise<string[]>;

  /** Edges into `target`, newest first. */
  followers(app: string, target: string, limit: number, offset: number): Promise<FollowEdge[]>;

  /** Edges out of `source`, newest first; `filter` (feed ids) keeps only edges to those feeds. */
  following(app: string, source: string, limit: number, offset: number, filter?: readonly string[]): Promise<FollowEdge[]>;

  /**
   * Counts edges into and out of `feed`; slug lists (when given) count only edges whose other end
   * is in those groups.
   */
  followCounts(
    app: string,
    feed: string,
    followersSlugs?: readonly string[],
    followingSlugs?: readonly string[],
  ): Promise<{ followers: number; following: number }>;
}
