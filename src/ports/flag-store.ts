/** What a moderation flag names (stream-v2-api.md §17; the second and third as Stream's Go SDK sends them). */
export type FlagEntityType = 'stream:user' | 'stream:feeds:v2:activity' | 'stream:feeds:v2:reaction';

/** One report of a user, activity or reaction. Times are microseconds since the epoch. */
export interface FlagRecord {
  /** Unique within the app (the order of flags is the order they were stored in). */
  readonly id: string;
  readonly entityType: FlagEntityType;
  readonly entityId: string;
  /** The user the flagged thing belongs to: the user itself, an activity's actor, a reaction's author. */
  readonly targetUserId: string;
  /** Who reported it (`user_id` of the request), or null. */
  readonly flaggedBy: string | null;
  readonly reason: string | null;
  readonly createdUs: number;
}

/** A page of flags, newest first. `before` is a flag id from an earlier page. */
export interface FlagQuery {
  readonly entityType?: FlagEntityType;
  readonly entityId?: string;
  readonly before?: string;
  readonly limit: number;
}

/**
 * Moderation flags of an app: stored on `moderation/flag`, listed for the operator, and asked
 * about by reads that hide flagged content. Every method is one round trip.
 */
export interface FlagStore {
  /** Stores a flag (durable when the promise resolves). */
  addFlag(app: string, flag: FlagRecord): Promise<void>;

  /** Flags matching the query, newest first. */
  listFlags(app: string, q: FlagQuery): Promise<FlagRecord[]>;

  /**
   * Which of `ids` have at least one flag of `entityType`: ONE round trip whatever the number of
   * ids (a feed page asks once for all its activities and actors).
   * @example flagged('1', 'stream:user', ['alice', 'bob']) // Set { 'bob' }
   */
  flagged(app: string, entityType: FlagEntityType, ids: readonly string[]): Promise<Set<string>>;

  /** Deletes every flag naming `entityId` of `entityType` or reported by `flaggedBy` (data erasure). */
  forgetUser(app: string, userId: string): Promise<void>;
}
