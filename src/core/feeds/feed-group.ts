import type { RankingMethod } from '../ranking/compile.js';

/**
 * Feed group settings of one app, as validated by `config/`. Flat groups hold activities;
 * aggregated and notification groups fold them into groups (a later capability).
 */
export type FeedType = 'flat' | 'aggregated' | 'notification';

export interface FeedGroup {
  readonly name: string;
  readonly type: FeedType;
  readonly aggregationFormat?: string;
  /** The aggregation format compiled once at config load (aggregated and notification groups). */
  readonly groupKey?: (input: {
    readonly activity: Readonly<Record<string, unknown>>;
    readonly timeUs: number;
    readonly feedGroup: string;
    readonly feedUserId: string;
  }) => string;
  /** Ranking methods by name, compiled once at config load (§23.4). */
  readonly rankings: ReadonlyMap<string, RankingMethod>;
  /** Maximum entries kept per feed; the oldest are trimmed on insert. */
  readonly maxLength: number;
  /** Aggregated/notification groups: groups kept per feed (least recently updated dropped). */
  readonly maxGroups: number;
  /** Aggregated/notification groups: activities retained per group (`activity_count` counts all). */
  readonly maxGroupActivities: number;
  readonly realtime: boolean;
  /** Whether user tokens may read other users' feeds of this group (§23.3). */
  readonly public: boolean;
  /**
   * Whether user tokens may follow other users' feeds of this group (default: `public`). A follow
   * shows the target's activities in the follower's feeds, so turning this on for a group that is
   * not public lets users see, through their own feeds, what they may not read directly.
   */
  readonly followable: boolean;
}

export interface App {
  readonly appId: string;
  readonly apiKey: string;
  readonly apiSecret: string;
  readonly groups: ReadonlyMap<string, FeedGroup>;
  /** Requests allowed per endpoint per window; absent: no limit (the default). */
  readonly rateLimits?: RateLimits;
}

/**
 * An app's rate limits: per endpoint (`"<METHOD> <route>"` as routes are written below
 * `/api/v1.0/`, e.g. `"GET feed/:slug/:uid/"`), requests per window of `windowSeconds`.
 * Endpoints not listed get `default`, or no limit when it is null.
 */
export interface RateLimits {
  readonly windowSeconds: number;
  readonly default: number | null;
  readonly endpoints: ReadonlyMap<string, number>;
}

export const DEFAULT_MAX_LENGTH = 10_000;
export const DEFAULT_MAX_GROUPS = 1000;
export const DEFAULT_MAX_GROUP_ACTIVITIES = 100;
