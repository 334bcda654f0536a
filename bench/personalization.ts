/**
 * `npm run bench -- personalization` (or `npm run bench:personalization`): the offline evaluation
 * harness of personalization (personalization.md §8, §11). For each seed it builds generator v1's
 * world, replays its log and ranks every test request with each policy, and writes
 * `bench/results/personalization-<config>-seed<N>.json` (metrics only, no timings: the same seed
 * gives the same bytes) and one Markdown file per config, `personalization-<config>.md`, with
 * every seed's table, sanity checks and wall time.
 *
 * Options: --config default|hard|smoke (default `default`), --seeds 42,1,2,7 (the default).
 * Exits non-zero when a sanity check fails.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIGS } from '../src/personalization/harness/generator.js';
import { evaluate, markdownOf } from '../src/personalization/harness/evaluate.js';
import { harnessPolicies } from '../src/personalization/harness/policies.js';
import { option } from './harness.js';
import { RESULTS } from './report.js';

export async function personalization(): Promise<void> {
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
    const result = evaluate(config, seed, harnessPolicies());
    const seconds = (performance.now() - t0) / 1000;
    const file = join(RESULTS, `personalization-${config.name}-seed${seed}.json`);
    writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
    const md = markdownOf(result) + `\nWall time: ${seconds.toFixed(1)} s (generation, replay and ranking by every policy; one process).\n`;
    process.stdout.write(`\n${md}→ ${file}\n`);
    sections.push(md);
    failed += result.sanity.filter((s) => !s.ok).length;
  }
  const mdFile = join(RESULTS, `personalization-${config.name}.md`);
  writeFileSync(
    mdFile,
    `# Personalization harness, config \`${config.name}\`\n\nWritten by \`npm run bench -- personalization --config ${config.name} --seeds ${seeds.join(',')}\`. ` +
      'Metrics are defined in bench/README.md; the JSON files beside this one hold every figure and the ratios to each baseline.\n\n' +
      sections.join('\n'),
  );
  console.log(`→ ${mdFile}`);
  if (failed > 0) {
    process.exitCode = 1;
    console.error(`${failed} sanity check(s) failed`);
  }
}
