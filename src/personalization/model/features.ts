/**
 * Feature set v1 of the personalization model (personalization.md §6.1), hashed into a head's
 * buckets: bias; the activity's tags (hashtags, image labels, mentions, keywords) and its author;
 * user×tag and user×author crosses; follows-author; selector source; age bucket (log2 hours);
 * popularity bucket (log2 engagements); the activity's negative-rate bucket (hides and show-less
 * per impression so far, smoothed); interest-score bucket and its cross with popularity; context features from analytics (`location`, `group:value`); and the dense inputs
 * `interest_score` and `author_affinity`. Features are computed as of one moment — the impression
 * for learning, the request for scoring — from inputs the caller reads as of then.
 */
import type { ContentTag } from '../../ports/content-tag-store.js';
import { FeatureVector } from './logistic.js';

/** The facts of one activity that features read. */
export interface ItemFacts {
  readonly author: string;
  readonly tags: readonly ContentTag[];
  /** Activity time, seconds since the epoch. */
  readonly timeS: number;
}

/** What the reader's state and the item's stats say about one (user, item) pair at one moment. */
export interface PairSignals {
  readonly following: boolean;
  /** Engagements with the item so far. */
  readonly popularity: number;
  /** Stream v3's `interest_score` of the item for the user, [−1, 1]. */
  readonly interestScore: number;
  /** Decayed user→author engagement, the user's top author = 1; [−1, 1]. */
  readonly authorAffinity: number;
  /** The item's negative feedback and impressions so far (its negative rate's bucket is a feature). */
  readonly negatives?: number;
  readonly impressions?: number;
  /** Which candidate selector brought the item (`following`, `popular`, `interest`, …). */
  readonly source?: string;
  /** Context features (`loc:profile_page`, `group:value`). */
  readonly context?: readonly string[];
}

/** FNV-1a of a string. */
function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Combines two 32-bit values into one (murmur3's mixing), as a signed 32-bit integer: the bits a
 * bucket index is taken from, in a form that is a small integer to V8 (an unsigned result above
 * 2^31 would be a heap-allocated number, several per scored candidate).
 */
export function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0xcc9e2d51);
  h = (h << 15) | (h >>> 17);
  h = Math.imul(h, 0x1b873593) ^ b;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

// Namespaces keep equal values of different kinds in different buckets.
const NS = {
  bias: fnv('bias'),
  tag: fnv('tag'),
  userTag: fnv('user×tag'),
  author: fnv('author'),
  userAuthor: fnv('user×author'),
  follows: fnv('follows'),
  age: fnv('age'),
  pop: fnv('popularity'),
  interest: fnv('interest'),
  interestPop: fnv('interest×popularity'),
  followsAge: fnv('follows×age'),
  negRate: fnv('negative_rate'),
  untagged: fnv('untagged'),
  source: fnv('source'),
  context: fnv('context'),
  denseInterest: fnv('dense:interest_score'),
  denseAffinity: fnv('dense:author_affinity'),
} as const;

/** The names of the dense inputs, for explanations. */
export const DENSE_FEATURES = ['interest_score', 'author_affinity'] as const;

/** String hashes, memoised (tags, authors and users repeat); cleared when it grows large. */
const cache = new Map<string, number>();
export function hashOf(s: string): number {
  let h = cache.get(s);
  if (h === undefined) {
    if (cache.size > 200_000) cache.clear();
    h = fnv(s);
    cache.set(s, h);
  }
  return h;
}

/**
 * The hashes of a tag list's tags, in order, kept per list object (an item's tags are one array
 * for as long as they do not change), so scoring many candidates hashes each item's tags once.
 */
const tagHashCache = new WeakMap<readonly ContentTag[], Uint32Array>();
export function tagHashes(tags: readonly ContentTag[]): Uint32Array {
  let h = tagHashCache.get(tags);
  if (h === undefined) {
    h = new Uint32Array(tags.length);
    for (let k = 0; k < tags.length; k++) h[k] = hashOf(tags[k].tag);
    tagHashCache.set(tags, h);
  }
  return h;
}

export function ageBucket(ageHours: number): number {
  return Math.floor(Math.log2(1 + Math.max(0, ageHours)));
}
export function popularityBucket(popularity: number): number {
  return Math.floor(Math.log2(1 + Math.max(0, popularity)));
}
/** The item's negative rate so far, smoothed towards 5% over its first 20 impressions, in steps of 2.5% (0..8). */
export function negativeRateBucket(negatives: number, impressions: number): number {
  const rate = (negatives + 1) / (impressions + 20);
  return Math.min(8, Math.floor(rate * 40));
}
export function interestBucket(interest: number): number {
  return Math.round(Math.max(-1, Math.min(1, interest)) * 10);
}

/** A named feature, for explanations: its kind, its value and the bucket it hashes to. */
export interface NamedFeature {
  readonly name: string;
  readonly bucket: number;
  readonly value: number;
}

/**
 * Writes the features of (user, item) at `nowS` into `out` (cleared first). With `names`, also
 * lists each feature's readable name (slower; for `explain/`). `hashes`: the item's tag hashes
 * ({@link tagHashes}) when the caller holds them.
 */
export function encodeFeatures(out: FeatureVector, userHash: number, user: string, item: ItemFacts, s: PairSignals, nowS: number, names?: NamedFeature[], hashes?: Uint32Array): void {
  out.clear();
  // Names are built only for explanations (`names` given); scoring pushes buckets alone.
  const named = names !== undefined;
  out.push(NS.bias, 1);
  if (named) names.push({ name: 'bias', bucket: NS.bias, value: 1 });
  if (item.tags.length === 0) {
    out.push(NS.untagged, 1);
    if (named) names.push({ name: 'untagged', bucket: NS.untagged, value: 1 });
  }
  const tags = item.tags;
  const ths = hashes ?? tagHashes(tags);
  const userTag = tags.length > 0 ? mix(NS.userTag, userHash) : 0;
  for (let k = 0; k < tags.length; k++) {
    const t = tags[k];
    const th = ths[k];
    out.push(mix(NS.tag, th), t.weight);
    out.push(mix(userTag, th), t.weight);
    if (named) {
      names.push({ name: `tag:${t.tag}`, bucket: out.idx[out.n - 2] >>> 0, value: t.weight });
      names.push({ name: `user×tag:${user}|${t.tag}`, bucket: out.idx[out.n - 1] >>> 0, value: t.weight });
    }
  }
  const ah = hashOf(item.author);
  const f = s.following ? 1 : 0;
  const age = ageBucket((nowS - item.timeS) / 3600);
  const pop = popularityBucket(s.popularity);
  const ib = interestBucket(s.interestScore);
  out.push(mix(NS.author, ah), 1);
  out.push(mix(mix(NS.userAuthor, userHash), ah), 1);
  out.push(mix(NS.follows, f), 1);
  out.push(mix(NS.age, age), 1);
  out.push(mix(mix(NS.followsAge, f), age), 1);
  out.push(mix(NS.pop, pop), 1);
  out.push(mix(NS.interest, ib + 16), 1);
  out.push(mix(mix(NS.interestPop, ib + 16), pop), 1);
  if (named) {
    const labels = [
      `author:${item.author}`,
      `user×author:${user}|${item.author}`,
      `follows:${f}`,
      `age_bucket:${age}`,
      `follows×age:${f}|${age}`,
      `popularity_bucket:${pop}`,
      `interest_bucket:${ib}`,
      `interest×popularity:${ib}|${pop}`,
    ];
    for (let k = 0; k < labels.length; k++) names.push({ name: labels[k], bucket: out.idx[out.n - labels.length + k] >>> 0, value: 1 });
  }
  if (s.negatives !== undefined && s.impressions !== undefined) {
    const nb = negativeRateBucket(s.negatives, s.impressions);
    out.push(mix(NS.negRate, nb), 1);
    if (named) names.push({ name: `negative_rate_bucket:${nb}`, bucket: out.idx[out.n - 1] >>> 0, value: 1 });
  }
  if (s.source !== undefined) {
    out.push(mix(NS.source, hashOf(s.source)), 1);
    if (named) names.push({ name: `source:${s.source}`, bucket: out.idx[out.n - 1] >>> 0, value: 1 });
  }
  if (s.context !== undefined) {
    for (const c of s.context) {
      out.push(mix(NS.context, hashOf(c)), 1);
      if (named) names.push({ name: `context:${c}`, bucket: out.idx[out.n - 1] >>> 0, value: 1 });
    }
  }
  if (s.interestScore !== 0) {
    out.push(NS.denseInterest, s.interestScore);
    if (named) names.push({ name: 'interest_score', bucket: NS.denseInterest, value: s.interestScore });
  }
  if (s.authorAffinity !== 0) {
    out.push(NS.denseAffinity, s.authorAffinity);
    if (named) names.push({ name: 'author_affinity', bucket: NS.denseAffinity, value: s.authorAffinity });
  }
}
