/**
 * Before/after pairs of the "must not regress" scenarios: runs each scenario in this tree and in a
 * base tree (another checkout with its own node_modules, e.g. a git worktree of an older commit),
 * strictly alternating, each run under the bench lock, and writes one Markdown table with every
 * run's figures, the load average before and after each run, and the after ÷ base ratio of the
 * means.
 *
 *   node --import tsx bench/pairs.ts --base /path/to/base-tree [--after /path/to/after-tree] [--rounds 2]
 *     [--scenarios fanout-throughput,reads,celebrity,heaviest-reader] [--celebrity-followers N]
 *     [--lock /work/wt/bench.lock] [--out bench/results/<name>] [--title "…"]
 *   node --import tsx bench/pairs.ts --table-only --out bench/results/<name>
 *
 * The after tree is this checkout unless `--after` names another (a worktree of the commit to
 * measure, so that editing this one during a long run changes nothing measured).
 *
 * Each round runs every scenario in both trees back to back (this tree first in odd rounds, the
 * base first in even ones), so a pair's two runs are minutes apart at most. Each tree runs its
 * own `bench/run.ts`; the result file is moved into `--out` as `<tree>-r<round>-<file>` and the
 * tree's `bench/results/SUMMARY.md` and `chart.svg` (rewritten by every run) are restored from
 * git, so neither tree is left modified. The table is `--out`.md; `--table-only` rebuilds it from
 * the files already in `--out` (a run cut short keeps its finished pairs).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, join, resolve } from 'node:path';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Doc = Record<string, any>;

const ROOT = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const flag = (name: string) => args.includes(`--${name}`);

const stamp = new Date().toISOString().slice(0, 16).replace(/[:T]/g, '-');
const out = resolve(opt('out') ?? join(ROOT, 'bench', 'results', `pairs-${stamp}`));
const base = opt('base') === undefined ? null : resolve(opt('base')!);
const after = resolve(opt('after') ?? ROOT);
const rounds = Number(opt('rounds') ?? 2);
const scenarios = (opt('scenarios') ?? 'fanout-throughput,reads,celebrity,heaviest-reader').split(',');
const lock = opt('lock') ?? '/work/wt/bench.lock';
const celebrityFollowers = opt('celebrity-followers');

function load1(): number {
  return Math.round(loadavg()[0] * 100) / 100;
}

function commitOf(tree: string): string {
  return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: tree, encoding: 'utf8' }).trim();
}

/** Runs one scenario in `tree` under the lock; moves its result file into `out`. */
function runOne(tree: string, label: string, round: number, scenario: string): void {
  const extra = scenario === 'celebrity' && celebrityFollowers !== undefined ? ['--followers', celebrityFollowers] : [];
  const argv = [lock, 'node', '--import', 'tsx', 'bench/run.ts', scenario, ...extra];
  // The load is read inside the lock, right before and after the run.
  const script = `echo "load_before $(cut -d' ' -f1 /proc/loadavg)"; "$@"; rc=$?; echo "load_after $(cut -d' ' -f1 /proc/loadavg)"; exit $rc`;
  const started = new Date().toISOString();
  process.stdout.write(`[${started.slice(11, 19)}] ${label} r${round} ${scenario} (load ${load1()}) … `);
  const r = spawnSync('flock', [argv[0], 'sh', '-c', script, 'sh', ...argv.slice(1)], { cwd: tree, encoding: 'utf8', maxBuffer: 1 << 28 });
  const text = `${r.stdout}\n${r.stderr}`;
  const file = /→ (\S+\.json)/.exec(text)?.[1];
  for (const f of ['bench/results/SUMMARY.md', 'bench/results/chart.svg']) {
    spawnSync('git', ['checkout', '--', f], { cwd: tree, stdio: 'ignore' });
  }
  if (r.status !== 0 || file === undefined) {
    console.log(`failed (exit ${r.status})`);
    writeFileSync(join(out, `${label}-r${round}-${scenario}-failed.log`), text);
    return;
  }
  const before = Number(/load_before (\S+)/.exec(text)?.[1]);
  const after = Number(/load_after (\S+)/.exec(text)?.[1]);
  const dest = join(out, `${label}-r${round}-${basename(file)}`);
  renameSync(resolve(tree, file), dest);
  // The load average beside the figures (the table reads it from here).
  const doc = JSON.parse(readFileSync(dest, 'utf8')) as Doc;
  doc.pairs = { tree: label, round, started, load_before: before, load_after: after, commit: commitOf(tree) };
  writeFileSync(dest, JSON.stringify(doc, null, 2) + '\n');
  console.log(`load ${before} → ${after}`);
}

// ---------------------------------------------------------------------------------------------
// The table

interface Row {
  scenario: string;
  name: string;
  get: (d: Doc) => number | undefined;
  /** Whether a higher figure is better (the ratio's reading). */
  higher: boolean;
}

const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);

const ROWS: Row[] = [
  { scenario: 'reads', name: 'reads flat, cache on: req/s', get: (d) => num(d.flat?.read?.requests_per_s), higher: true },
  { scenario: 'reads', name: 'reads flat, cache on: p99 ms', get: (d) => num(d.flat?.read?.latency_ms?.p99), higher: false },
  { scenario: 'reads', name: 'reads flat, cache on: ÷ same-run HTTP ceiling', get: (d) => num(d.flat?.vs_ceiling), higher: true },
  { scenario: 'reads', name: 'reads enriched, cache on: req/s', get: (d) => num(d.enriched?.read?.requests_per_s), higher: true },
  { scenario: 'reads', name: 'reads enriched, cache on: p99 ms', get: (d) => num(d.enriched?.read?.latency_ms?.p99), higher: false },
  { scenario: 'reads', name: 'reads enriched, cache on: ÷ same-run HTTP ceiling', get: (d) => num(d.enriched?.vs_ceiling), higher: true },
  { scenario: 'reads', name: 'reads flat, cache off: req/s', get: (d) => num(d.flat_uncached?.read?.requests_per_s), higher: true },
  { scenario: 'reads', name: 'reads flat, cache off: p99 ms', get: (d) => num(d.flat_uncached?.read?.latency_ms?.p99), higher: false },
  { scenario: 'reads', name: 'reads enriched, cache off: req/s', get: (d) => num(d.enriched_uncached?.read?.requests_per_s), higher: true },
  { scenario: 'reads', name: 'reads enriched, cache off: p99 ms', get: (d) => num(d.enriched_uncached?.read?.latency_ms?.p99), higher: false },
  { scenario: 'reads', name: 'reads notification: req/s', get: (d) => num(d.notification?.read?.requests_per_s), higher: true },
  { scenario: 'reads', name: 'reads ranked: req/s', get: (d) => num(d.ranked?.read?.requests_per_s), higher: true },
  { scenario: 'reads', name: 'reads: same-run HTTP ceiling, flat req/s', get: (d) => num(d.flat?.ceiling?.requests_per_s), higher: true },
  { scenario: 'fanout-throughput', name: 'fan-out end to end: inserts/s', get: (d) => num(d.end_to_end?.inserts_per_s), higher: true },
  { scenario: 'fanout-throughput', name: 'fan-out end to end: ack p50 ms', get: (d) => num(d.end_to_end?.ack_ms?.p50), higher: false },
  { scenario: 'fanout-throughput', name: 'fan-out end to end: ack p99 ms', get: (d) => num(d.end_to_end?.ack_ms?.p99), higher: false },
  { scenario: 'fanout-throughput', name: 'fan-out 64 in flight: inserts/s', get: (d) => num(d.end_to_end_wide?.inserts_per_s), higher: true },
  { scenario: 'fanout-throughput', name: 'fan-out queued: ack p50 ms', get: (d) => num(d.queued?.ack_ms?.p50), higher: false },
  { scenario: 'fanout-throughput', name: 'fan-out queued: ack p99 ms', get: (d) => num(d.queued?.ack_ms?.p99), higher: false },
  { scenario: 'fanout-throughput', name: 'fan-out queued: posting ms (5,000 posts)', get: (d) => num(d.queued?.posts_ms), higher: false },
  { scenario: 'fanout-throughput', name: 'fan-out queued drain: inserts/s', get: (d) => num(d.queued?.inserts_per_s), higher: true },
  { scenario: 'fanout-throughput', name: 'fan-out: same-run store ceiling inserts/s', get: (d) => num(d.store_ceiling?.inserts_per_s), higher: true },
  { scenario: 'celebrity', name: 'celebrity: ack median ms', get: (d) => num(d.ack_ms?.median), higher: false },
  { scenario: 'celebrity', name: 'celebrity: ack max ms', get: (d) => num(d.ack_ms?.max), higher: false },
  { scenario: 'celebrity', name: 'celebrity: last reader sees it, ms after ack (median)', get: (d) => num(d.last_follower_visible_after_ack_ms?.median), higher: false },
  { scenario: 'celebrity', name: 'celebrity: reader req/s ÷ plain reader req/s', get: (d) => (num(d.read_cost?.cost_ratio_rps) === undefined ? undefined : 1 / d.read_cost.cost_ratio_rps), higher: true },
];
for (const i of [0, 1]) {
  const size = (d: Doc) => d.sizes?.[i];
  const label = (d: Doc) => size(d)?.activities;
  for (const [key, what] of [
    ['http_serial', '1 connection'],
    ['http_loaded', '50 connections'],
    ['http_serial_uncached', 'cache off'],
  ] as const) {
    ROWS.push({ scenario: 'heaviest-reader', name: `heaviest reader, history ${i + 1}, ${what}: req/s`, get: (d) => (label(d) === undefined ? undefined : num(size(d)?.[key]?.requests_per_s)), higher: true });
  }
}

function fmt(x: number | undefined): string {
  if (x === undefined) return '–';
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  if (Math.abs(x) >= 100) return x.toFixed(0);
  if (Math.abs(x) >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

function table(): string {
  const docs: Doc[] = readdirSync(out)
    .filter((f) => f.endsWith('.json'))
    .map((f): Doc => ({ ...(JSON.parse(readFileSync(join(out, f), 'utf8')) as Doc), file: f }))
    .filter((d) => d.pairs !== undefined);
  const lines: string[] = [];
  const trees = ['after', 'base'];
  const commits = new Map(docs.map((d) => [d.pairs.tree, d.pairs.commit]));
  lines.push(`# ${opt('title') ?? 'Must-not-regress scenarios, after against base, alternating pairs'}`);
  lines.push('');
  lines.push(`after = \`${commits.get('after') ?? '?'}\`, base = \`${commits.get('base') ?? '?'}\`. Generated by \`node --import tsx bench/pairs.ts\` (see its header); raw files in [\`${basename(out)}/\`](${basename(out)}/).`);
  lines.push('Each cell: one run. Ratio: mean(after) ÷ mean(base); for rows where lower is better (ms) a ratio above 1 means after is slower.');
  lines.push('"pairs after better" counts the pairs (same round) in which after is better.');
  const present = new Set(docs.map((d) => d.scenario as string));
  for (const scenario of [...scenarios.filter((x) => present.has(x)), ...[...present].filter((x) => !scenarios.includes(x))]) {
    const mine = docs.filter((d) => d.scenario === scenario);
    const roundsSeen = [...new Set(mine.map((d) => d.pairs.round as number))].sort((a, b) => a - b);
    const runs = roundsSeen.flatMap((r) => trees.map((t) => mine.find((d) => d.pairs.round === r && d.pairs.tree === t)).filter((d): d is Doc => d !== undefined));
    if (runs.length === 0) continue;
    lines.push('');
    lines.push(`## ${scenario}`);
    lines.push('');
    lines.push(`| figure | ${runs.map((d) => `${d.pairs.tree} r${d.pairs.round}`).join(' | ')} | after ÷ base (means) | pairs after better |`);
    lines.push(`| --- | ${runs.map(() => '---:').join(' | ')} | ---: | ---: |`);
    lines.push(`| start (UTC), load 1 min before → after | ${runs.map((d) => `${String(d.pairs.started).slice(11, 16)}, ${d.pairs.load_before} → ${d.pairs.load_after}`).join(' | ')} | | |`);
    for (const row of ROWS.filter((r) => r.scenario === scenario)) {
      const vals = runs.map((d) => row.get(d));
      if (vals.every((v) => v === undefined)) continue;
      const of = (t: string) => runs.flatMap((d, i) => (d.pairs.tree === t && vals[i] !== undefined ? [vals[i]!] : []));
      const mean = (xs: number[]) => (xs.length === 0 ? undefined : xs.reduce((a, b) => a + b, 0) / xs.length);
      const a = mean(of('after'));
      const b = mean(of('base'));
      let better = 0;
      let pairs = 0;
      for (const r of roundsSeen) {
        const va = row.get(mine.find((d) => d.pairs.round === r && d.pairs.tree === 'after') ?? {});
        const vb = row.get(mine.find((d) => d.pairs.round === r && d.pairs.tree === 'base') ?? {});
        if (va === undefined || vb === undefined) continue;
        pairs++;
        if (row.higher ? va > vb : va < vb) better++;
      }
      lines.push(`| ${row.name} | ${vals.map(fmt).join(' | ')} | ${a !== undefined && b !== undefined && b !== 0 ? (a / b).toFixed(2) : '–'} | ${better} of ${pairs} |`);
    }
  }
  return lines.join('\n') + '\n';
}

mkdirSync(out, { recursive: true });
if (!flag('table-only')) {
  if (base === null || !existsSync(join(base, 'bench', 'run.ts'))) throw new Error('--base <tree with bench/run.ts> is required');
  console.log(`after: ${after} (${commitOf(after)}), base: ${base} (${commitOf(base)}); ${rounds} rounds of ${scenarios.join(', ')}; results in ${out}`);
  for (let round = 1; round <= rounds; round++) {
    for (const scenario of scenarios) {
      const order: [string, string][] = [
        [after, 'after'],
        [base, 'base'],
      ];
      if (round % 2 === 0) order.reverse();
      for (const [tree, label] of order) runOne(tree, label, round, scenario);
      writeFileSync(`${out}.md`, table());
    }
  }
}
writeFileSync(`${out}.md`, table());
console.log(`table: ${out}.md`);
