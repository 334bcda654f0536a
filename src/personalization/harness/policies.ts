/**
 * Ranking policies the harness compares (personalization.md §11.4). The formula baselines are
 * real ranking methods compiled by Rivulet's ranking compiler and evaluated the way a ranked feed
 * read evaluates them; their `interest_score` comes from user profiles kept with Rivulet's own
 * profile effects (`effectsOf`), lazy decay and `interestsOf` / `interestScore` — the code behind
 * the `interest_score` ranking variable. The oracles sort by the planted truth.
 */
import { compareScored, compileRankingMethod, type RankingMethod } from '../../core/ranking/compile.js';
import { seededRandom } from '../../core/ranking/seeded-random.js';
import type { ProfileChange, ProfileWeight } from '../../ports/profile-store.js';
import { decayedAdd } from '../signals/decay.js';
import { effectsOf } from '../signals/effects.js';
import { eventWeight, ruleOf } from '../signals/importance.js';
import { interestScore, interestsOf } from '../signals/interest.js';
import { DEFAULT_SIGNALS, type SignalSettings } from '../signals/settings.js';
import { plantedEngage, plantedSatisfaction, REACTION_DELAY_S, type TestRequest, type World } from './generator.js';

/** The label the log's engagements and negative feedback are sent with. */
export const ENGAGE_LABEL = 'like';
export const NEGATIVE_LABEL = 'show_less';

/**
 * Users' profiles as a profile store keeps them: one `(weight, updatedUs)` per (dimension, source,
 * key), changed by {@link ProfileChange}s with lazy decay.
 */
export class ProfileBook {
  private readonly byUser = new Map<number, Map<string, ProfileWeight>>();
  private readonly versions = new Map<number, number>();

  /** Changes each time the user's profile changes. */
  version(user: number): number {
    return this.versions.get(user) ?? 0;
  }

  apply(user: number, changes: readonly ProfileChange[]): void {
    if (changes.length > 0) this.versions.set(user, this.version(user) + 1);
    let m = this.byUser.get(user);
    if (m === undefined) this.byUser.set(user, (m = new Map()));
    for (const c of changes) {
      if (c.op !== 'add') continue;
      const k = `${c.dimension}\u0000${c.source}\u0000${c.key}`;
      const cur = m.get(k);
      const next = cur === undefined ? { weight: c.delta, updatedUs: c.atUs } : decayedAdd(cur.weight, cur.updatedUs, c.delta, c.atUs, c.halfLifeUs);
      m.set(k, { dimension: c.dimension, key: c.key, source: c.source, weight: next.weight, updatedUs: next.updatedUs });
    }
  }

  weightsOf(user: number): ProfileWeight[] {
    const m = this.byUser.get(user);
    return m === undefined ? [] : [...m.values()];
  }
}

/** What every policy can see: the log replayed up to the request (never beyond). */
export class SharedState {
  /** Observed engagements per post so far (the `popularity` of Stream's formulas). */
  readonly engagements: Float64Array;
  readonly profiles = new ProfileBook();
  private readonly engageWeight: number;
  private readonly negativeWeight: number;

  constructor(
    readonly world: World,
    readonly settings: SignalSettings = DEFAULT_SIGNALS,
  ) {
    this.engagements = new Float64Array(world.posts.length);
    this.engageWeight = eventWeight(ruleOf(settings, ENGAGE_LABEL), undefined, undefined);
    this.negativeWeight = eventWeight(ruleOf(settings, NEGATIVE_LABEL), undefined, undefined);
  }

  /** Takes log entry `i`'s engagement / negative feedback, as the ingestion path would. */
  observe(i: number): void {
    const { log, posts } = this.world;
    const post = posts[log.post[i]];
    const atUs = (log.time[i] + REACTION_DELAY_S) * 1e6;
    const user = log.user[i];
    const author = `a${post.author}`;
    if (log.engaged[i]) {
      this.engagements[post.index] += 1;
      const rule = ruleOf(this.settings, ENGAGE_LABEL);
      this.profiles.apply(user, effectsOf({ user: String(user), kind: rule.kind, label: ENGAGE_LABEL, weight: this.engageWeight, tags: post.tags, author, atUs }, this.settings));
    }
    if (log.negative[i]) {
      const rule = ruleOf(this.settings, NEGATIVE_LABEL);
      this.profiles.apply(user, effectsOf({ user: String(user), kind: rule.kind, label: NEGATIVE_LABEL, weight: this.negativeWeight, tags: post.tags, author, atUs }, this.settings));
    }
  }
}

/** One test request as a policy sees it. */
export interface RequestView {
  readonly request: TestRequest;
  readonly state: SharedState;
}

export interface Policy {
  readonly name: string;
  /** The request's candidates (post indices), best first. */
  rank(view: RequestView): number[];
  /**
   * Called with each logged session (log entries `from` until `to`, one user, one time) whose
   * outcome is known before the next request, in log order, before the shared state takes the
   * session's engagements: features read as of the impression.
   */
  observe?(from: number, to: number, state: SharedState): void;
}

/** A ranking method over candidates built as activities with `time`, `popularity`, `interest_score`. */
export class FormulaPolicy implements Policy {
  readonly method: RankingMethod;
  constructor(
    readonly name: string,
    config: { score: string; defaults?: Record<string, number> },
  ) {
    this.method = compileRankingMethod(name, config);
  }

  rank({ request, state }: RequestView): number[] {
    const { world } = state;
    const wantInterest = this.method.variables.includes('interest_score');
    const wantPopularity = this.method.variables.includes('popularity');
    const nowUs = request.time * 1e6;
    const interests = wantInterest ? interestsOf(state.profiles.weightsOf(request.user), nowUs, state.settings.interestHalfLifeUs, state.settings.interestTopN) : null;
    const ctx = { nowSeconds: request.time, rand: seededRandom(request.user) };
    const scored = request.candidates.map((i) => {
      const p = world.posts[i];
      const activity: Record<string, unknown> = { id: p.id, actor: `a${p.author}`, time: p.time };
      // As in a ranked read: popularity only once the activity has engagements (else the default).
      if (wantPopularity && state.engagements[i] > 0) activity.popularity = state.engagements[i];
      if (interests !== null) activity.interest_score = interestScore(interests, p.tags);
      return { id: p.id, index: i, score: this.method.evaluate(activity, ctx) };
    });
    scored.sort(compareScored);
    return scored.map((x) => x.index);
  }
}

/** Newest first: `time`. */
export const chronological = (): Policy => new FormulaPolicy('chronological', { score: 'time' });
/** Stream v2's popularity example, linear over the 48 h window. */
export const popularity = (): Policy => new FormulaPolicy('popularity', { score: 'decay_linear(time) * popularity ^ 0.5', defaults: { popularity: 1 } });
/** Stream v3's interest example: what Stream does today. */
export const streamInterest = (): Policy => new FormulaPolicy('stream_interest', { score: 'interest_score * max(popularity, 1) * decay_exp(time)', defaults: { popularity: 1 } });

/** Sorts by a planted quantity (upper bounds; ties newest first). */
class OraclePolicy implements Policy {
  constructor(
    readonly name: string,
    private readonly truth: (w: World, request: TestRequest, post: number) => number,
  ) {}
  rank({ request, state }: RequestView): number[] {
    const w = state.world;
    const scored = request.candidates.map((i) => ({ id: w.posts[i].id, index: i, score: this.truth(w, request, i) }));
    scored.sort(compareScored);
    return scored.map((x) => x.index);
  }
}

export const oracleEngage = (): Policy => new OraclePolicy('oracle_engage', (w, r, i) => plantedEngage(w, w.users[r.user], w.posts[i], r.time));
export const oracleValue = (): Policy => new OraclePolicy('oracle_value', (w, r, i) => plantedSatisfaction(w, w.users[r.user], w.posts[i], r.time));

/** The policies of a harness run: the formula baselines and the oracles. */
export function harnessPolicies(): Policy[] {
  return [chronological(), popularity(), streamInterest(), oracleEngage(), oracleValue()];
}
