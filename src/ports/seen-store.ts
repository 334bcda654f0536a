/**
 * Per-user state of activities (personalization.md §5, `p_seen`): which activities a user hid.
 * Hiding takes the activity out of that user's feeds; the store remembers which feeds held it (and
 * through which origin), so `hide: false` puts it back where it was.
 */

/** A feed that held a hidden activity, with the entry's origin (null = written directly). */
export interface HiddenPlacement {
  readonly feed: string;
  readonly origin: string | null;
  /** The entry came through the merge of a pull-served feed (hidden there, not deleted). */
  readonly pulled?: boolean;
}

export interface HiddenActivity {
  readonly activityId: string;
  readonly hiddenUs: number;
  readonly placements: readonly HiddenPlacement[];
}

/**
 * Reads hidden activities. One round trip per call.
 *
 * @example (await seen.hiddenOf('1', 'alice', [a1, a2])).has(a1) // true once alice hid a1
 */
export interface SeenStore {
  /** The hidden ones among `activityIds` for `user`, with where they were. */
  hiddenOf(app: string, user: string, activityIds: readonly string[]): Promise<Map<string, HiddenActivity>>;
}
