/**
 * The personal ranking variables (personalization.md §3.2). Pure functions of a user's profile,
 * an activity's tags and author, and the time.
 *
 * `interest_score` is Stream v3's: the user's interests are the computed ones (from engagement,
 * half-life 30 days, scaled so the strongest is 1) with manual ones (−1..1) in place of computed
 * ones of the same tag; each of the activity's tags that is among the user's top N interests (by
 * weight; negative manual interests always count) adds half that interest's weight; the sum is
 * clamped to [−1, 1]. 0 when nothing matches.
 *
 * `preference_score` is explicit show more / show less: each matching tag adds half its decayed
 * preference (squashed by tanh), the author adds its own, clamped to [−1, 1].
 */
import type { ContentTag } from '../../ports/content-tag-store.js';
import type { ProfileWeight } from '../../ports/profile-store.js';
import { decayedWeight } from './decay.js';
import { hashOf, tagHashes } from '../model/features.js';

/** A user's interests ready for scoring: tag → weight in [−1, 1]. */
export type Interests = ReadonlyMap<string, number>;

/** A user's explicit preferences ready for scoring, each in (−1, 1). */
export interface Preferences {
  readonly tags: ReadonlyMap<string, number>;
  readonly authors: ReadonlyMap<string, number>;
}

export const NO_INTERESTS: Interests = new Map();
export const NO_PREFERENCES: Preferences = { tags: new Map(), authors: new Map() };

function clamp1(x: number): number {
  return x > 1 ? 1 : x < -1 ? -1 : x;
}

/**
 * A user's interests from their stored profile: computed tag weights decayed to `nowUs` and
 * scaled by the strongest (so it is 1; negative ones keep their ratio, floored at −1), then manual
 * weights over them, then the top `topN` by weight plus every negative manual interest.
 *
 * @example interestsOf([{ dimension: 'tag', key: '#ski', source: 'computed', weight: 4, updatedUs: 0 }], 0, 30 * DAY_US, 5)
 *   // Map { '#ski' => 1 }
 */
export function interestsOf(weights: readonly ProfileWeight[], nowUs: number, halfLifeUs: number, topN: number): Interests {
  const computed = new Map<string, number>();
  const manual = new Map<string, number>();
  let strongest = 0;
  for (const w of weights) {
    if (w.dimension !== 'tag') continue;
    if (w.source === 'manual') manual.set(w.key, clamp1(w.weight));
    else if (w.source === 'computed') {
      const v = decayedWeight(w.weight, w.updatedUs, nowUs, halfLifeUs);
      computed.set(w.key, v);
      if (v > strongest) strongest = v;
    }
  }
  const all = new Map<string, number>();
  for (const [k, v] of computed) {
    const scaled = strongest > 0 ? v / strongest : v < 0 ? -1 : 0;
    if (scaled !== 0) all.set(k, clamp1(scaled));
  }
  for (const [k, v] of manual) all.set(k, v);
  const ranked = [...all].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const out = new Map<string, number>(ranked.slice(0, Math.max(0, topN)).filter(([, v]) => v !== 0));
  for (const [k, v] of manual) if (v < 0) out.set(k, v);
  return out;
}

/** A user's explicit preferences from their stored profile, decayed to `nowUs`, squashed by tanh. */
export function preferencesOf(weights: readonly ProfileWeight[], nowUs: number, halfLifeUs: number): Preferences {
  const tags = new Map<string, number>();
  const authors = new Map<string, number>();
  for (const w of weights) {
    if (w.source !== 'preference') continue;
    const v = Math.tanh(decayedWeight(w.weight, w.updatedUs, nowUs, halfLifeUs));
    if (v === 0) continue;
    (w.dimension === 'tag' ? tags : authors).set(w.key, v);
  }
  return { tags, authors };
}

/**
 * Stream v3's `interest_score` of one activity.
 * @example interestScore(new Map([['#ski', 1]]), [{ tag: '#ski', source: 'hashtag', weight: 1 }]) // 0.5
 */
export function interestScore(interests: Interests, tags: readonly ContentTag[] | undefined): number {
  if (tags === undefined || interests.size === 0) return 0;
  return interestScoreIn(interestTable(interests), tags, tagHashes(tags));
}

/**
 * {@link interestScore} from the interests' table ({@link interestTable}) and the tags' hashes
 * ({@link tagHashes}), for a caller that scores many activities for one reader and holds both.
 */
export function interestScoreIn(table: InterestTable, tags: readonly ContentTag[], hashes: Uint32Array): number {
  if (table.keys.length === 0) return 0;
  // A user's top interests are few: each tag's hash is looked up among theirs (the tag itself
  // confirms a match), which is what scoring hundreds of candidates for one reader spends least on.
  let sum = 0;
  for (let k = 0; k < tags.length; k++) {
    const h = hashes[k];
    for (let j = 0; j < table.hashes.length; j++) {
      if (table.hashes[j] === h && table.keys[j] === tags[k].tag) {
        sum += table.weights[j] / 2;
        break;
      }
    }
  }
  return clamp1(sum);
}

export interface InterestTable {
  readonly keys: readonly string[];
  readonly hashes: Uint32Array;
  readonly weights: Float64Array;
}

/** Interests as parallel arrays (tag, its hash, weight), kept per interests map. */
const tables = new WeakMap<Interests, InterestTable>();
export function interestTable(interests: Interests): InterestTable {
  let t = tables.get(interests);
  if (t === undefined) {
    const keys = [...interests.keys()];
    t = { keys, hashes: Uint32Array.from(keys, hashOf), weights: Float64Array.from(interests.values()) };
    tables.set(interests, t);
  }
  return t;
}

/** `preference_score` of one activity: its tags' and its author's explicit preferences. */
export function preferenceScore(prefs: Preferences, tags: readonly ContentTag[] | undefined, author: string | null): number {
  let sum = 0;
  if (tags !== undefined && prefs.tags.size > 0) {
    for (const t of tags) {
      const w = prefs.tags.get(t.tag);
      if (w !== undefined) sum += w / 2;
    }
  }
  if (author !== null) sum += prefs.authors.get(author) ?? 0;
  return clamp1(sum);
}

/** The author key of an activity's actor: `SU:alice` and `alice` are both `alice`. */
export function authorKey(actor: unknown): string | null {
  if (typeof actor !== 'string' || actor === '') return null;
  return actor.startsWith('SU:') ? actor.slice(3) : actor;
}
