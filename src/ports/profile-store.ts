/**
 * Per-user profiles (personalization.md §5): weights on content tags and on authors, each stored
 * as `(weight, updatedUs)` and decayed lazily — `weight · 0.5^((t − updatedUs) / halfLife)` on
 * read and before each increment — so no sweeper runs. Changes arrive with a commit
 * ({@link SignalWriter.recordSignals}, alone or attached to the event that causes them), so a like and the
 * interest it adds are one atomic step: the user's next read sees both.
 */

/**
 * Which profile a weight belongs to:
 * - `computed`: learned from engagement (positive) and negative feedback (negative); decays.
 * - `manual`: set by the app (onboarding, `interests/`), −1..1; never decays, wins over `computed`.
 * - `preference`: explicit show more / show less (and hide) on an activity's tags and author; decays.
 */
export type ProfileSource = 'computed' | 'manual' | 'preference';

/** What a weight is on: a content tag (`#snowboarding`, `kw:powder`) or an author (actor id). */
export type ProfileDimension = 'tag' | 'author';

/** One stored weight, undecayed. */
export interface ProfileWeight {
  readonly dimension: ProfileDimension;
  readonly key: string;
  readonly source: ProfileSource;
  readonly weight: number;
  /** When `weight` was last written, µs; decay runs from here. */
  readonly updatedUs: number;
}

/**
 * A change to one weight, applied by the store as `decayed(stored, atUs) + delta` with the given
 * half-life (see `decayedAdd` in `personalization/signals/decay.ts`); `set` replaces the weight
 * instead (manual interests); `remove` deletes it.
 */
export type ProfileChange =
  | {
      readonly op: 'add';
      readonly user: string;
      readonly dimension: ProfileDimension;
      readonly key: string;
      readonly source: 'computed' | 'preference';
      readonly delta: number;
      readonly atUs: number;
      readonly halfLifeUs: number;
    }
  | { readonly op: 'set'; readonly user: string; readonly dimension: ProfileDimension; readonly key: string; readonly source: ProfileSource; readonly weight: number; readonly atUs: number }
  | { readonly op: 'remove'; readonly user: string; readonly dimension: ProfileDimension; readonly source: ProfileSource; readonly key?: string };

/**
 * Reads profiles. One round trip per call, whatever the number of users.
 *
 * @example
 *   const p = await profiles.profilesOf('1', ['alice']);
 *   p.get('alice') // [{ dimension: 'tag', key: '#snowboarding', source: 'computed', weight: 2, updatedUs }]
 */
export interface ProfileStore {
  /**
   * Every stored weight of each user (absent users map to nothing). `sources` limits what is
   * returned. Order within a user is unspecified.
   */
  profilesOf(app: string, users: readonly string[], sources?: readonly ProfileSource[]): Promise<Map<string, ProfileWeight[]>>;
}
