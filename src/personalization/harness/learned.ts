/**
 * The learned ranker in the harness: the personalization model (hashed logistic heads) learns
 * online from the replayed log — each impression's features as of the impression, before its
 * session's engagements reach the profile — and ranks test requests by its value score, then the
 * guardrails. `engagement_only` is the same model ranked by `p_engage` alone, without guardrails.
 */
import { interestScore, interestsOf, preferencesOf, type Interests } from '../signals/interest.js';
import { encodeFeatures, hashOf, type ItemFacts, type PairSignals } from '../model/features.js';
import { DEFAULT_HEAD, FeatureVector, type HeadSettings } from '../model/logistic.js';
import { DEFAULT_OBJECTIVE, ENGAGEMENT_ONLY, PersonalizationModel, valueScore, type Objective } from '../model/model.js';
import { ALL_GUARDRAILS, DEFAULT_GUARDRAILS, NO_GUARDRAILS, rerank, type Guardrails, type RankItem } from '../model/rerank.js';
import { seededRandom } from '../../core/ranking/seeded-random.js';
import { decayedWeight } from '../signals/decay.js';
import type { Post, World } from './generator.js';
import type { Policy, RequestView, SharedState } from './policies.js';

export interface LearnedSettings {
  readonly objective: Objective;
  readonly guardrails: Guardrails;
  /** Multiply the value score by 0.5^(age / half-life) (`value_score * decay_exp(time)` with that scale); null: no decay. */
  readonly decayHalfLifeHours: number | null;
  readonly head: HeadSettings;
  /** Items with at least this many engagement + negative events get a divisiveness (smoothed negative share). */
  readonly minRaters: number;
}

export const DEFAULT_LEARNED: LearnedSettings = { objective: DEFAULT_OBJECTIVE, guardrails: DEFAULT_GUARDRAILS, decayHalfLifeHours: null, head: DEFAULT_HEAD, minRaters: 5 };

interface Reader {
  version: number;
  hash: number;
  interests: Interests;
  affinity: Map<string, number>;
  fatigue: Map<string, number>;
}

/** Per-user reading state derived from the profile (scaled interests and affinities do not change with time between updates). */
class Readers {
  private readonly cache = new Map<number, Reader>();
  constructor(private readonly state: SharedState) {}
  of(user: number, nowUs: number): Reader {
    const version = this.state.profiles.version(user);
    const hit = this.cache.get(user);
    if (hit !== undefined && hit.version === version) return hit;
    const weights = this.state.profiles.weightsOf(user);
    const s = this.state.settings;
    const interests = interestsOf(weights, nowUs, s.interestHalfLifeUs, s.interestTopN);
    const affinity = new Map<string, number>();
    let top = 0;
    for (const w of weights) {
      if (w.dimension !== 'author' || w.source !== 'computed') continue;
      const v = decayedWeight(w.weight, w.updatedUs, nowUs, s.interestHalfLifeUs);
      affinity.set(w.key, v);
      if (v > top) top = v;
    }
    for (const [k, v] of affinity) affinity.set(k, top > 0 ? Math.max(-1, Math.min(1, v / top)) : v < 0 ? -1 : 0);
    // Fatigue: explicit show less on an author keeps tanh-squashed negative preference; the score keeps 1 + that, at least 0.2.
    const fatigue = new Map<string, number>();
    for (const [author, pref] of preferencesOf(weights, nowUs, s.preferenceHalfLifeUs).authors) if (pref < 0) fatigue.set(author, Math.max(0.2, 1 + pref));
    const r = { version, hash: hashOf(`u${user}`), interests, affinity, fatigue };
    this.cache.set(user, r);
    return r;
  }
}

function factsOf(p: Post): ItemFacts {
  return { author: `a${p.author}`, tags: p.tags, timeS: p.time };
}

export class LearnedPolicy implements Policy {
  readonly model: PersonalizationModel;
  private readonly fv = new FeatureVector();
  private readonly sig: { -readonly [K in keyof PairSignals]: PairSignals[K] } = { following: false, popularity: 0, interestScore: 0, authorAffinity: 0, negatives: 0, impressions: 0 };
  private readonly heads = { pEngage: 0, pNegative: 0 };
  private readers: Readers | null = null;
  private impressions: Float64Array | null = null;
  private negatives: Float64Array | null = null;
  private facts: ItemFacts[] | null = null;
  /** Milliseconds each `rank` call took (scoring and re-ranking the candidates in memory). */
  readonly rankMs: number[] = [];
  /** When each `rank` call began (`performance.now()`), beside {@link rankMs}. */
  readonly rankAt: number[] = [];

  constructor(
    readonly name: string,
    readonly settings: LearnedSettings,
    /** Shares the model of another learned policy instead of training its own. */
    private readonly shared?: LearnedPolicy,
  ) {
    this.model = shared?.model ?? new PersonalizationModel(settings.head);
  }

  private init(state: SharedState): void {
    if (this.readers !== null) return;
    this.readers = new Readers(state);
    this.impressions = new Float64Array(state.world.posts.length);
    this.negatives = new Float64Array(state.world.posts.length);
    this.facts = state.world.posts.map(factsOf);
  }

  /** The pair's signals, written into one object reused for every pair. */
  private signals(w: World, state: SharedState, reader: Reader, user: number, post: number): PairSignals {
    const p = w.posts[post];
    const out = this.sig;
    out.following = w.users[user].followSet.has(p.author);
    out.popularity = state.engagements[post];
    out.interestScore = interestScore(reader.interests, p.tags);
    out.authorAffinity = reader.affinity.get(this.facts![post].author) ?? 0;
    out.negatives = (this.shared ?? this).negatives![post];
    out.impressions = (this.shared ?? this).impressions![post];
    return out;
  }

  observe(from: number, to: number, state: SharedState): void {
    this.init(state);
    if (this.shared !== undefined) return;
    const w = state.world;
    const { log } = w;
    const user = log.user[from];
    const nowS = log.time[from];
    const reader = this.readers!.of(user, nowS * 1e6);
    const userId = `u${user}`;
    for (let i = from; i < to; i++) {
      const post = log.post[i];
      encodeFeatures(this.fv, reader.hash, userId, this.facts![post], this.signals(w, state, reader, user, post), nowS);
      this.model.learn(this.fv, log.engaged[i], log.negative[i]);
    }
    for (let i = from; i < to; i++) {
      this.impressions![log.post[i]]++;
      if (log.negative[i]) this.negatives![log.post[i]]++;
    }
  }

  rank({ request, state }: RequestView): number[] {
    this.init(state);
    const t0 = performance.now();
    const w = state.world;
    const s = this.settings;
    const reader = this.readers!.of(request.user, request.time * 1e6);
    const items: RankItem[] = [];
    const source = this.shared ?? this;
    const userId = `u${request.user}`;
    const heads = this.heads;
    for (let k = 0; k < request.candidates.length; k++) {
      const post = request.candidates[k];
      const p = w.posts[post];
      const sig = this.signals(w, state, reader, request.user, post);
      encodeFeatures(this.fv, reader.hash, userId, this.facts![post], sig, request.time);
      this.model.scoreInto(this.fv, heads);
      const ageHours = (request.time - p.time) / 3600;
      let score = valueScore(s.objective, heads);
      if (s.decayHalfLifeHours !== null) score *= Math.pow(0.5, ageHours / s.decayHalfLifeHours);
      const eng = state.engagements[post];
      const neg = source.negatives![post];
      const raters = eng + neg;
      items.push({
        key: k,
        author: this.facts![post].author,
        score,
        following: sig.following,
        ageHours,
        divisiveness: raters >= s.minRaters ? neg / (raters + 2) : 0,
        fatigue: reader.fatigue.get(this.facts![post].author) ?? 1,
        impressions: source.impressions![post],
        engagements: eng,
      });
    }
    const out = rerank(items, s.guardrails, seededRandom(request.user * 31 + request.day), 25);
    const ranked = out.order.map((k) => request.candidates[k]);
    this.rankAt.push(t0);
    this.rankMs.push(performance.now() - t0);
    return ranked;
  }
}

/** The learned ranker with the default objective and guardrails, and engagement-only on the same model. */
export function learnedPolicies(settings: LearnedSettings = DEFAULT_LEARNED): LearnedPolicy[] {
  const learned = new LearnedPolicy('learned', settings);
  const engagementOnly = new LearnedPolicy('engagement_only', { ...settings, objective: ENGAGEMENT_ONLY, guardrails: NO_GUARDRAILS }, learned);
  // Every guardrail of the design on (fatigue, divisiveness guard, exploration): what they cost and buy.
  const allGuardrails = new LearnedPolicy('learned_all_guardrails', { ...settings, guardrails: ALL_GUARDRAILS }, learned);
  return [learned, engagementOnly, allGuardrails];
}
