/**
 * `npm run bench -- personalization-t7`: target T7 alone (personalization.md §8, §12): scoring and
 * re-ranking one request's candidates in memory (features, both heads, value score, guardrails),
 * timed call by call in a process that does nothing else. The learned ranker first learns generator
 * v1's log (config `--config`, default `default`, seed `--seed`, default 42); then every test
 * request is ranked `--rounds` times (default 3) against the final profiles, and each call's time
 * recorded, with the garbage-collection pauses that overlapped slow calls.
 */
import { loadavg } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { CONFIGS, generate, REACTION_DELAY_S } from '../src/personalization/harness/generator.js';
import { DEFAULT_LEARNED, LearnedPolicy } from '../src/personalization/harness/learned.js';
import { SharedState } from '../src/personalization/harness/policies.js';
import { intOption, option } from './harness.js';
import { writeResult } from './report.js';

export async function personalizationT7(): Promise<void> {
  const config = CONFIGS[option('config') ?? 'default'];
  if (config === undefined) throw new Error(`--config must be one of ${Object.keys(CONFIGS).join(', ')}`);
  const seed = intOption('seed', 42);
  const rounds = intOption('rounds', 3);
  const world = generate(config, seed);
  const state = new SharedState(world);
  const policy = new LearnedPolicy('learned', DEFAULT_LEARNED);
  const { log } = world;
  // Learn the log up to the last test request, session by session, as the protocol does.
  const last = world.requests[world.requests.length - 1]?.time ?? Infinity;
  const l0 = performance.now();
  for (let i = 0; i < log.time.length && log.time[i] + REACTION_DELAY_S <= last; ) {
    let end = i + 1;
    while (end < log.time.length && log.time[end] === log.time[i] && log.user[end] === log.user[i]) end++;
    policy.observe(i, end, state);
    for (let k = i; k < end; k++) state.observe(k);
    i = end;
  }
  const learnS = (performance.now() - l0) / 1000;
  // One warm-up round, then the timed ones.
  for (const request of world.requests) policy.rank({ request, state });
  policy.rankMs.length = 0;
  policy.rankAt.length = 0;
  const gcs: { start: number; end: number }[] = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push({ start: e.startTime, end: e.startTime + e.duration });
  });
  obs.observe({ entryTypes: ['gc'] });
  const load0 = loadavg()[0];
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) for (const request of world.requests) policy.rank({ request, state });
  const wallMs = performance.now() - t0;
  await new Promise((res) => setTimeout(res, 50));
  obs.disconnect();
  const ms = policy.rankMs.slice().sort((a, b) => a - b);
  const pct = (q: number) => Number(ms[Math.min(ms.length - 1, Math.floor(q * ms.length))].toFixed(3));
  const slow = policy.rankMs.flatMap((d, i) => (d > 5 ? [{ start: policy.rankAt[i], end: policy.rankAt[i] + d }] : []));
  const inGc = slow.filter((c) => gcs.some((g) => g.start < c.end && g.end > c.start)).length;
  const candidates = world.requests.reduce((n, r) => n + r.candidates.length, 0) / Math.max(1, world.requests.length);
  writeResult('personalization-t7', {
    what: `T7: scoring and re-ranking one request's candidates in memory (features, both heads, value score, guardrails), generator v1 config ${config.name} seed ${seed}, every test request ${rounds} times after learning the log; one process doing nothing else`,
    calls: ms.length,
    mean_candidates: Number(candidates.toFixed(1)),
    p50_ms: pct(0.5),
    p90_ms: pct(0.9),
    p99_ms: pct(0.99),
    max_ms: pct(1),
    mean_ms: Number((wallMs / ms.length).toFixed(3)),
    target: 'p50 <= 2 ms, p99 <= 5 ms',
    calls_over_5_ms: slow.length,
    calls_over_5_ms_in_gc: inGc,
    gc_pauses: gcs.length,
    gc_ms: Number(gcs.reduce((n, g) => n + g.end - g.start, 0).toFixed(1)),
    learn_s: Number(learnS.toFixed(1)),
    load_average: [Number(load0.toFixed(2)), Number(loadavg()[0].toFixed(2))],
  });
}
