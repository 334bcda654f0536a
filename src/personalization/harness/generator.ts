/**
 * Generator v1 of the evaluation harness (personalization.md §11.1): a seeded world with planted
 * ground truth — topics with hashtags and image labels, users with sparse interests and a
 * controversy susceptibility, authors (some of them provocateurs), a heavy-tailed follow graph,
 * posts over 14 days — plus the training log of a pre-ML app's logging policy and the test
 * requests with their candidate sets. Deterministic from one integer seed: one stream for the
 * world, one for the logging policy, one for the test requests, and a hash for the labels.
 */
import type { ContentTag } from '../../ports/content-tag-store.js';
import { hashUniform, Rng, sigmoid } from './random.js';

export interface GeneratorConfig {
  readonly name: string;
  readonly users: number;
  readonly authors: number;
  readonly topics: number;
  readonly days: number;
  /** The last `testDays` days hold the test requests (one per user per day). */
  readonly testDays: number;
  /** Items shown per logged session, and how many of them come from followed authors at most. */
  readonly sessionItems: number;
  readonly sessionFollowed: number;
  /** Candidates per test request. */
  readonly candidates: number;
  /** Median number of authors a user follows (lognormal, p90 ≈ 3.4× the median, at most 130). */
  readonly followMedian: number;
  /** Requests consider posts from this many hours back. */
  readonly windowHours: number;
  /** Share of posts that carry no tag at all (`hard`: 0.3). */
  readonly untaggedShare: number;
  /** Share of a user's taste that is about particular authors rather than topics (`hard`: 0.4). */
  readonly authorTaste: number;
  /** Probability that a logged impression's engagement or negative flag is flipped (`hard`: 0.03). */
  readonly labelNoise: number;
  /** Realism bounds of the sanity checks (a small world concentrates follows and engagement less). */
  readonly sanity: {
    readonly minTopDecileFollowShare: number;
    readonly engagementRate: readonly [number, number];
    readonly negativeRate: readonly [number, number];
  };
}

/** Generator v1 as the design sets it: 1,000 users, 300 authors, 20 topics, 14 days. */
export const DEFAULT_CONFIG: GeneratorConfig = {
  name: 'default',
  users: 1000,
  authors: 300,
  topics: 20,
  days: 14,
  testDays: 3,
  sessionItems: 20,
  sessionFollowed: 12,
  candidates: 500,
  followMedian: 12,
  windowHours: 48,
  untaggedShare: 0,
  authorTaste: 0,
  labelNoise: 0,
  sanity: { minTopDecileFollowShare: 0.3, engagementRate: [0.06, 0.18], negativeRate: [0.03, 0.1] },
};

/** Interest partly author-driven, 30% of posts untagged, label noise. */
export const HARD_CONFIG: GeneratorConfig = { ...DEFAULT_CONFIG, name: 'hard', untaggedShare: 0.3, authorTaste: 0.4, labelNoise: 0.03 };

/** A small world for `npm test`: 200 users, 60 authors, 5 days (2 of them test days). */
export const SMOKE_CONFIG: GeneratorConfig = { ...DEFAULT_CONFIG, name: 'smoke', users: 200, authors: 60, days: 5, testDays: 2, candidates: 300,
  followMedian: 5,
  sanity: { minTopDecileFollowShare: 0.2, engagementRate: [0.04, 0.18], negativeRate: [0.03, 0.1] },
};

/** A tiny world for the HTTP mode's test: 40 users, 15 authors, 3 days (the last one a test day). */
export const TINY_CONFIG: GeneratorConfig = { ...SMOKE_CONFIG, name: 'tiny', users: 40, authors: 15, days: 3, testDays: 1, candidates: 200, followMedian: 4,
  sanity: { minTopDecileFollowShare: 0.15, engagementRate: [0.03, 0.2], negativeRate: [0.02, 0.12] },
};

export const CONFIGS: Readonly<Record<string, GeneratorConfig>> = { default: DEFAULT_CONFIG, hard: HARD_CONFIG, smoke: SMOKE_CONFIG, tiny: TINY_CONFIG };

/** Seconds since the epoch of the world's day 0 (2026-01-05T00:00:00Z). */
export const EPOCH_S = 1_767_571_200;
const DAY_S = 86_400;

export interface User {
  readonly id: string;
  /** Weight per topic, summing to 1, non-zero on 2–4 topics. */
  readonly interest: Float64Array;
  /** Controversy susceptibility s ~ U(0,1)². */
  readonly susceptibility: number;
  readonly sessionsPerDay: number;
  /** Followed author indices, ascending. */
  readonly follows: readonly number[];
  readonly followSet: ReadonlySet<number>;
  /** Author indices this user likes as such (only with `authorTaste` > 0). */
  readonly likedAuthors: ReadonlySet<number>;
}

export interface Author {
  readonly id: string;
  readonly topics: readonly number[];
  readonly postsPerDay: number;
  readonly provocateur: boolean;
  readonly controversyRate: number;
  readonly quality: number;
  readonly fame: number;
}

export interface Post {
  /** Time-first id (`p` + zero-padded seconds + index), so id order is time order. */
  readonly id: string;
  readonly index: number;
  readonly author: number;
  readonly topic: number;
  /** Seconds since the epoch. */
  readonly time: number;
  readonly tags: readonly ContentTag[];
  readonly controversial: boolean;
  readonly quality: number;
}

/**
 * The training log, one entry per impression in time order (parallel arrays): the engagement and
 * the negative feedback it drew, as observed (after label noise). The engagement and negative
 * events happen `REACTION_DELAY_S` after the impression.
 */
export interface ImpressionLog {
  readonly time: number[];
  readonly user: number[];
  readonly post: number[];
  readonly engaged: boolean[];
  readonly negative: boolean[];
}

export const REACTION_DELAY_S = 30;

export interface TestRequest {
  readonly user: number;
  readonly day: number;
  /** Seconds since the epoch. */
  readonly time: number;
  /** Candidate post indices in selector order (followed, popular, random). */
  readonly candidates: readonly number[];
  /** Which selector brought each candidate. */
  readonly sources: readonly ('following' | 'popular' | 'random')[];
}

export interface World {
  readonly config: GeneratorConfig;
  readonly seed: number;
  readonly users: readonly User[];
  readonly authors: readonly Author[];
  readonly posts: readonly Post[];
  /** Post indices of each author, in time order. */
  readonly postsByAuthor: readonly (readonly number[])[];
  readonly log: ImpressionLog;
  readonly requests: readonly TestRequest[];
}

/** Topic t's hashtags and image labels. */
export function topicHashtags(t: number): string[] {
  return ['a', 'b', 'c', 'd', 'e'].map((x) => `#topic${t}${x}`);
}
export function topicImageLabels(t: number): string[] {
  return [`img:topic${t}-photo`, `img:topic${t}-scene`];
}

/** The user's taste for a post: topic interest, mixed with author taste in the `hard` config. */
export function tasteOf(w: Pick<World, 'config'>, u: User, p: Post): number {
  const topical = u.interest[p.topic];
  const h = w.config.authorTaste;
  return h === 0 ? topical : (1 - h) * topical + h * (u.likedAuthors.has(p.author) ? 1 : 0);
}

/** Planted `p_engage` of user u for post p at time `t` (seconds). */
export function plantedEngage(w: Pick<World, 'config'>, u: User, p: Post, t: number): number {
  const ageHours = Math.max(0, (t - p.time) / 3600);
  const c = p.controversial ? 1 : 0;
  const f = u.followSet.has(p.author) ? 1 : 0;
  return sigmoid(-3.6 + 4.0 * tasteOf(w, u, p) + 1.6 * c * (0.3 + u.susceptibility) + 0.9 * f + 0.35 * p.quality - 0.03 * ageHours);
}

/** Planted probability of negative feedback (hide / show less). */
export function plantedNegative(w: Pick<World, 'config'>, u: User, p: Post): number {
  const c = p.controversial ? 1 : 0;
  return sigmoid(-4.5 + 2.2 * c * (1 - u.susceptibility) + 1.5 * (1 - 3 * tasteOf(w, u, p)));
}

/** Planted expected satisfaction (hidden; used by the metrics and the value oracle). */
export function plantedSatisfaction(w: Pick<World, 'config'>, u: User, p: Post, t: number): number {
  const pe = plantedEngage(w, u, p, t);
  const c = p.controversial ? 1 : 0;
  return pe * (0.6 + 0.4 * tasteOf(w, u, p) + 0.2 * p.quality - 1.2 * c * (1 - 0.5 * u.susceptibility)) - 0.5 * plantedNegative(w, u, p);
}

/** The counterfactual label: would user u engage with post p if shown on that test day. */
export function wouldEngage(w: World, user: number, post: number, day: number, t: number): boolean {
  return hashUniform(w.seed, user, post, day) < plantedEngage(w, w.users[user], w.posts[post], t);
}

function makeAuthors(c: GeneratorConfig, rng: Rng): Author[] {
  const sigmaRate = Math.log(3.4 / 0.9) / 1.2816;
  const out: Author[] = [];
  for (let a = 0; a < c.authors; a++) {
    const first = rng.int(0, c.topics - 1);
    const topics = [first];
    if (rng.chance(0.5)) {
      const second = rng.int(0, c.topics - 1);
      if (second !== first) topics.push(second);
    }
    const provocateur = rng.chance(0.2);
    out.push({
      id: `a${a}`,
      topics,
      postsPerDay: Math.min(20, rng.lognormal(0.9, sigmaRate)),
      provocateur,
      controversyRate: provocateur ? rng.uniform(0.35, 0.75) : 0.03,
      quality: 0.5 * rng.normal(),
      fame: rng.lognormal(1, 1.4),
    });
  }
  return out;
}

function makeUsers(c: GeneratorConfig, authors: readonly Author[], rng: Rng): User[] {
  const sigmaDegree = Math.log(41 / 12) / 1.2816;
  const out: User[] = [];
  const weights = new Float64Array(authors.length);
  for (let u = 0; u < c.users; u++) {
    const interest = new Float64Array(c.topics);
    const n = rng.int(2, 4);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const t = rng.int(0, c.topics - 1);
      const x = rng.exponential();
      interest[t] += x;
      sum += x;
    }
    for (let t = 0; t < c.topics; t++) interest[t] /= sum;
    const susceptibility = rng.next() ** 2;
    const sessionsPerDay = rng.chance(0.5) ? 2 : 3;
    for (let a = 0; a < authors.length; a++) {
      let match = 0;
      for (const t of authors[a].topics) match += interest[t];
      weights[a] = authors[a].fame * (0.02 + match);
    }
    const degree = Math.min(130, authors.length - 1, Math.max(1, Math.round(rng.lognormal(c.followMedian, sigmaDegree))));
    const follows = rng.weightedSample(weights, degree).sort((x, y) => x - y);
    const likedAuthors = new Set<number>();
    if (c.authorTaste > 0) {
      // Five authors the user likes as people, drawn like follows (so about half are followed).
      for (const a of rng.weightedSample(weights, 5)) likedAuthors.add(a);
    }
    out.push({ id: `u${u}`, interest, susceptibility, sessionsPerDay, follows, followSet: new Set(follows), likedAuthors });
  }
  return out;
}

function makePosts(c: GeneratorConfig, authors: readonly Author[], rng: Rng): Post[] {
  const drafts: Omit<Post, 'id' | 'index'>[] = [];
  for (let a = 0; a < authors.length; a++) {
    const au = authors[a];
    const n = rng.poisson(au.postsPerDay * c.days);
    for (let i = 0; i < n; i++) {
      const time = EPOCH_S + Math.floor(rng.uniform(0, c.days * DAY_S));
      const topic = au.topics.length === 1 || rng.chance(0.7) ? au.topics[0] : au.topics[1];
      const tags: ContentTag[] = [];
      const untagged = rng.chance(c.untaggedShare);
      const hasImage = rng.chance(0.35);
      if (!untagged) {
        const hashtags = topicHashtags(topic);
        // With an image, a third of the posts carry no hashtag: the label is their only signal.
        const nTags = hasImage && rng.chance(1 / 3) ? 0 : rng.int(1, 2);
        const start = rng.int(0, 4);
        for (let k = 0; k < nTags; k++) tags.push({ tag: hashtags[(start + k) % 5], source: 'hashtag', weight: 1 });
        if (rng.chance(0.2)) {
          const other = rng.int(0, c.topics - 1);
          if (other !== topic) tags.push({ tag: rng.pick(topicHashtags(other)), source: 'hashtag', weight: 1 });
        }
        if (hasImage) tags.push({ tag: rng.pick(topicImageLabels(topic)), source: 'image', weight: 0.8 });
        if (rng.chance(0.3)) {
          const peer = rng.int(0, authors.length - 1);
          if (authors[peer].topics.includes(topic) && peer !== a) tags.push({ tag: `@a${peer}`, source: 'mention', weight: 1 });
        }
      }
      drafts.push({ author: a, topic, time, tags, controversial: rng.chance(au.controversyRate), quality: au.quality + 0.3 * rng.normal() });
    }
  }
  drafts.sort((x, y) => x.time - y.time || x.author - y.author);
  return drafts.map((d, index) => ({ ...d, index, id: `p${String(d.time).padStart(11, '0')}-${String(index).padStart(6, '0')}` }));
}

/** The posts of `[fromS, toS]` as an index range into the time-sorted posts. */
function windowOf(posts: readonly Post[], fromS: number, toS: number): [number, number] {
  let lo = 0;
  let hi = posts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (posts[mid].time < fromS) lo = mid + 1;
    else hi = mid;
  }
  let end = lo;
  let hi2 = posts.length;
  while (end < hi2) {
    const mid = (end + hi2) >> 1;
    if (posts[mid].time <= toS) end = mid + 1;
    else hi2 = mid;
  }
  return [lo, end];
}

/** The last index of a time-sorted post index list whose post time is ≤ `toS`, or −1. */
function lastAtOrBefore(posts: readonly Post[], list: readonly number[], toS: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (posts[list[mid]].time <= toS) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** The followed authors' posts of [fromS, toS], newest first, skipping `seen`; at most `max`. */
function followedNewest(w: Pick<World, 'posts' | 'postsByAuthor'>, u: User, fromS: number, toS: number, max: number, seen?: Uint8Array, seenBase = 0): number[] {
  const found: number[] = [];
  for (const a of u.follows) {
    const list = w.postsByAuthor[a];
    for (let i = lastAtOrBefore(w.posts, list, toS); i >= 0; i--) {
      const p = list[i];
      if (w.posts[p].time < fromS) break;
      if (seen === undefined || seen[seenBase + p] === 0) found.push(p);
    }
  }
  found.sort((x, y) => y - x);
  return found.length > max ? found.slice(0, max) : found;
}

/** Builds the world, runs the logging policy and draws the test requests. */
export function generate(config: GeneratorConfig, seed: number): World {
  const worldRng = new Rng(seed, 'world');
  const authors = makeAuthors(config, worldRng);
  const users = makeUsers(config, authors, worldRng);
  const posts = makePosts(config, authors, worldRng);
  const postsByAuthor: number[][] = authors.map(() => []);
  for (const p of posts) postsByAuthor[p.author].push(p.index);
  const log: ImpressionLog = { time: [], user: [], post: [], engaged: [], negative: [] };
  const base = { config, seed, users, authors, posts, postsByAuthor, log };
  runLoggingPolicy(base, new Rng(seed, 'logging'));
  return { ...base, requests: testRequests(base, new Rng(seed, 'requests')) };
}

/**
 * The logging policy of a pre-ML app: each user has 2–3 sessions a day; a session shows up to 12
 * of the newest unseen posts of followed authors from the window, the rest drawn from recent
 * unseen posts of other authors with probability ∝ 1 + engagements so far. Engagement and
 * negative feedback are drawn from the planted model.
 */
function runLoggingPolicy(w: Omit<World, 'requests'>, rng: Rng): void {
  const c = w.config;
  const sessions: { t: number; u: number }[] = [];
  for (let d = 0; d < c.days; d++) {
    for (let u = 0; u < w.users.length; u++) {
      for (let k = 0; k < w.users[u].sessionsPerDay; k++) sessions.push({ t: EPOCH_S + d * DAY_S + Math.floor(rng.uniform(0, DAY_S)), u });
    }
  }
  sessions.sort((a, b) => a.t - b.t || a.u - b.u);
  const nPosts = w.posts.length;
  // seen[u * nPosts + post] = 1 once shown to u; follows[u * nAuthors + a] = 1 when u follows a.
  const seen = new Uint8Array(w.users.length * nPosts);
  const follows = new Uint8Array(w.users.length * w.authors.length);
  w.users.forEach((u, k) => u.follows.forEach((a) => (follows[k * w.authors.length + a] = 1)));
  const engagements = new Float64Array(w.posts.length);
  const windowS = c.windowHours * 3600;
  const cumulative = new Float64Array(w.posts.length + 1);
  const { log } = w;
  for (const s of sessions) {
    const user = w.users[s.u];
    const seenBase = s.u * nPosts;
    const followBase = s.u * w.authors.length;
    const shown = followedNewest(w, user, s.t - windowS, s.t, c.sessionFollowed, seen, seenBase);
    const [lo, hi] = windowOf(w.posts, s.t - windowS, s.t);
    let total = 0;
    for (let i = lo; i < hi; i++) {
      const ok = follows[followBase + w.posts[i].author] === 0 && seen[seenBase + i] === 0;
      total += ok ? 1 + engagements[i] : 0;
      cumulative[i - lo + 1] = total;
    }
    const picked = new Set(shown);
    const target = shown.length + Math.min(c.sessionItems - shown.length, hi - lo);
    for (let tries = 0; shown.length < target && total > 0 && tries < 20 * c.sessionItems; tries++) {
      const x = rng.next() * total;
      let a = 0;
      let b = hi - lo;
      while (a < b) {
        const mid = (a + b) >> 1;
        if (cumulative[mid + 1] <= x) a = mid + 1;
        else b = mid;
      }
      const i = lo + a;
      if (i < hi && !picked.has(i) && cumulative[a + 1] > cumulative[a]) {
        picked.add(i);
        shown.push(i);
      }
    }
    for (const i of shown) {
      seen[seenBase + i] = 1;
      const p = w.posts[i];
      let engaged = rng.next() < plantedEngage(w, user, p, s.t);
      let negative = rng.next() < plantedNegative(w, user, p);
      if (c.labelNoise > 0) {
        if (rng.chance(c.labelNoise)) engaged = !engaged;
        if (rng.chance(c.labelNoise)) negative = !negative;
      }
      log.time.push(s.t);
      log.user.push(s.u);
      log.post.push(i);
      log.engaged.push(engaged);
      log.negative.push(negative);
      if (engaged) engagements[i] += 1;
    }
  }
}

/**
 * One request per user per test day at a random time; candidates are up to `candidates` posts of
 * the window: the followed authors' newest first (at most 60% of the slots), then the most
 * engaged so far (60% of the remaining slots), then random others.
 */
function testRequests(w: Omit<World, 'requests'>, rng: Rng): TestRequest[] {
  const c = w.config;
  const out: TestRequest[] = [];
  const windowS = c.windowHours * 3600;
  const slots: { user: number; day: number; time: number }[] = [];
  for (let d = c.days - c.testDays; d < c.days; d++) {
    for (let u = 0; u < w.users.length; u++) slots.push({ user: u, day: d, time: EPOCH_S + d * DAY_S + Math.floor(rng.uniform(0, DAY_S)) });
  }
  slots.sort((a, b) => a.time - b.time || a.user - b.user);
  // Engagements so far, per post, advanced along the log as requests go by in time order.
  const engagements = new Float64Array(w.posts.length);
  let next = 0;
  const { log } = w;
  for (const r of slots) {
    while (next < log.time.length && log.time[next] + REACTION_DELAY_S <= r.time) {
      if (log.engaged[next]) engagements[log.post[next]] += 1;
      next++;
    }
    const user = w.users[r.user];
    const followed = followedNewest(w, user, r.time - windowS, r.time, Math.floor(0.6 * c.candidates));
    const chosen = new Set(followed);
    const sources: ('following' | 'popular' | 'random')[] = followed.map(() => 'following');
    const [lo, hi] = windowOf(w.posts, r.time - windowS, r.time);
    const rest: number[] = [];
    for (let i = lo; i < hi; i++) if (!chosen.has(i)) rest.push(i);
    const remaining = c.candidates - followed.length;
    const nPopular = Math.floor(0.6 * remaining);
    const byPopularity = rest.slice().sort((a, b) => engagements[b] - engagements[a] || b - a);
    const popular = byPopularity.slice(0, nPopular);
    for (const i of popular) chosen.add(i);
    const others = rest.filter((i) => !chosen.has(i));
    const random = rng.weightedSample(new Float64Array(others.length).fill(1), remaining - popular.length).map((k) => others[k]);
    out.push({ ...r, candidates: [...followed, ...popular, ...random], sources: [...sources, ...popular.map(() => 'popular' as const), ...random.map(() => 'random' as const)] });
  }
  return out;
}

/** Share of all follows held by the most-followed 10% of authors. */
export function topDecileFollowShare(w: World): number {
  const counts = new Array<number>(w.authors.length).fill(0);
  let total = 0;
  for (const u of w.users) for (const a of u.follows) {
    counts[a]++;
    total++;
  }
  counts.sort((a, b) => b - a);
  const top = counts.slice(0, Math.max(1, Math.round(w.authors.length / 10))).reduce((x, y) => x + y, 0);
  return total === 0 ? 0 : top / total;
}
