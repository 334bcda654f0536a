/**
 * Settings of personalized reads and of the learner (personalization.md §4), validated once at
 * config load (`src/config/personalization-config.ts`). Plain data: the read pipeline, the learner
 * and `explain/` read them.
 */
import { DEFAULT_HEAD, type HeadSettings } from '../model/logistic.js';
import { DEFAULT_OBJECTIVE, type Objective } from '../model/model.js';
import { DEFAULT_GUARDRAILS, type Guardrails } from '../model/rerank.js';

/** Where candidates come from (§6.4 step 1). */
export type SelectorType = 'following' | 'popular' | 'interest' | 'similar' | 'explore';
export const SELECTOR_TYPES: readonly SelectorType[] = ['following', 'popular', 'interest', 'similar', 'explore'];

export interface SelectorSettings {
  readonly type: SelectorType;
  /** Only activities younger than this (seconds). */
  readonly windowS: number;
  /** At most this many candidates from the selector. */
  readonly max: number;
  /** `popular` only: at least this many engagements. */
  readonly minPopularity: number;
}

export interface LearningSettings {
  readonly head: HeadSettings;
  /** How long an impression waits for its engagement or negative feedback (seconds). */
  readonly joinWindowS: number;
  /** Reads use the model once both heads saw this many examples and beat the base rate. */
  readonly minExamples: number;
  /** A snapshot after this many updates, or this many seconds with updates, whichever comes first. */
  readonly snapshotEveryUpdates: number;
  readonly snapshotEveryS: number;
  /** Snapshots kept per app. */
  readonly keepSnapshots: number;
  /** Activities older than this leave the learner's item index (seconds). */
  readonly itemHorizonS: number;
}

export interface PersonalizedSettings {
  /** The per-app switch: off serves the feed group's formula (`version` says `fallback:disabled`). */
  readonly enabled: boolean;
  readonly selectors: readonly SelectorSettings[];
  readonly maxCandidates: number;
  readonly objective: Objective;
  /** The ranking expression over the model's variables (default `value_score`). */
  readonly score: string;
  /**
   * The formula used when the model is missing or unhealthy, or personalization is off: a ranking
   * method of the feed group by name, else this expression.
   */
  readonly fallback: string;
  readonly guardrails: Guardrails;
  /** Candidates seen (impressions) more than this many times by the reader are left out; 0: never. */
  readonly filterSeenAfter: number;
  readonly hideOwnActivities: boolean;
  /** An author whose explicit preference (show less, mute, block) is at or below this is left out. */
  readonly blockBelow: number;
  /** Items with at least this many engage + negative events get a divisiveness (smoothed negative share). */
  readonly minRaters: number;
  /** Pages of a ranked list stay stable this long within one `session` (seconds). */
  readonly sessionTtlS: number;
  readonly learning: LearningSettings;
  /** The feed group whose feeds follow authors (`timeline`), for `is_following` while learning. */
  readonly followingFeed: string;
  /** The feed group of an author's own posts (`user`). */
  readonly authorFeed: string;
}

const H = 3600;

export const DEFAULT_SELECTORS: readonly SelectorSettings[] = [
  { type: 'following', windowS: 48 * H, max: 300, minPopularity: 0 },
  { type: 'popular', windowS: 48 * H, max: 100, minPopularity: 2 },
  { type: 'interest', windowS: 72 * H, max: 100, minPopularity: 0 },
  { type: 'similar', windowS: 72 * H, max: 50, minPopularity: 0 },
  { type: 'explore', windowS: 24 * H, max: 50, minPopularity: 0 },
];

/** The stream_interest formula of the harness, the fallback when a group names none. */
export const STREAM_INTEREST = 'interest_score * max(popularity, 1) * decay_exp(time)';

export const DEFAULT_LEARNING: LearningSettings = {
  head: DEFAULT_HEAD,
  joinWindowS: 1800,
  minExamples: 1000,
  snapshotEveryUpdates: 50_000,
  snapshotEveryS: 60,
  keepSnapshots: 3,
  itemHorizonS: 7 * 24 * H,
};

export const DEFAULT_PERSONALIZED: PersonalizedSettings = {
  enabled: true,
  selectors: DEFAULT_SELECTORS,
  maxCandidates: 500,
  objective: DEFAULT_OBJECTIVE,
  // The harness ranks by value_score alone: recency already enters through the age-bucket features.
  score: 'value_score',
  fallback: STREAM_INTEREST,
  guardrails: DEFAULT_GUARDRAILS,
  filterSeenAfter: 3,
  hideOwnActivities: true,
  blockBelow: -0.95,
  minRaters: 5,
  sessionTtlS: 600,
  learning: DEFAULT_LEARNING,
  followingFeed: 'timeline',
  authorFeed: 'user',
};

/** The `discovery_feed` endpoint: the same model without the follow graph's candidates and floor. */
export function discoverySettings(p: PersonalizedSettings): PersonalizedSettings {
  return {
    ...p,
    selectors: p.selectors.filter((x) => x.type !== 'following'),
    guardrails: { ...p.guardrails, minFollowingShare: 0 },
  };
}
