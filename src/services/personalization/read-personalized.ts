import { parseBody } from '../../core/activities/activity.js';
import { idToSortKey, uuidTimeUs } from '../../core/activities/activity-id.js';
import type { App, FeedGroup } from '../../core/feeds/feed-group.js';
import { compareScored, compileRankingMethod, type RankingMethod } from '../../core/ranking/compile.js';
import { seededRandom, seedOf } from '../../core/ranking/seeded-random.js';
import { encodeFeatures, hashOf, tagHashes, type NamedFeature } from '../../personalization/model/features.js';
import { FeatureVector } from '../../personalization/model/logistic.js';
import { valueScore } from '../../personalization/model/model.js';
import { rerank, type GuardrailEffect, type RankItem } from '../../personalization/model/rerank.js';
import type { Learner } from '../../personalization/serving/learner.js';
import { fatigueOf, pairSignalsInto, preferenceOf, readerView, type MutablePairSignals } from '../../personalization/serving/reader.js';
import type { PersonalizedSettings, SelectorType } from '../../personalization/serving/settings.js';
import { authorKey, interestTable } from '../../personalization/signals/interest.js';
import type { ContentTag } from '../../ports/content-tag-store.js';
import type { Uses } from '../context.js';
import { plainRenderer, type Renderer } from '../enrich.js';
import { withoutFlagged } from '../moderation.js';
import { readTimeline } from '../read-feed.js';
import { rankingNow } from '../read-ranked.js';
import { settingsOf } from '../signals/signal-context.js';
import { PersonalizationRuntime, type ActivityHomes, type ReaderFeed, type ReaderProfile } from './runtime.js';
import type { ProfileWeight } from '../../ports/profile-store.js';
import { changeKey } from '../../ports/change-marks.js';
import { activityBodies } from '../read-parts.js';
import { recordingServices } from '../read-deps.js';
import type { Services } from '../context.js';
import { divisivenessOf, type ItemEntry } from '../../personalization/serving/signal-state.js';
import type { FeedId } from '../../core/feeds/feed-id.js';
import type { TimelineRange } from '../../ports/timeline-store.js';

/** What personalized reads use (candidates from feeds and follows, bodies, reactions, signals). */
export type PersonalizedReadDeps = Uses<
  'activities' | 'follows' | 'reactions' | 'timelines',
  'changeMark' | 'changes' | 'clock' | 'flags' | 'hideFlagged' | 'parts' | 'personalization' | 'readDeps' | 'signalStore' | 'signals'
>;

/** Positions decided item by item by the guardrails (two pages of 25); the rest follow by score. */
const RERANK_DEPTH = 50;

/** What one personalized read asks for. */
export interface PersonalizedQuery {
  readonly user: string;
  readonly group: FeedGroup;
  /** Names the ranked list in the page cache (`personalized_feed`, `discovery_feed`, a method name). */
  readonly endpoint: string;
  readonly settings: PersonalizedSettings;
  readonly limit: number;
  readonly offset: number;
  readonly session?: string;
  readonly refresh: boolean;
  readonly withScoreVars: boolean;
  /** For `explain/`: keep the breakdown of this activity. */
  readonly explain?: string;
}

/** One candidate in a ranked list. */
export interface RankedEntry {
  readonly id: string;
  /** The stored activity; '' until the page that shows it is served (see {@link readPersonalized}). */
  body: string;
  origin: string | null;
  readonly score: number;
  readonly source: SelectorType;
  /** Present for exploration picks: the propensity inputs (the Thompson draw and the pool it won in). */
  readonly explore?: { readonly draw: number; readonly pool: number };
  readonly vars?: Record<string, number>;
}

/** The breakdown of one activity's score (personalization.md §6.4 step 7). */
export interface Explanation {
  readonly activity_id: string;
  readonly candidate: boolean;
  /** Why it was left out, when it was. */
  readonly filtered?: string;
  readonly selector_source?: SelectorType;
  readonly features?: readonly { readonly name: string; readonly value: number; readonly engage: number; readonly negative: number }[];
  readonly heads?: { readonly engage: { readonly logit: number; readonly p: number }; readonly negative: { readonly logit: number; readonly p: number } };
  readonly objective?: Readonly<Record<string, number>>;
  readonly value_score?: number;
  readonly score?: number;
  readonly score_vars?: Record<string, number>;
  readonly guardrails?: readonly GuardrailEffect[];
  /** 0-based position in the ranked list, or null when it is not in it. */
  readonly position: number | null;
}

export interface RankedList {
  readonly version: string;
  /** In ranked order; entries whose activity is gone are taken out when a page finds them. */
  readonly entries: RankedEntries;
  readonly explanation?: Explanation;
}

/**
 * A ranked list's entries as parallel arrays, one slot per entry, in ranked order. The page cache
 * keeps a list for the reader's later pages: a handful of arrays outlive the read rather than an
 * object per candidate (500 objects kept per read would each be copied by the garbage collector
 * before they die). A page's entries are made as objects when it is served ({@link slice}).
 */
export class RankedEntries {
  ids: string[];
  /** The stored activity; '' until the page that shows it is served. */
  bodies: string[];
  origins: (string | null)[];
  scores: number[];
  sources: SelectorType[];
  /** With `withScoreVars`: each entry's formula inputs. */
  vars: (Record<string, number> | undefined)[] | null;
  /** Exploration picks by activity id (few, and none by default). */
  readonly explore = new Map<string, { readonly draw: number; readonly pool: number }>();

  constructor(n: number, withVars: boolean) {
    this.ids = new Array(n);
    this.bodies = new Array(n);
    this.origins = new Array(n);
    this.scores = new Array(n);
    this.sources = new Array(n);
    this.vars = withVars ? new Array(n) : null;
  }

  get length(): number {
    return this.ids.length;
  }

  /** Entries [from, to) as objects; {@link keep} writes back what a page read into them. */
  slice(from: number, to: number): PageEntry[] {
    const out: PageEntry[] = [];
    for (let i = Math.max(0, from); i < Math.min(to, this.ids.length); i++) {
      const id = this.ids[i];
      out.push({ at: i, id, body: this.bodies[i], origin: this.origins[i], score: this.scores[i], source: this.sources[i], explore: this.explore.get(id), vars: this.vars?.[i] });
    }
    return out;
  }

  /** Keeps the bodies and origins read into a page's entries for the list's later pages. */
  keep(page: readonly PageEntry[]): void {
    for (const e of page) {
      this.bodies[e.at] = e.body;
      this.origins[e.at] = e.origin;
    }
  }

  /** Takes out the entries of `gone` activities. */
  remove(gone: ReadonlySet<string>): void {
    const keep: number[] = [];
    for (let i = 0; i < this.ids.length; i++) if (!gone.has(this.ids[i])) keep.push(i);
    const pick = <T>(xs: T[]) => keep.map((i) => xs[i]);
    this.ids = pick(this.ids);
    this.bodies = pick(this.bodies);
    this.origins = pick(this.origins);
    this.scores = pick(this.scores);
    this.sources = pick(this.sources);
    if (this.vars !== null) this.vars = pick(this.vars);
  }
}

/** One entry of a page being served, and its place in the list. */
interface PageEntry extends RankedEntry {
  readonly at: number;
}

/**
 * One candidate of a read, from selection to the ranked list: one object per candidate serves as
 * the guardrails' input too ({@link RankItem}, keyed by its place among the scored candidates), so
 * scoring 500 candidates makes 500 objects, not twice as many. They die with the read: the list
 * kept for later pages is {@link RankedEntries}.
 */
class Candidate implements RankItem {
  key = 0;
  author = '';
  timeUs = 0;
  score = 0;
  following = false;
  ageHours = 0;
  divisiveness = 0;
  fatigue = 1;
  impressions = 0;
  engagements = 0;
  vars: Record<string, number> | undefined = undefined;
  constructor(
    readonly id: string,
    readonly source: SelectorType,
    /** The stored activity; '' until read (only when something needs it, see {@link rankFor}). */
    public body: string,
    public origin: string | null,
    /** What the learner's index knows of it (author, time, tags, exposure). */
    readonly item: ItemEntry | undefined,
  ) {}
}

/** The tags of an activity nobody tagged (one array, so its tag hashes are kept once). */
const NO_TAGS: readonly ContentTag[] = [];

/** Variables a personalized read sets itself: a formula reading only these needs no activity parsed. */
const PROVIDED = new Set(['value_score', 'p_engage', 'p_negative', 'interest_score', 'preference_score', 'author_affinity', 'is_following', 'divisiveness', 'popularity', 'reaction_counts']);

/** Compiled formulas by text (settings are few and fixed at start). */
const compiled = new Map<string, RankingMethod>();
function methodOf(name: string, score: string): RankingMethod {
  let m = compiled.get(score);
  if (m === undefined) {
    m = compileRankingMethod(name, { score });
    compiled.set(score, m);
  }
  return m;
}

/** The formula a fallback ranks by: the group's ranking method of that name, else the expression. */
export function fallbackMethod(group: FeedGroup, settings: PersonalizedSettings): RankingMethod {
  const named = group.rankings.get(settings.fallback);
  if (named !== undefined && named.personalized === undefined) return named;
  return methodOf('fallback', settings.fallback);
}

const scoreJson = (x: number) => (Number.isFinite(x) ? String(x) : 'null');

/**
 * A personalized read (personalization.md §3.1, §6.4): one page of the reader's ranked list,
 * enriched like a feed read. Each result carries `score`, `extra_context` (`selector_source`,
 * `explore`) and with `withScoreVars` the formula's inputs. `version` names the model, or
 * `fallback:<reason>` when the group's formula ranked instead.
 */
export async function readPersonalized(
  s: PersonalizedReadDeps,
  runtime: PersonalizationRuntime,
  app: App,
  q: PersonalizedQuery,
  render: Renderer = plainRenderer,
): Promise<{ results: string[]; version: string }> {
  const pages = runtime.pages;
  const key = `${app.appId}\u0000${q.user}\u0000${q.group.name}\u0000${q.endpoint}\u0000${q.session ?? ''}\u0000${q.withScoreVars ? 1 : 0}`;
  const nowMs = s.clock.now() / 1000;
  let list = q.refresh || (q.offset === 0 && q.session === undefined) ? undefined : pages.get(key, nowMs);
  if (list === undefined) {
    list = await rankFor(s, runtime, app, q);
    pages.set(key, list, nowMs + q.settings.sessionTtlS * 1000);
  }
  const entries = list.entries;
  let page = entries.slice(q.offset, q.offset + q.limit);
  // The page's activities not read yet: one batch read; ones deleted meanwhile leave the list.
  for (let round = 0; round < 3 && page.some((e) => e.body === ''); round++) {
    const lazy = page.filter((e) => e.body === '');
    await loadBodies(s, runtime.homes, app.appId, lazy);
    entries.keep(lazy);
    if (lazy.every((e) => e.body !== '')) break;
    entries.remove(new Set(lazy.filter((e) => e.body === '').map((e) => e.id)));
    page = entries.slice(q.offset, q.offset + q.limit);
  }
  page = page.filter((e) => e.body !== '');
  const texts = await render(page.map((e) => ({ body: e.body, origin: e.origin, id: e.id })));
  const results = page.map((e, i) => {
    const ctx = `{"selector_source":${JSON.stringify(e.source)},"explore":${e.explore !== undefined}${e.explore ? `,"propensity_draw":${e.explore.draw},"propensity_pool":${e.explore.pool}` : ''}}`;
    const extra = `,"score":${scoreJson(e.score)},"extra_context":${ctx}` + (e.vars ? `,"score_vars":${JSON.stringify(e.vars)}` : '');
    return texts[i].slice(0, -1) + extra + '}';
  });
  return { results, version: list.version };
}

/**
 * Computes the reader's ranked list: candidates from the selectors, the hard filters, one batch
 * read per kind of feature, the model's scores (or the fallback formula), the guardrails.
 */
export async function rankFor(s: PersonalizedReadDeps, runtime: PersonalizationRuntime, app: App, q: PersonalizedQuery): Promise<RankedList> {
  const appId = app.appId;
  const p = q.settings;
  const nowUs = s.clock.now();
  const nowS = nowUs / 1e6;
  let reason: string | null = null;
  let learner: Learner | null = null;
  let version = '';
  if (!p.enabled) reason = 'disabled';
  else {
    const m = await runtime.modelOf(appId, s);
    if (m === null) reason = 'no_model';
    else {
      learner = m.learner;
      version = m.version;
      if (!m.learner.model.healthy(p.learning.minExamples)) reason = 'unhealthy';
    }
  }
  const state = p.enabled ? (learner?.state ?? null) : null;

  // 1. Candidates: the reader's feed (newest first, merged as a feed read merges), then the
  // learner's indexes; the first source of an activity wins.
  const candidates: Candidate[] = [];
  const seen = new Set<string>();
  const selectors = p.enabled ? p.selectors : p.selectors.filter((x) => x.type === 'following');
  const following = selectors.find((x) => x.type === 'following');
  const readerFeedId = `${q.group.name}:${q.user}`;
  const [fromFeed, reader] = await Promise.all([
    following ? readerFeed(s, runtime, appId, readerFeedId, following.max, q.group.maxLength) : null,
    state !== null || p.enabled ? readerProfile(s, runtime, appId, q.user) : [],
  ]);
  const view = readerView(reader, nowUs, settingsOf(s, appId));
  for (const sel of selectors) {
    if (candidates.length >= p.maxCandidates) break;
    if (sel.type === 'following') {
      const cutoff = nowUs - sel.windowS * 1e6;
      for (const e of fromFeed?.entries ?? []) {
        if (candidates.length >= p.maxCandidates) break;
        if (seen.has(e.id)) continue;
        const known = state?.items.get(e.id);
        if ((known !== undefined ? known.timeS * 1e6 : (uuidTimeUs(e.id) ?? 0)) < cutoff) continue;
        seen.add(e.id);
        candidates.push(new Candidate(e.id, 'following', '', e.origin, known));
      }
      continue;
    }
    if (state === null) continue;
    const picked =
      sel.type === 'popular'
        ? state.popular(nowS, sel.windowS, sel.max, sel.minPopularity)
        : sel.type === 'interest'
          ? state.byTags(view.interests, nowS, sel.windowS, sel.max)
          : sel.type === 'similar'
            ? state.similar(q.user, nowS, sel.windowS, sel.max)
            : state.explore(nowS, sel.windowS, sel.max);
    for (const x of picked) {
      if (candidates.length >= p.maxCandidates) break;
      if (seen.has(x.id)) continue;
      seen.add(x.id);
      candidates.push(new Candidate(x.id, sel.type, '', null, state.items.get(x.id)));
    }
  }
  // Activities found in the learner's indexes are known to it (author, time, tags): their stored
  // form is read only for the page served, unless the formula reads their fields or flagged
  // content must be recognised now. The others (in the reader's feed, not known to the learner
  // yet) are read in one batch, for their author.
  const scoreMethod = reason === null ? methodOf('personalized', p.score) : fallbackMethod(q.group, p);
  const needsBody = scoreMethod.variables.some((v) => !PROVIDED.has(v) && !v.startsWith('reaction_counts.'));
  const allBodies = needsBody || s.hideFlagged;
  await loadBodies(s, runtime.homes, appId, allBodies ? candidates : candidates.filter((c) => c.item === undefined));
  // A candidate whose body was read and is still empty no longer exists (deleted since the learner
  // saw it); one known to the learner whose body was not read yet is checked with the page.
  let pool = await withoutFlagged(
    s,
    app,
    candidates.filter((c) => c.body !== '' || (c.item !== undefined && !allBodies)),
  );

  // 2. Hard filters: hidden, own, blocked or muted authors, seen too often. Tags, authors and
  // times of activities the learner knows come from its index; the rest from one batch read.
  const ids = pool.map((c) => c.id);
  const unknown = pool.filter((c) => c.item === undefined).map((c) => c.id);
  const [hidden, fetchedTags] = await Promise.all([
    ids.length > 0 ? s.signalStore.hiddenOf(appId, q.user, ids) : new Map(),
    unknown.length > 0 ? s.signalStore.tagsOf(appId, unknown) : new Map<string, ContentTag[]>(),
  ]);
  // The stored activity is parsed only when the formula reads its own fields (or its author is unknown).
  const parsed = new Map<string, Record<string, unknown>>();
  const filteredWhy = new Map<string, string>();
  const blocked = state?.blocked.get(q.user);
  const seenByUser = state !== null && p.filterSeenAfter > 0 ? state.seen.get(q.user) : undefined;
  const kept: Candidate[] = [];
  for (const c of pool) {
    const item = c.item;
    if (item !== undefined && !needsBody) {
      c.author = item.author;
      c.timeUs = item.timeS * 1e6;
    } else {
      const obj = parseBody(c.body);
      parsed.set(c.id, obj);
      c.author = authorKey(obj.actor) ?? '';
      c.timeUs = uuidTimeUs(c.id) ?? 0;
    }
    let why: string | null = null;
    if (hidden.size > 0 && hidden.has(c.id)) why = 'hidden';
    else if (p.hideOwnActivities && c.author === q.user) why = 'own_activity';
    else if (blocked?.has(c.author) || (view.preferences.authors.get(c.author) ?? 0) <= p.blockBelow) why = 'blocked_author';
    else if (seenByUser !== undefined && (seenByUser.get(c.id) ?? 0) > p.filterSeenAfter) why = 'seen';
    if (why !== null) filteredWhy.set(c.id, why);
    else kept.push(c);
  }
  pool = kept;

  // 3. Features: which authors the reader follows (one read, for authors not asked about before),
  // reaction counts when a formula reads them.
  const followSet = await followsAmong(s, appId, p.authorFeed, readerFeedId, pool, fromFeed?.follows);
  const wantsCounts = scoreMethod.variables.some((v) => v === 'popularity' || v === 'reaction_counts' || v.startsWith('reaction_counts.'));
  const counts = wantsCounts && pool.length > 0 ? await s.ports.reactions.reactionCounts(appId, pool.map((c) => c.id), 'activity') : null;

  // 4. Scores.
  const rankingNowS = rankingNow(s.clock);
  const fv = new FeatureVector();
  const userHash = hashOf(q.user);
  let explanation: Omit<Explanation, 'position' | 'guardrails'> | undefined;
  // `rand()` in a formula draws from a source seeded per (session, user, activity), made only
  // when the formula draws.
  let randId = '';
  let draw: (() => number) | null = null;
  const scoreCtx = { nowSeconds: rankingNowS, rand: () => (draw ??= seededRandom(seedOf(`${q.session ?? ''}\u0000${q.user}\u0000${randId}`)))() };
  // The formula's variables: one object reused for every candidate when the formula reads only
  // the variables set here (the default), else each candidate's parsed activity.
  const scratch: Record<string, unknown> = {};
  const sig: MutablePairSignals = { following: false, popularity: 0, negatives: 0, impressions: 0, interestScore: 0, authorAffinity: 0 };
  const facts = { author: '', tags: [] as readonly ContentTag[], timeS: 0 };
  const model = reason === null ? (learner?.model ?? null) : null;
  const heads = { pEngage: 0, pNegative: 0 };
  // The reader's interests as one table for every candidate, each item's tag hashes found once.
  const interests = interestTable(view.interests);
  for (let i = 0; i < pool.length; i++) {
    const c = pool[i];
    const item = c.item;
    let obj = parsed.size > 0 ? parsed.get(c.id) : undefined;
    if (obj === undefined) {
      obj = scratch;
      obj.reaction_counts = undefined;
      obj.popularity = undefined;
    }
    const t = item?.tags ?? fetchedTags.get(c.id) ?? NO_TAGS;
    const popularity = item?.engagements ?? 0;
    const follows = c.source === 'following' || followSet.has(c.author);
    const hashes = tagHashes(t);
    pairSignalsInto(sig, view, t, c.author, follows, item, interests, hashes);
    const c0 = counts?.get(c.id);
    if (c0) {
      let total = 0;
      for (const k in c0) total += c0[k];
      if (obj.reaction_counts === undefined) obj.reaction_counts = c0;
      if (obj.popularity === undefined && total > 0) obj.popularity = total;
    } else if (obj.popularity === undefined && popularity > 0) obj.popularity = popularity;
    // Computed variables replace activity fields of the same names: a post cannot claim its own.
    const divisiveness = divisivenessOf(item, p.minRaters);
    obj.interest_score = sig.interestScore;
    obj.preference_score = preferenceOf(view, t, c.author);
    obj.author_affinity = sig.authorAffinity;
    obj.is_following = follows ? 1 : 0;
    obj.divisiveness = divisiveness;
    let names: NamedFeature[] | undefined;
    if (model !== null) {
      if (q.explain === c.id) names = [];
      facts.author = c.author;
      facts.tags = t;
      facts.timeS = c.timeUs / 1e6;
      encodeFeatures(fv, userHash, q.user, facts, sig, nowS, names, hashes);
      model.scoreInto(fv, heads);
      obj.p_engage = heads.pEngage;
      obj.p_negative = heads.pNegative;
      obj.value_score = valueScore(p.objective, heads);
    }
    const vars: Record<string, number> | undefined = q.withScoreVars || q.explain === c.id ? {} : undefined;
    randId = c.id;
    draw = null;
    const score = scoreMethod.evaluate(obj, scoreCtx, vars);
    if (q.withScoreVars) c.vars = vars;
    c.key = i;
    c.score = score;
    c.following = follows;
    c.ageHours = (nowUs - c.timeUs) / 3.6e9;
    c.divisiveness = divisiveness;
    c.fatigue = fatigueOf(view, c.author);
    c.impressions = item?.impressions ?? 0;
    c.engagements = popularity;
    if (q.explain === c.id) {
      const head = learner?.model.heads;
      explanation = {
        activity_id: c.id,
        candidate: true,
        selector_source: c.source,
        features:
          names !== undefined && head !== undefined
            ? names.map((n) => ({
                name: n.name,
                value: n.value,
                engage: head.engage.weights[n.bucket & head.engage.mask] * n.value,
                negative: head.negative.weights[n.bucket & head.negative.mask] * n.value,
              }))
            : undefined,
        heads:
          head !== undefined && reason === null
            ? { engage: { logit: head.engage.logit(fv), p: obj.p_engage as number }, negative: { logit: head.negative.logit(fv), p: obj.p_negative as number } }
            : undefined,
        objective: reason === null ? { engage: p.objective.engage * (obj.p_engage as number), negative: p.objective.negative * (obj.p_negative as number) } : undefined,
        value_score: reason === null ? (obj.value_score as number) : undefined,
        score,
        score_vars: vars,
      };
    }
  }

  // 5. Order: the guardrails over the model's scores; the formula's order on fallback.
  let order: number[];
  let effects = new Map<number, GuardrailEffect[]>();
  let explore = new Map<number, { draw: number; pool: number }>();
  if (reason === null) {
    const g = { ...p.guardrails, pageSize: Math.max(1, p.guardrails.pageSize) };
    const out = rerank(pool, g, seededRandom(seedOf(`${q.user}\u0000${q.session ?? ''}\u0000${version}`)), RERANK_DEPTH);
    order = out.order;
    effects = out.effects;
    explore = out.explore;
  } else {
    const keyed = pool.map((c, i) => ({ i, score: c.score, id: idToSortKey(c.id).toString('hex') }));
    keyed.sort(compareScored);
    order = keyed.map((k) => k.i);
  }
  const entries = new RankedEntries(order.length, q.withScoreVars);
  for (let k = 0; k < order.length; k++) {
    const c = pool[order[k]];
    entries.ids[k] = c.id;
    entries.bodies[k] = c.body;
    entries.origins[k] = c.origin;
    entries.scores[k] = c.score;
    entries.sources[k] = c.source;
    if (entries.vars !== null) entries.vars[k] = c.vars;
  }
  for (const [i, x] of explore) entries.explore.set(pool[i].id, x);
  let full: Explanation | undefined;
  if (q.explain !== undefined) {
    const position = entries.ids.indexOf(q.explain);
    const idx = pool.findIndex((c) => c.id === q.explain);
    full =
      explanation !== undefined
        ? { ...explanation, guardrails: effects.get(idx) ?? [], position: position >= 0 ? position : null }
        : { activity_id: q.explain, candidate: filteredWhy.has(q.explain), filtered: filteredWhy.get(q.explain), position: null };
  }
  return { version: reason === null ? version : `fallback:${reason}`, entries, explanation: full };
}

/**
 * Which authors of candidates from other selectors than `following` the reader's feed follows
 * (their `authorFeed` feeds): one read for the authors not in `known` (the reader's kept answers,
 * see {@link ReaderFeed}), whose answers are added to it. Candidates of the reader's own feed
 * count as followed whatever their author.
 */
async function followsAmong(
  s: Uses<'follows'>,
  appId: string,
  authorFeed: string,
  readerFeedId: string,
  pool: readonly Candidate[],
  known: Map<string, boolean> = new Map(),
): Promise<Set<string>> {
  const out = new Set<string>();
  const ask = new Set<string>();
  for (const c of pool) {
    if (c.source === 'following' || c.author === '') continue;
    const k = known.get(c.author);
    if (k === undefined) ask.add(c.author);
    else if (k) out.add(c.author);
  }
  if (ask.size === 0) return out;
  const feeds = [...ask].map((a) => `${authorFeed}:${a}`);
  const edges = await s.ports.follows.following(appId, readerFeedId, feeds.length, 0, feeds);
  const followed = new Set(edges.map((e) => e.target.slice(authorFeed.length + 1)));
  for (const a of ask) {
    const f = followed.has(a);
    known.set(a, f);
    if (f) out.add(a);
  }
  return out;
}

/**
 * The reader's feed as candidates come from it (its newest `limit` entries, merged as a feed read
 * merges), kept in the runtime's cache of readers' feeds until a write changes the feed, what it
 * follows or merges, or one of its activities; read afresh over a store without change marks.
 */
async function readerFeed(s: PersonalizedReadDeps, runtime: PersonalizationRuntime, appId: string, fid: string, limit: number, maxLength: number | undefined): Promise<ReaderFeed> {
  const range = { limit, offset: 0, maxLength };
  const cache = runtime.readerFeeds(s);
  if (cache === null) return { entries: await readTimeline(s, appId, fid, range), follows: new Map() };
  const key = `${appId}\u0000${fid}\u0000${limit}\u0000${maxLength ?? ''}`;
  const at = await cache.sync();
  const hit = cache.peek(key) as ReaderFeed | undefined;
  if (hit !== undefined) {
    if (s.readDeps) for (const d of cache.depsOf(key)) s.readDeps.add(d);
    return hit;
  }
  // What the read depends on, as the read cache records it (the feed, the feeds merged into it, the activities).
  const deps = new Set<string>([changeKey.feed(appId, fid)]);
  const read = await readTimeline(recordingServices(s as Services, deps), appId, fid, range);
  if (s.readDeps) for (const d of deps) s.readDeps.add(d);
  const feed: ReaderFeed = { entries: read.map((e) => ({ id: e.id, origin: e.origin })), follows: new Map() };
  await cache.set(key, at, deps, feed);
  return feed;
}

/** The cache space of readers' profiles (see {@link readerProfile}). */
const PROFILES = 'profile';

/**
 * The reader's stored profile weights, kept in the runtime's cache of readers' state until a write
 * changes that reader's profile (its `profile` change key); read afresh over a store without change
 * marks. A read recorded for the read cache depends on the app's signals, as when it reads them.
 */
async function readerProfile(s: PersonalizedReadDeps, runtime: PersonalizationRuntime, appId: string, user: string): Promise<readonly ProfileWeight[]> {
  const cache = runtime.readerFeeds(s);
  if (cache === null) return (await s.signalStore.profilesOf(appId, [user])).get(user) ?? [];
  const key = `${appId}\u0000${user}`;
  const at = await cache.sync();
  const hit = cache.peekIn(PROFILES, key) as ReaderProfile | undefined;
  if (hit !== undefined) {
    s.readDeps?.add(changeKey.signals(appId));
    return hit.weights;
  }
  const weights = (await s.signalStore.profilesOf(appId, [user])).get(user) ?? [];
  await cache.sync();
  cache.putIn(PROFILES, key, at, [changeKey.profile(appId, user)], { weights });
  return weights;
}

/**
 * A flat feed read with `ranking=<method>` where the method is of type `personalized`: the feed's
 * user's ranked list (as `enrich/personalization/feed/` would give it), paged by offset.
 */
export async function readPersonalizedRanking(
  s: PersonalizedReadDeps,
  app: App,
  feed: FeedId,
  group: FeedGroup,
  method: RankingMethod,
  range: TimelineRange,
  opts: { session?: string; refresh: boolean; withScoreVars: boolean },
  render: Renderer,
): Promise<{ results: string[]; version: string; nextOffset: number | null }> {
  const runtime = s.personalization ?? new PersonalizationRuntime(new Map(), null);
  const settings = method.personalized as PersonalizedSettings;
  const limit = range.limit;
  // One more than asked, to know whether a next page exists.
  const page = await readPersonalized(
    s,
    runtime,
    app,
    { user: feed.uid, group, endpoint: method.name, settings, limit: limit + 1, offset: range.offset, session: opts.session || undefined, refresh: opts.refresh, withScoreVars: opts.withScoreVars },
    render,
  );
  const more = page.results.length > limit;
  return { results: page.results.slice(0, limit), version: page.version, nextOffset: more ? range.offset + limit : null };
}

/**
 * Reads the stored form of the entries without one (one batch each way); entries of deleted
 * activities keep ''. Entries of the reader's feed have their origin, and so do activities whose
 * home feed `homes` knows (a home never changes): their bodies come from the parts cache. The
 * others' origin is the activity's home feed, read with it and noted in `homes`.
 */
async function loadBodies(
  s: Uses<'activities', 'parts' | 'readDeps'>,
  homes: ActivityHomes,
  appId: string,
  entries: readonly { readonly id: string; readonly source?: SelectorType; body: string; origin: string | null }[],
): Promise<void> {
  const cached: (typeof entries)[number][] = [];
  const others: (typeof entries)[number][] = [];
  for (const c of entries) {
    if (c.body !== '') continue;
    if (c.source === 'following') cached.push(c);
    else {
      const home = homes.get(appId, c.id);
      if (home === undefined) others.push(c);
      else {
        c.origin = home;
        cached.push(c);
      }
    }
  }
  const [bodies, acts] = await Promise.all([
    cached.length > 0 ? activityBodies(s, appId, cached.map((c) => c.id)) : [],
    others.length > 0 ? s.ports.activities.getActivities(appId, others.map((c) => c.id)) : new Map(),
  ]);
  for (let i = 0; i < cached.length; i++) cached[i].body = bodies[i] ?? '';
  for (const c of others) {
    const a = acts.get(c.id);
    if (a !== undefined) {
      c.body = a.body;
      c.origin = a.home;
      homes.set(appId, c.id, a.home);
    }
  }
}
