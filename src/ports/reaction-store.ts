/**
 * A reaction as stored (stream-v2-api.md §5.5). `parent` is `''` for a reaction on an activity;
 * children carry their parent's `activityId`. Times in microseconds; `data` is JSON text.
 */
export interface ReactionRecord {
  readonly id: string;
  readonly kind: string;
  readonly activityId: string;
  readonly userId: string;
  readonly parent: string;
  /** 1 for a reaction on an activity, 2 for its child, 3 for a grandchild. */
  readonly depth: number;
  readonly data: string;
  readonly targetFeeds: readonly string[];
  readonly createdUs: number;
  readonly updatedUs: number;
  /** Soft-delete time, or null. */
  readonly deletedUs: number | null;
}

/** What to list reactions by (§10.6): an activity's top-level reactions, a user's, or children. */
export type ReactionLookup =
  | { readonly by: 'activity_id'; readonly value: string }
  | { readonly by: 'user_id'; readonly value: string }
  | { readonly by: 'reaction_id'; readonly value: string };

/**
 * A page of a reaction listing, ordered by (created, id): newest first, except with a lower
 * bound only (`gt`/`gte`), which lists oldest first. Bounds name a reaction by its position.
 */
export interface ReactionPageQuery {
  readonly lookup: ReactionLookup;
  readonly kind?: string;
  readonly userId?: string;
  readonly lt?: { createdUs: number; id: string };
  readonly lte?: { createdUs: number; id: string };
  readonly gt?: { createdUs: number; id: string };
  readonly gte?: { createdUs: number; id: string };
  readonly limit: number;
  /** Include soft-deleted reactions. */
  readonly includeDeleted?: boolean;
}

/** Newest reactions per (owner, kind): owners are activity ids (top level) or parent reaction ids. */
export interface LatestQuery {
  /** Activity ids (for top-level reactions) or reaction ids (for children), per `of`. */
  readonly owners: readonly string[];
  readonly of: 'activity' | 'reaction';
  /** Only these kinds, when given. */
  readonly kinds?: readonly string[];
  /** Only reactions by this user, when given. */
  readonly userId?: string;
  /** At most this many per owner and kind... */
  readonly perKind?: number;
  /** ...or at most this many per owner across kinds. */
  readonly perOwner?: number;
}

/**
 * Reads reactions. Every method is one round trip whatever the number of ids or owners, so an
 * enriched page costs a fixed number of store calls. Soft-deleted reactions are skipped unless
 * asked for. Reactions are written in a write's atomic step (`WriteStep.reactions`, see
 * {@link IntentQueue.commit}) together with their counts: a distributed adapter keeps a reaction,
 * its children and the counts of its activity in the activity's place. Adding a reaction whose id
 * exists fails that step with a `ConflictError`, so concurrent adds of one id cannot both succeed
 * (an add is therefore not idempotent by design: a retried add answers 409, as Stream does).
 * The reads have no effects.
 */
export interface ReactionStore {
  getReactions(app: string, ids: readonly string[], includeDeleted?: boolean): Promise<Map<string, ReactionRecord>>;

  /** One page of a listing (§10.6). */
  listReactions(app: string, q: ReactionPageQuery): Promise<ReactionRecord[]>;

  /** Newest reactions for many owners at once, newest first within each owner. */
  latestReactions(app: string, q: LatestQuery): Promise<ReactionRecord[]>;

  /**
   * Counts per kind, maintained on write: for activity ids the top-level reactions, for reaction
   * ids their direct children. A kind whose last reaction went away stays with 0.
   */
  reactionCounts(app: string, owners: readonly string[], of: 'activity' | 'reaction'): Promise<Map<string, Record<string, number>>>;

  /** Ids of every reaction below `ids` (children, grandchildren), for cascading deletes. */
  descendants(app: string, ids: readonly string[]): Promise<ReactionRecord[]>;
}
