/**
 * `node --import tsx bench/personalization-variants.ts --seeds 42,1 [--config default]`: variants
 * of the learned ranker (objective weights, guardrail settings) on generator v1, every variant
 * ranking with the same learned model, beside the baselines; prints each seed's table and the
 * targets T1–T6 each variant meets. For choosing defaults; the harness (`personalization`) is
 * what reports the targets.
 */
import { CONFIGS } from '../src/personalization/harness/generator.js';
import { evaluate } from '../src/personalization/harness/evaluate.js';
import { harnessPolicies, type Policy, type RequestView } from '../src/personalization/harness/policies.js';
import { plantedEngage, plantedSatisfaction, type TestRequest, type World } from '../src/personalization/harness/generator.js';
import { rerank } from '../src/personalization/model/rerank.js';
import { seededRandom } from '../src/core/ranking/seeded-random.js';
import { DEFAULT_LEARNED, LearnedPolicy, learnedPolicies, type LearnedSettings } from '../src/personalization/harness/learned.js';
import { DEFAULT_GUARDRAILS } from '../src/personalization/model/rerank.js';

/**
 * An oracle re-ranked under the default guardrails (author cap and decay, floors): the best a
 * ranker can do while it keeps to them, where T5's author share bound binds (the `hard` world's
 * readers like particular authors, and the plain oracles put a third of a page on one).
 */
class CappedOracle implements Policy {
  constructor(
    readonly name: string,
    private readonly truth: (w: World, r: TestRequest, post: number) => number,
  ) {}
  rank({ request, state }: RequestView): number[] {
    const w = state.world;
    const items = request.candidates.map((post, key) => ({
      key,
      author: `a${w.posts[post].author}`,
      score: this.truth(w, request, post),
      following: w.users[request.user].followSet.has(w.posts[post].author),
      ageHours: (request.time - w.posts[post].time) / 3600,
      divisiveness: 0,
      fatigue: 1,
      impressions: 0,
      engagements: 0,
    }));
    return rerank(items, DEFAULT_GUARDRAILS, seededRandom(request.user), 25).order.map((k) => request.candidates[k]);
  }
}
const cappedOracles = (): Policy[] => [
  new CappedOracle('oracle_engage_capped', (w, r, i) => plantedEngage(w, w.users[r.user], w.posts[i], r.time)),
  new CappedOracle('oracle_value_capped', (w, r, i) => plantedSatisfaction(w, w.users[r.user], w.posts[i], r.time)),
];
import { option } from './harness.js';

const G = DEFAULT_GUARDRAILS;
/** Name → settings over the defaults. */
const VARIANTS: Record<string, Partial<LearnedSettings>> = {
  neg2: { objective: { engage: 1, negative: -2 } },
  neg3: { objective: { engage: 1, negative: -3 } },
  neg4: { objective: { engage: 1, negative: -4 } },
  neg8: { objective: { engage: 1, negative: -8 } },
  neg10: { objective: { engage: 1, negative: -10 } },
  cap5: { guardrails: { ...G, authorCap: 5 } },
  decay09: { guardrails: { ...G, authorDecay: 0.9 } },
  cap5_decay09: { guardrails: { ...G, authorCap: 5, authorDecay: 0.9 } },
  nofloors: { guardrails: { ...G, minFollowingShare: 0, minFresh: { count: 0, ageHours: 0 } } },
  follow03: { guardrails: { ...G, minFollowingShare: 0.3 } },
  div05: { guardrails: { ...G, divisiveThreshold: 0.5, divisivePenalty: 0.5 } },
  div03: { guardrails: { ...G, divisiveThreshold: 0.3, divisivePenalty: 0.5 } },
};

async function main(): Promise<void> {
  const config = CONFIGS[option('config') ?? 'default'];
  const seeds = (option('seeds') ?? '42').split(',').map(Number);
  const only = option('variants')?.split(',');
  for (const seed of seeds) {
    const learned = learnedPolicies();
    const base = learned[0];
    const variants = Object.entries(VARIANTS)
      .filter(([name]) => only === undefined || only.includes(name))
      .map(([name, v]) => new LearnedPolicy(name, { ...DEFAULT_LEARNED, ...v }, base));
    const t0 = performance.now();
    const r = evaluate(config, seed, [...harnessPolicies(), ...learned.slice(0, 2), ...variants, ...(only === undefined || only.includes('capped') ? cappedOracles() : [])]);
    const chrono = r.policies.chronological;
    const eng = r.policies.engagement_only;
    const oracleV = r.policies.oracle_value;
    const si = r.policies.stream_interest;
    const oe = r.policies.oracle_engage;
    console.log(`\nseed ${seed} (${((performance.now() - t0) / 1000).toFixed(0)} s); T4 bound ${(0.65 * oracleV.satisfaction_at_25).toFixed(4)}, T3 bound ${(0.8 * chrono.controversy_at_25).toFixed(4)}`);
    console.log('policy'.padEnd(16), 'ndcg10  recall  contr   satisf  ashare  cover   T1c   T1s   T1o   T4o    missed');
    for (const [name, m] of Object.entries(r.policies)) {
      const missed: string[] = [];
      const f = chrono.ndcg_at_10 > 0 ? m.ndcg_at_10 / chrono.ndcg_at_10 : 0;
      if (f < (seed === 42 ? 4 : 3.5)) missed.push('T1c');
      if (m.ndcg_at_10 < 1.15 * si.ndcg_at_10) missed.push('T1s');
      if (m.ndcg_at_10 < 0.75 * oe.ndcg_at_10) missed.push('T1o');
      if (m.recall_at_25 < 2.5 * chrono.recall_at_25) missed.push('T2');
      if (m.controversy_at_25 > 0.8 * chrono.controversy_at_25 || m.controversy_at_25 > 0.5 * eng.controversy_at_25) missed.push('T3');
      if (m.satisfaction_at_25 < eng.satisfaction_at_25 || m.satisfaction_at_25 < 0.65 * oracleV.satisfaction_at_25) missed.push('T4');
      if (m.author_share_at_25 > 0.2) missed.push('T5');
      if (m.item_coverage < 0.9) missed.push('T6');
      const x = (v: number) => v.toFixed(4).padStart(7);
      console.log(
        name.padEnd(16),
        [m.ndcg_at_10, m.recall_at_25, m.controversy_at_25, m.satisfaction_at_25, m.author_share_at_25, m.item_coverage].map(x).join(' '),
        [f, m.ndcg_at_10 / si.ndcg_at_10, m.ndcg_at_10 / oe.ndcg_at_10, m.satisfaction_at_25 / oracleV.satisfaction_at_25].map((v) => v.toFixed(3).padStart(5)).join(' '),
        missed.join(','),
      );
    }
  }
}

await main();
