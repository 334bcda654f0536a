/**
 * A reader's profile made ready for scoring (personalization.md §3.2): interests for
 * `interest_score`, author affinity (decayed engagement with each author, the top author = 1),
 * explicit preferences and the fatigue they imply. Pure: the caller passes the stored weights and
 * the time.
 */
import type { ContentTag } from '../../ports/content-tag-store.js';
import type { ProfileWeight } from '../../ports/profile-store.js';
import { decayedWeight } from '../signals/decay.js';
import { interestScore, interestScoreIn, interestsOf, preferenceScore, preferencesOf, type Interests, type InterestTable, type Preferences } from '../signals/interest.js';
import type { SignalSettings } from '../signals/settings.js';
import type { PairSignals } from '../model/features.js';

export interface ReaderView {
  readonly interests: Interests;
  readonly affinity: ReadonlyMap<string, number>;
  readonly preferences: Preferences;
}

export function readerView(weights: readonly ProfileWeight[], nowUs: number, s: Pick<SignalSettings, 'interestHalfLifeUs' | 'interestTopN' | 'preferenceHalfLifeUs'>): ReaderView {
  const interests = interestsOf(weights, nowUs, s.interestHalfLifeUs, s.interestTopN);
  const raw = new Map<string, number>();
  let top = 0;
  for (const w of weights) {
    if (w.dimension !== 'author' || w.source !== 'computed') continue;
    const v = decayedWeight(w.weight, w.updatedUs, nowUs, s.interestHalfLifeUs);
    raw.set(w.key, v);
    if (v > top) top = v;
  }
  const affinity = new Map<string, number>();
  for (const [k, v] of raw) affinity.set(k, top > 0 ? Math.max(-1, Math.min(1, v / top)) : v < 0 ? -1 : 0);
  return { interests, affinity, preferences: preferencesOf(weights, nowUs, s.preferenceHalfLifeUs) };
}

/** The item's exposure so far, as the learner's index keeps it. */
export interface ItemExposure {
  readonly engagements: number;
  readonly negatives: number;
  readonly impressions: number;
}
const UNSEEN: ItemExposure = { engagements: 0, negatives: 0, impressions: 0 };

/** The model's pair inputs for one candidate. */
export function pairSignals(r: ReaderView, tags: readonly ContentTag[], author: string, following: boolean, item: ItemExposure = UNSEEN, source?: string): PairSignals {
  return pairSignalsInto({ following, popularity: 0, negatives: 0, impressions: 0, interestScore: 0, authorAffinity: 0, source }, r, tags, author, following, item);
}

/**
 * {@link pairSignals} written into `out` (one object reused over many candidates); returns `out`.
 * A caller scoring many candidates for one reader passes the reader's interests as a table
 * ({@link interestTable}, made once) and each item's tag hashes ({@link tagHashes}) it holds.
 */
export function pairSignalsInto(
  out: MutablePairSignals,
  r: ReaderView,
  tags: readonly ContentTag[],
  author: string,
  following: boolean,
  item: ItemExposure = UNSEEN,
  table?: InterestTable,
  hashes?: Uint32Array,
): MutablePairSignals {
  out.following = following;
  out.popularity = item.engagements;
  out.negatives = item.negatives;
  out.impressions = item.impressions;
  out.interestScore = table !== undefined && hashes !== undefined ? interestScoreIn(table, tags, hashes) : interestScore(r.interests, tags);
  out.authorAffinity = r.affinity.get(author) ?? 0;
  return out;
}

export type MutablePairSignals = { -readonly [K in keyof PairSignals]: PairSignals[K] };

/** `preference_score` of one candidate. */
export function preferenceOf(r: ReaderView, tags: readonly ContentTag[], author: string): number {
  return preferenceScore(r.preferences, tags, author);
}

/** Feedback fatigue with an author: 1 + the (negative) explicit preference, at least 0.2; 1 without any. */
export function fatigueOf(r: ReaderView, author: string): number {
  const p = r.preferences.authors.get(author) ?? 0;
  return p < 0 ? Math.max(0.2, 1 + p) : 1;
}
