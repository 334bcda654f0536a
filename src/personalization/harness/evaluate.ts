/**
 * The evaluation protocol (personalization.md §11.2): the training log is replayed in time order;
 * before each test request every policy has seen exactly the log events that happened before it
 * (prequential), then ranks the request's candidates and is scored against counterfactual labels
 * drawn with common random numbers. Pure: no clock, no randomness beyond the world's seed.
 */
import { generate, plantedSatisfaction, REACTION_DELAY_S, topDecileFollowShare, wouldEngage, type GeneratorConfig, type World } from './generator.js';
import { MetricsAccumulator, type Metrics } from './metrics.js';
import { SharedState, type Policy } from './policies.js';

export interface WorldStats {
  readonly users: number;
  readonly authors: number;
  readonly posts: number;
  readonly impressions: number;
  readonly engagement_rate: number;
  readonly negative_rate: number;
  readonly controversial_post_share: number;
  readonly top_decile_follow_share: number;
  readonly requests: number;
  readonly requests_with_positives: number;
  readonly mean_candidates: number;
  readonly mean_positives: number;
  /** Controversial share of the candidate pools (what a random order would show). */
  readonly candidate_controversy: number;
}

export interface SanityCheck {
  readonly check: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface EvaluationResult {
  readonly generator: 'v1';
  readonly config: GeneratorConfig;
  readonly seed: number;
  readonly world: WorldStats;
  readonly policies: Readonly<Record<string, Metrics>>;
  /** Each policy's metric ÷ the baseline's, for every baseline present. */
  readonly ratios: Readonly<Record<string, Readonly<Record<string, Partial<Record<keyof Metrics, number>>>>>>;
  readonly sanity: readonly SanityCheck[];
  /** Targets T1–T6 of the learned ranker (personalization.md §12), when it ran. */
  readonly targets?: readonly TargetCheck[];
}

export interface TargetCheck {
  readonly target: string;
  readonly met: boolean;
  readonly value: number;
  readonly bound: string;
}

/** Names of the policies ratios are taken against, when present. */
export const BASELINES = ['chronological', 'popularity', 'stream_interest', 'engagement_only', 'oracle_engage', 'oracle_value'];

function round(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(6)) : x;
}

function rounded<T extends object>(m: T): T {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, typeof v === 'number' ? round(v) : v])) as T;
}

/** Runs `policies` on a world (built from config and seed unless given). */
export function evaluate(config: GeneratorConfig, seed: number, policies: readonly Policy[], world: World = generate(config, seed)): EvaluationResult {
  const w = world;
  const state = new SharedState(w);
  const acc = new Map(policies.map((p) => [p.name, new MetricsAccumulator()]));
  const poolItems = new Set<number>();
  const poolAuthors = new Set<number>();
  const { log } = w;
  let next = 0;
  let withPositives = 0;
  let candidatesTotal = 0;
  let positivesTotal = 0;
  let candidateControversy = 0;
  for (const r of w.requests) {
    while (next < log.time.length && log.time[next] + REACTION_DELAY_S <= r.time) {
      // One session at a time: policies learn from its impressions as of the impression time,
      // then the shared state takes its engagements.
      let end = next + 1;
      while (end < log.time.length && log.time[end] === log.time[next] && log.user[end] === log.user[next]) end++;
      for (const p of policies) p.observe?.(next, end, state);
      for (let i = next; i < end; i++) state.observe(i);
      next = end;
    }
    const labels = new Map<number, boolean>();
    let positives = 0;
    let controversial = 0;
    const authors = new Set<number>();
    for (const i of r.candidates) {
      const y = wouldEngage(w, r.user, i, r.day, r.time);
      labels.set(i, y);
      if (y) positives++;
      poolItems.add(i);
      const post = w.posts[i];
      poolAuthors.add(post.author);
      authors.add(post.author);
      if (post.controversial) controversial++;
    }
    if (positives > 0) withPositives++;
    candidatesTotal += r.candidates.length;
    positivesTotal += positives;
    candidateControversy += r.candidates.length === 0 ? 0 : controversial / r.candidates.length;
    const user = w.users[r.user];
    const satCache = new Map<number, number>();
    const outcome = {
      label: (p: number) => labels.get(p) === true,
      positives,
      controversial: (p: number) => w.posts[p].controversial,
      satisfaction: (p: number) => {
        let v = satCache.get(p);
        if (v === undefined) satCache.set(p, (v = plantedSatisfaction(w, user, w.posts[p], r.time)));
        return v;
      },
      author: (p: number) => w.posts[p].author,
      poolAuthors: authors.size,
    };
    for (const p of policies) acc.get(p.name)!.add({ ...outcome, ranked: p.rank({ request: r, state }) });
  }
  const metrics: Record<string, Metrics> = {};
  for (const p of policies) metrics[p.name] = rounded(acc.get(p.name)!.result(poolItems.size, poolAuthors.size));
  let engaged = 0;
  let negative = 0;
  for (let i = 0; i < log.time.length; i++) {
    if (log.engaged[i]) engaged++;
    if (log.negative[i]) negative++;
  }
  const n = Math.max(1, w.requests.length);
  const stats: WorldStats = rounded({
    users: w.users.length,
    authors: w.authors.length,
    posts: w.posts.length,
    impressions: log.time.length,
    engagement_rate: engaged / Math.max(1, log.time.length),
    negative_rate: negative / Math.max(1, log.time.length),
    controversial_post_share: w.posts.filter((p) => p.controversial).length / Math.max(1, w.posts.length),
    top_decile_follow_share: topDecileFollowShare(w),
    requests: w.requests.length,
    requests_with_positives: withPositives,
    mean_candidates: candidatesTotal / n,
    mean_positives: positivesTotal / n,
    candidate_controversy: candidateControversy / n,
  });
  const ratios = ratiosOf(metrics);
  const targets = metrics.learned === undefined ? undefined : targetChecks(seed, metrics, ratios);
  return { generator: 'v1', config, seed, world: stats, policies: metrics, ratios, sanity: sanityChecks(config, stats, metrics), ...(targets ? { targets } : {}) };
}

/**
 * Targets T1–T6 (§12) of the `learned` policy: T1 NDCG@10 ≥ 4.0× chronological on seed 42 (3.5×
 * on other seeds), ≥ 1.15× stream_interest, ≥ 0.75× oracle_engage; T2 recall@25 ≥ 2.5×
 * chronological; T3 controversy@25 ≤ 0.8× chronological and ≤ 0.5× engagement_only; T4
 * satisfaction@25 ≥ engagement_only and ≥ 0.65× oracle_value; T5 mean largest author share@25 ≤
 * 0.20 and no request over 6 of 25 from one author; T6 item coverage ≥ 0.90.
 */
export function targetChecks(seed: number, m: Record<string, Metrics>, ratios: EvaluationResult['ratios']): TargetCheck[] {
  const r = ratios.learned;
  const l = m.learned;
  const out: TargetCheck[] = [];
  const atLeast = (target: string, value: number | undefined, bound: number) => {
    if (value !== undefined) out.push({ target, met: value >= bound, value: round(value), bound: `>= ${bound}` });
  };
  const atMost = (target: string, value: number | undefined, bound: number) => {
    if (value !== undefined) out.push({ target, met: value <= bound, value: round(value), bound: `<= ${bound}` });
  };
  atLeast('T1 NDCG@10 / chronological', r.vs_chronological?.ndcg_at_10, seed === 42 ? 4.0 : 3.5);
  atLeast('T1 NDCG@10 / stream_interest', r.vs_stream_interest?.ndcg_at_10, 1.15);
  atLeast('T1 NDCG@10 / oracle_engage', r.vs_oracle_engage?.ndcg_at_10, 0.75);
  atLeast('T2 recall@25 / chronological', r.vs_chronological?.recall_at_25, 2.5);
  atMost('T3 controversy@25 / chronological', r.vs_chronological?.controversy_at_25, 0.8);
  atMost('T3 controversy@25 / engagement_only', r.vs_engagement_only?.controversy_at_25, 0.5);
  if (m.engagement_only !== undefined) {
    const e = m.engagement_only.satisfaction_at_25;
    out.push({ target: 'T4 satisfaction@25 - engagement_only', met: l.satisfaction_at_25 >= e, value: round(l.satisfaction_at_25 - e), bound: '>= 0' });
  }
  if (m.oracle_value !== undefined) {
    const v = m.oracle_value.satisfaction_at_25;
    out.push({ target: 'T4 satisfaction@25 / oracle_value', met: l.satisfaction_at_25 >= 0.65 * v, value: round(l.satisfaction_at_25 / v), bound: '>= 0.65' });
  }
  atMost('T5 mean largest author share@25', l.author_share_at_25, 0.2);
  atMost('T5 requests with > 6 of 25 from one author', l.requests_over_6_of_25, 0);
  atLeast('T6 item coverage', l.item_coverage, 0.9);
  return out;
}

function ratiosOf(metrics: Record<string, Metrics>): EvaluationResult['ratios'] {
  const out: Record<string, Record<string, Partial<Record<keyof Metrics, number>>>> = {};
  for (const [name, m] of Object.entries(metrics)) {
    const per: Record<string, Partial<Record<keyof Metrics, number>>> = {};
    for (const b of BASELINES) {
      const base = metrics[b];
      if (base === undefined || b === name) continue;
      const r: Partial<Record<keyof Metrics, number>> = {};
      for (const k of ['ndcg_at_10', 'recall_at_25', 'controversy_at_25', 'satisfaction_at_25'] as const) {
        if (base[k] !== 0) r[k] = round(m[k] / base[k]);
      }
      per[`vs_${b}`] = r;
    }
    out[name] = per;
  }
  return out;
}

/**
 * The generator's sanity checks (§11.4): popularity (and engagement-only, when run) expose more
 * controversy than chronological; each oracle beats every policy on its own metric; the top 10%
 * of authors hold ≥ 30% of follows and the log's engagement and negative rates are near the
 * design's (about 11% and 6%) — within the config's bounds, looser for the small smoke world.
 */
export function sanityChecks(config: GeneratorConfig, stats: WorldStats, m: Record<string, Metrics>): SanityCheck[] {
  const out: SanityCheck[] = [];
  const chrono = m.chronological;
  for (const name of ['popularity', 'engagement_only']) {
    if (m[name] === undefined || chrono === undefined) continue;
    out.push({
      check: `${name} exposes more controversy than chronological`,
      ok: m[name].controversy_at_25 > chrono.controversy_at_25,
      detail: `${round(m[name].controversy_at_25)} vs ${round(chrono.controversy_at_25)}`,
    });
  }
  for (const [oracle, metric] of [
    ['oracle_engage', 'ndcg_at_10'],
    ['oracle_value', 'satisfaction_at_25'],
  ] as const) {
    if (m[oracle] === undefined) continue;
    const beaten = Object.entries(m).filter(([name, x]) => !name.startsWith('oracle_') && x[metric] >= m[oracle][metric]);
    out.push({
      check: `${oracle} beats every policy on ${metric}`,
      ok: beaten.length === 0,
      detail: beaten.length === 0 ? `${round(m[oracle][metric])}` : `not beaten by ${beaten.map(([n]) => n).join(', ')}`,
    });
  }
  const b = config.sanity;
  out.push({ check: `top 10% of authors hold >= ${b.minTopDecileFollowShare} of follows`, ok: stats.top_decile_follow_share >= b.minTopDecileFollowShare, detail: `${round(stats.top_decile_follow_share)}` });
  const within = (x: number, [lo, hi]: readonly [number, number]) => x >= lo && x <= hi;
  out.push({ check: `engagement rate of the log in [${b.engagementRate.join(', ')}]`, ok: within(stats.engagement_rate, b.engagementRate), detail: `${round(stats.engagement_rate)}` });
  out.push({ check: `negative rate of the log in [${b.negativeRate.join(', ')}]`, ok: within(stats.negative_rate, b.negativeRate), detail: `${round(stats.negative_rate)}` });
  return out;
}

/** The result as a Markdown table: each metric per policy, with NDCG@10 ratios to the baselines. */
export function markdownOf(r: EvaluationResult): string {
  const names = Object.keys(r.policies);
  const cols: [keyof Metrics, string][] = [
    ['ndcg_at_10', 'NDCG@10'],
    ['recall_at_25', 'recall@25'],
    ['controversy_at_25', 'controversy@25'],
    ['satisfaction_at_25', 'satisfaction@25'],
    ['author_share_at_25', 'author share@25'],
    ['item_coverage', 'item coverage'],
    ['author_coverage', 'author coverage'],
  ];
  const lines: string[] = [];
  lines.push(`### generator v1, config \`${r.config.name}\`, seed ${r.seed}`);
  lines.push('');
  const w = r.world;
  lines.push(
    `${w.users} users, ${w.authors} authors, ${w.posts} posts, ${w.impressions} logged impressions (engagement ${w.engagement_rate}, negative ${w.negative_rate}), ` +
      `${w.requests} test requests (${w.requests_with_positives} with a positive), ${w.mean_candidates} candidates and ${w.mean_positives} positives per request, ` +
      `controversial share of the pools ${w.candidate_controversy}.`,
  );
  lines.push('');
  lines.push(`| policy | ${cols.map((c) => c[1]).join(' | ')} | NDCG ÷ chronological | NDCG ÷ stream_interest |`);
  lines.push(`| --- | ${cols.map(() => '---:').join(' | ')} | ---: | ---: |`);
  for (const n of names) {
    const m = r.policies[n];
    const ratio = (b: string) => (r.ratios[n]?.[`vs_${b}`]?.ndcg_at_10 ?? (n === b ? 1 : NaN)).toFixed(2);
    lines.push(`| ${n} | ${cols.map(([k]) => m[k].toFixed(4)).join(' | ')} | ${ratio('chronological')} | ${ratio('stream_interest')} |`);
  }
  if (r.targets !== undefined) {
    lines.push('');
    lines.push('Targets of `learned`:');
    lines.push('');
    lines.push('| target | value | bound | |');
    lines.push('| --- | ---: | --- | --- |');
    for (const t of r.targets) lines.push(`| ${t.target} | ${t.value} | ${t.bound} | ${t.met ? 'met' : 'MISSED'} |`);
  }
  lines.push('');
  lines.push('Sanity checks:');
  for (const s of r.sanity) lines.push(`- ${s.ok ? 'ok' : 'FAILED'}: ${s.check} (${s.detail})`);
  return lines.join('\n') + '\n';
}
