/**
 * `npm run bench -- personalization` (or `npm run bench:personalization`): the offline evaluation
 * harness of personalization (personalization.md §8, §11). For each seed it builds generator v1's
 * world, replays its log and ranks every test request with each policy, and writes
 * `bench/results/personalization-<config>-seed<N>.json` (metrics only, no timings: the same seed
 * gives the same bytes) and one Markdown file per config, `personalization-<config>.md`, with
 * every seed's table, sanity checks and wall time.
 *
 * Options: --config default|hard|smoke|tiny (default `default`), --seeds 42,1,2,7 (the default).
 * Exits non-zero when a sanity check fails.
 *
 * `--http`: the same protocol against a live server over HTTP (bench/personalization-http.ts):
 * the world written with the `getstream` client, the log sent with `stream-analytics`, each test
 * request a personalized read; config `smoke` and seed 42 unless given. Writes
 * `personalization-http-<config>-seed<N>.json` (metrics only) and `.md` (with the run's figures).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { join } from 'node:path';
import { CONFIGS } from '../src/personalization/harness/generator.js';
import { evaluate, markdownOf } from '../src/personalization/harness/evaluate.js';
import { harnessPolicies } from '../src/personalization/harness/policies.js';
import { learnedPolicies } from '../src/personalization/harness/learned.js';
import { FeatureVector } from '../src/personalization/model/logistic.js';
import { PersonalizationModel } from '../src/personalization/model/model.js';
import { seededRandom } from '../src/core/ranking/seeded-random.js';
import { option } from './harness.js';
import { runHttpHarness } from './personalization-http.js';
import { RESULTS } from './report.js';

export async function personalization(): Promise<void> {
  if (process.argv.includes('--http')) return personalizationHttp();
  const configName = option('config') ?? 'default';
  const config = CONFIGS[configName];
  if (config === undefined) throw new Error(`--config must be one of ${Object.keys(CONFIGS).join(', ')}`);
  const seeds = (option('seeds') ?? '42,1,2,7').split(',').map((s) => Number(s.trim()));
  if (seeds.some((s) => !Number.isInteger(s))) throw new Error('--seeds must be a comma-separated list of integers');
  mkdirSync(RESULTS, { recursive: true });
  const sections: string[] = [];
  let failed = 0;
  for (const seed of seeds) {
    const t0 = performance.now();
    const learned = learnedPolicies();
    // Garbage-collection pauses, to tell which slow T7 calls one of them fell into.
    const gcs: { start: number; end: number }[] = [];
    const gcObserver = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) gcs.push({ start: e.startTime, end: e.startTime + e.duration });
    });
    gcObserver.observe({ entryTypes: ['gc'] });
    const result = evaluate(config, seed, [...harnessPolicies(), ...learned]);
    const seconds = (performance.now() - t0) / 1000;
    await new Promise((res) => setTimeout(res, 50));
    gcObserver.disconnect();
    const ms = learned[0].rankMs.slice().sort((a, b) => a - b);
    const pct = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))];
    const slow = learned[0].rankMs.flatMap((d, i) => (d > 5 ? [{ start: learned[0].rankAt[i], end: learned[0].rankAt[i] + d }] : []));
    const inGc = slow.filter((c) => gcs.some((g) => g.start < c.end && g.end > c.start)).length;
    const file = join(RESULTS, `personalization-${config.name}-seed${seed}.json`);
    writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
    const health = learned[0].model.health();
    const md =
      markdownOf(result) +
      `\nT7, scoring and re-ranking one request's ${config.candidates} candidates in memory (features, both heads, value score, guardrails), over the ${ms.length} requests of this run: ` +
      `p50 ${pct(0.5).toFixed(3)} ms, p99 ${pct(0.99).toFixed(3)} ms (target p50 <= 2, p99 <= 5); ` +
      `${slow.length} calls took over 5 ms, ${inGc} of them overlapping one of the run's ${gcs.length} garbage-collection pauses (the others were held up by the machine's other processes or by the call itself).\n` +
      `\nModel after the run: ${learned[0].model.updates} updates; progressive log-loss engage ${health.engage.log_loss.toFixed(4)} (recent ${health.engage.recent_log_loss.toFixed(4)} vs base rate ${health.engage.recent_base_log_loss.toFixed(4)}), ` +
      `negative ${health.negative.log_loss.toFixed(4)} (recent ${health.negative.recent_log_loss.toFixed(4)} vs ${health.negative.recent_base_log_loss.toFixed(4)}).\n` +
      `\nT10 wall time: ${seconds.toFixed(1)} s (generation, replay, learning and ranking by every policy; one process; load average ${loadavg()[0].toFixed(1)} at the end).\n`;
    process.stdout.write(`\n${md}→ ${file}\n`);
    writeFileSync(join(RESULTS, `personalization-${config.name}-seed${seed}.md`), md + '\n' + updateRate());
    failed += result.sanity.filter((s) => !s.ok).length;
  }
  // The summary holds every seed's section found in results/ (runs of single seeds may go in parallel).
  const order = (f: string) => {
    const n = Number(/seed(-?\d+)\.md$/.exec(f)?.[1]);
    const i = [42, 1, 2, 7].indexOf(n);
    return i >= 0 ? i : 100 + n;
  };
  for (const f of readdirSync(RESULTS)
    .filter((f) => f.startsWith(`personalization-${config.name}-seed`) && f.endsWith('.md'))
    .sort((a, b) => order(a) - order(b)))
    sections.push(readFileSync(join(RESULTS, f), 'utf8'));
  const mdFile = join(RESULTS, `personalization-${config.name}.md`);
  writeFileSync(
    mdFile,
    `# Personalization harness, config \`${config.name}\`\n\nWritten by \`npm run bench -- personalization --config ${config.name} --seeds <list>\` (one section per seed; seeds may run in separate processes). ` +
      'Metrics are defined in bench/README.md; the JSON files beside this one hold every figure and the ratios to each baseline.\n\n' +
      sections.join('\n'),
  );
  console.log(`→ ${mdFile}`);
  if (failed > 0) {
    process.exitCode = 1;
    console.error(`${failed} sanity check(s) failed`);
  }
}

/** `--http`: each seed's world through a live server (see bench/personalization-http.ts). */
async function personalizationHttp(): Promise<void> {
  const configName = option('config') ?? 'smoke';
  const config = CONFIGS[configName];
  if (config === undefined) throw new Error(`--config must be one of ${Object.keys(CONFIGS).join(', ')}`);
  const seeds = (option('seeds') ?? '42').split(',').map((s) => Number(s.trim()));
  if (seeds.some((s) => !Number.isInteger(s))) throw new Error('--seeds must be a comma-separated list of integers');
  mkdirSync(RESULTS, { recursive: true });
  for (const seed of seeds) {
    const { result, http } = await runHttpHarness(config, seed, { log: (line) => process.stdout.write(line + '\n') });
    const file = join(RESULTS, `personalization-http-${config.name}-seed${seed}.json`);
    writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
    const md =
      `# Personalization harness over HTTP, config \`${config.name}\`, seed ${seed}\n\n` +
      'Written by `npm run bench -- personalization --http --config <name> --seeds <list>`: a live server in this process (SQLite, simulated clock), ' +
      'the world written with the `getstream` client, the training log sent with the `stream-analytics` client, every test request a personalized read over HTTP. ' +
      '`learned` is what the server served; `learned_in_memory` the same model run in memory on the same log; `engagement_only` that in-memory model ranked by `p_engage` alone.\n\n' +
      markdownOf(result) +
      `\nThe run: ${http.getstream_calls} getstream calls, ${http.analytics_calls} stream-analytics calls (${http.impressions_sent} impressions, ${http.engagements_sent} engagement events), ` +
      `${http.reads} personalized reads (${http.reads_by_model} ranked by the model${Object.keys(http.fallback_versions).length > 0 ? `, fallbacks ${JSON.stringify(http.fallback_versions)}` : ''}), ` +
      `${http.mean_results.toFixed(1)} results per read, ${http.results_outside_pool} results outside the request's offline pool. ` +
      `Replay ${http.replay_s} s, whole run ${http.total_s} s (load average ${loadavg()[0].toFixed(1)} at the end).\n`;
    writeFileSync(join(RESULTS, `personalization-http-${config.name}-seed${seed}.md`), md);
    process.stdout.write(`\n${md}→ ${file}\n`);
  }
}

/**
 * T9's in-process learning rate: model updates (both heads, one AdaGrad step each) per second on
 * pre-encoded feature vectors of 16 features, the size of a typical impression's.
 */
function updateRate(): string {
  const rand = seededRandom(9);
  const vectors: FeatureVector[] = [];
  for (let i = 0; i < 1000; i++) {
    const f = new FeatureVector(16);
    for (let k = 0; k < 16; k++) f.push(Math.floor(rand() * 2 ** 31), k < 12 ? 1 : rand());
    vectors.push(f);
  }
  const model = new PersonalizationModel();
  const n = 300_000;
  for (let i = 0; i < 20_000; i++) model.learn(vectors[i % 1000], i % 9 === 0, i % 17 === 0);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) model.learn(vectors[i % 1000], i % 9 === 0, i % 17 === 0);
  const perS = n / ((performance.now() - t0) / 1000);
  const md = `### T9, learning rate\n\n${Math.round(perS).toLocaleString('en-US')} model updates/s in process (${n.toLocaleString('en-US')} impressions of 16 features, both heads; target >= 100,000; load average ${loadavg()[0].toFixed(1)}).\n`;
  process.stdout.write(`\n${md}`);
  return md;
}
