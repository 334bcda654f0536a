/**
 * Results of the suite: one JSON file per scenario run (`bench/results/<scenario>-<timestamp>.json`),
 * and from the newest file of each suite scenario a Markdown summary (`bench/results/SUMMARY.md`:
 * every figure with its baseline, ratio and the issue's target, met or not) and a hand-written SVG
 * chart (`bench/results/chart.svg`). `npm run bench -- report` regenerates both from the files.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { option } from './harness.js';

export const RESULTS = join(import.meta.dirname, 'results');
const SUITE = ['graph-load', 'fanout-throughput', 'celebrity', 'reads', 'heaviest-reader', 'mixed'] as const;

/** Writes a scenario's result file and regenerates the summary and chart. */
export function writeResult(scenario: string, result: Record<string, unknown>): string {
  // A profiled run is slowed by the profiler: its result goes beside the profiles, not into results/.
  const profileDir = option('profile');
  const dir = profileDir ?? RESULTS;
  mkdirSync(dir, { recursive: true });
  const at = new Date().toISOString();
  const file = join(dir, `${scenario}-${at.replace(/[:.]/g, '-')}.json`);
  const doc = { scenario, at, node: process.version, cpus: cpus().length, cpu_model: cpus()[0]?.model, argv: process.argv.slice(2), git: gitState(), ...result };
  writeFileSync(file, JSON.stringify(doc, null, 2) + '\n');
  console.log(`${scenario} → ${file}`);
  if (profileDir === undefined) writeSummary();
  return file;
}

/** The commit measured, and the source files that differed from it (a dirty tree is measured as is). */
function gitState(): { commit: string; modified_src: string[] } | null {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: join(import.meta.dirname, '..'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const commit = git('rev-parse', '--short', 'HEAD').trim();
    const modified = git('status', '--porcelain', '--', 'src')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => l.slice(3));
    return { commit, modified_src: modified };
  } catch {
    return null;
  }
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type Doc = Record<string, any> & { scenario: string; at: string; file: string };

/** Every suite result file in `dir`, oldest first. */
function allResults(dir: string): Doc[] {
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const docs: Doc[] = [];
  for (const f of names) {
    try {
      const doc = { ...JSON.parse(readFileSync(join(dir, f), 'utf8')), file: f } as Doc;
      if ((SUITE as readonly string[]).includes(doc.scenario)) docs.push(doc);
    } catch {
      /* not a result file */
    }
  }
  return docs.sort((a, b) => (a.at < b.at ? -1 : 1));
}

/**
 * The newest result of each suite scenario on the default graph (wiki-Vote; the celebrity has no
 * graph), and the newest of each scenario on each other graph.
 */
export function latestResults(dir = RESULTS): { main: Map<string, Doc>; other: Map<string, Doc> } {
  const main = new Map<string, Doc>();
  const other = new Map<string, Doc>();
  for (const doc of allResults(dir)) {
    const graph = doc.graph?.name as string | undefined;
    if (graph === undefined || graph === 'wiki-vote') main.set(doc.scenario, doc);
    else other.set(`${doc.scenario} on ${doc.graph.title}`, doc);
  }
  return { main, other };
}

/** One line per result on another graph: its headline figures. */
function otherGraphRows(other: Map<string, Doc>): string[] {
  const lines: string[] = [];
  for (const [key, d] of other) {
    let text = '';
    if (d.scenario === 'graph-load') text = `${int(d.load.follows)} follows at ${int(d.load.follows_per_s)} follows/s`;
    if (d.scenario === 'fanout-throughput') {
      text = `${int(d.activities)} posts, ${int(d.deliveries)} deliveries: end to end ${int(d.end_to_end.inserts_per_s)}/s (${pct(d.end_to_end.vs_store_ceiling)} of ceiling), queued drain ${int(d.queued.inserts_per_s)}/s (${pct(d.queued.vs_store_ceiling)}), store ceiling ${int(d.store_ceiling.inserts_per_s)}/s; ${d.storage.entries_table_bytes_per_entry} B/entry in the table`;
    }
    if (d.scenario === 'reads') {
      text = ['flat', 'notification', 'ranked', 'enriched'].map((k) => `${k} ${int(d[k].read.requests_per_s)} req/s (${pct(d[k].vs_ceiling)}), p99 ${ms(d[k].read.latency_ms.p99)}`).join('; ');
    }
    if (d.scenario === 'heaviest-reader') {
      text = `user ${d.reader.id} following ${int(d.reader.following)}: ` +
        (d.sizes as any[]).map((z) => `${int(z.activities)} activities: HTTP p99 ${ms(z.http_serial.latency_ms.p99)}` + (z.postgres?.latency_ms ? `, PostgreSQL p99 ${ms(z.postgres.latency_ms.p99)} (${times(z.postgres_p99_over_http_p99)})` : '')).join('; ');
    }
    lines.push(`| ${key} | ${text} | ${d.file} |`);
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Summary rows

type Status = 'met' | 'not met' | '' | 'skipped';

interface Row {
  figure: string;
  value: string;
  baseline: string;
  ratio: string;
  target: string;
  status: Status;
}

const int = (x: number) => Math.round(x).toLocaleString('en-US');
const ms = (x: number) => `${x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : int(x)} ms`;
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const times = (x: number) => `${x.toFixed(2)}×`;
const ok = (b: boolean): Status => (b ? 'met' : 'not met');

function rows(r: Map<string, Doc>, dir: string): { section: string; docs: Doc[]; rows: Row[] }[] {
  const out: { section: string; docs: Doc[]; rows: Row[] }[] = [];
  const reads = r.get('reads');
  if (reads) {
    const k = (name: string) => reads[name] as { read: any; ceiling: any; vs_ceiling: number; mean_body_bytes: number };
    const f = k('flat');
    const list: Row[] = [
      {
        figure: `Flat read (timeline), ${reads.connections} connections`,
        value: `${int(f.read.requests_per_s)} req/s`,
        baseline: `HTTP ceiling ${int(f.ceiling.requests_per_s)} req/s (${int(f.ceiling.body_bytes)} B body)`,
        ratio: pct(f.vs_ceiling),
        target: '≥ 50% of the ceiling',
        status: ok(f.vs_ceiling >= 0.5),
      },
      {
        figure: 'Flat read latency',
        value: `p50 ${ms(f.read.latency_ms.p50)}, p99 ${ms(f.read.latency_ms.p99)}`,
        baseline: `ceiling p50 ${ms(f.ceiling.latency_ms.p50)}, p99 ${ms(f.ceiling.latency_ms.p99)}`,
        ratio: '',
        target: 'p99 ≤ 5 ms',
        status: ok(f.read.latency_ms.p99 <= 5),
      },
    ];
    for (const [name, title] of [
      ['notification', 'Aggregated read (notification, 25 groups)'],
      ['ranked', 'Ranked read (`ranking=popular`)'],
      ['enriched', 'Enriched read (users, objects, reactions)'],
    ] as const) {
      const x = k(name);
      list.push({
        figure: title,
        value: `${int(x.read.requests_per_s)} req/s; p50 ${ms(x.read.latency_ms.p50)}, p99 ${ms(x.read.latency_ms.p99)}`,
        baseline: `HTTP ceiling ${int(x.ceiling.requests_per_s)} req/s (${int(x.ceiling.body_bytes)} B body)`,
        ratio: pct(x.vs_ceiling),
        target: name === 'enriched' ? '≥ 35% of the ceiling' : '',
        status: name === 'enriched' ? ok(x.vs_ceiling >= 0.35) : '',
      });
    }
    for (const [name, title] of [
      ['flat', 'Flat read with the read cache off (every page built)'],
      ['enriched', 'Enriched read with the read cache off (every page built)'],
    ] as const) {
      const x = reads[`${name}_uncached`] as { read: any; vs_ceiling: number } | undefined;
      if (!x) continue;
      list.push({
        figure: title,
        value: `${int(x.read.requests_per_s)} req/s; p50 ${ms(x.read.latency_ms.p50)}, p99 ${ms(x.read.latency_ms.p99)}`,
        baseline: `HTTP ceiling ${int(k(name).ceiling.requests_per_s)} req/s`,
        ratio: pct(x.vs_ceiling),
        target: '',
        status: '',
      });
    }
    list.push({
      figure: 'Enriched read against the flat-size ceiling',
      value: `${int(k('enriched').read.requests_per_s)} req/s`,
      baseline: `HTTP ceiling ${int(f.ceiling.requests_per_s)} req/s (${int(f.ceiling.body_bytes)} B body)`,
      ratio: pct(reads.enriched_vs_flat_ceiling),
      target: '(≥ 35%, stricter reading)',
      status: ok(reads.enriched_vs_flat_ceiling >= 0.35),
    });
    out.push({ section: 'Reads over HTTP', docs: [reads], rows: list });
  }
  const mixed = r.get('mixed');
  if (mixed) {
    const view = mixedRuns(mixed, dir);
    out.push({ section: 'Reads while the data changes (`mixed`, issue 12)', docs: view.docs, rows: mixedRows(mixed, view.runs) });
  }
  const fan = r.get('fanout-throughput');
  if (fan) {
    const c = fan.store_ceiling;
    const e = fan.end_to_end;
    const q = fan.queued;
    const target = '≥ 300,000/s and ≥ 60% of the ceiling';
    out.push({
      section: 'Fan-out',
      docs: [fan],
      rows: [
        {
          figure: `End to end: ${int(fan.activities)} posts (${int(fan.deliveries)} deliveries) until all applied`,
          value: `${int(e.inserts_per_s)} inserts/s (${ms(e.all_applied_ms)})`,
          baseline: `store ceiling ${int(c.inserts_per_s)} inserts/s`,
          ratio: pct(e.vs_store_ceiling),
          target,
          status: ok(e.inserts_per_s >= 300_000 && e.vs_store_ceiling >= 0.6),
        },
        ...(fan.end_to_end_wide
          ? [
              {
                figure: `End to end, ${fan.end_to_end_wide.post_concurrency} posts in flight (concurrent posts share a commit)`,
                value: `${int(fan.end_to_end_wide.inserts_per_s)} inserts/s (${ms(fan.end_to_end_wide.all_applied_ms)}); ack p50 ${ms(fan.end_to_end_wide.ack_ms.p50)}, p99 ${ms(fan.end_to_end_wide.ack_ms.p99)}`,
                baseline: `store ceiling ${int(c.inserts_per_s)} inserts/s`,
                ratio: pct(fan.end_to_end_wide.vs_store_ceiling),
                target,
                status: ok(fan.end_to_end_wide.inserts_per_s >= 300_000 && fan.end_to_end_wide.vs_store_ceiling >= 0.6),
              } satisfies Row,
            ]
          : []),
        {
          figure: 'Queued fan-out drained by the worker (same posts, all queued)',
          value: `${int(q.inserts_per_s)} inserts/s (${ms(q.drain_ms)})`,
          baseline: `store ceiling ${int(c.inserts_per_s)} inserts/s`,
          ratio: pct(q.vs_store_ceiling),
          target,
          status: ok(q.inserts_per_s >= 300_000 && q.vs_store_ceiling >= 0.6),
        },
        {
          figure: 'Post acknowledged (8 in flight, inline fan-out)',
          value: `p50 ${ms(e.ack_ms.p50)}, p99 ${ms(e.ack_ms.p99)}; ${int(e.posts_per_s)} posts/s`,
          baseline: '',
          ratio: '',
          target: '',
          status: '',
        },
      ],
    });
  }
  const cel = r.get('celebrity');
  if (cel) {
    const rc = cel.read_cost;
    out.push({
      section: 'Celebrity',
      docs: [cel],
      rows: [
        {
          figure: `Write acknowledged (${int(cel.followers)} followers, ${cel.posts} posts)`,
          value: `median ${ms(cel.ack_ms.median)}, max ${ms(cel.ack_ms.max)}`,
          baseline: '',
          ratio: '',
          target: '≤ 10 ms (every post)',
          status: ok(cel.ack_ms.max <= 10),
        },
        {
          figure: "Last follower's read shows it",
          value: `${ms(cel.last_follower_visible_after_ack_ms.median)} after the ack (median); reads needed ${cel.runs.map((x: any) => Object.values(x.reads_until_visible).join('/')).join(', ')}`,
          baseline: `all applied ${cel.runs.map((x: any) => ms(x.all_applied_ms)).join(', ')}`,
          ratio: '',
          target: 'at once (first read after the ack)',
          status: ok(cel.visible_at_once),
        },
        {
          figure: "That follower's read cost",
          value: `${int(rc.reader.requests_per_s)} req/s, p50 ${ms(rc.reader.latency_ms.p50)}`,
          baseline: `plain read ${int(rc.plain.requests_per_s)} req/s, p50 ${ms(rc.plain.latency_ms.p50)}`,
          ratio: times(rc.cost_ratio_rps),
          target: '≤ 2× a plain read',
          status: ok(rc.cost_ratio_rps <= 2),
        },
      ],
    });
  }
  const hr = r.get('heaviest-reader');
  if (hr) {
    out.push({
      section: 'Heaviest reader',
      docs: [hr],
      rows: (hr.sizes as any[]).flatMap((z) => {
        const pgOk = z.postgres && !z.postgres.skipped;
        const off = z.http_serial_uncached;
        const uncachedRow: Row[] = off
          ? [
              {
                figure: `The same, read cache off (every page built)`,
                value: `HTTP p50 ${ms(off.latency_ms.p50)}, p99 ${ms(off.latency_ms.p99)}`,
                baseline: pgOk ? `PostgreSQL pull p99 ${ms(z.postgres.latency_ms.p99)}` : '',
                ratio: pgOk ? `p99 ${times(z.postgres_p99_over_uncached_p99)} lower` : '',
                target: '',
                status: '',
              },
            ]
          : [];
        return [{
          figure: `User ${hr.reader.id} following ${int(hr.reader.following)} feeds, 25 newest of ${int(z.timeline_entries)}, ${int(z.activities)} activities in all; 1 connection`,
          value: `HTTP p50 ${ms(z.http_serial.latency_ms.p50)}, p99 ${ms(z.http_serial.latency_ms.p99)}`,
          baseline: pgOk ? `PostgreSQL pull p50 ${ms(z.postgres.latency_ms.p50)}, p99 ${ms(z.postgres.latency_ms.p99)}` : `skipped: ${z.postgres?.skipped ?? 'no data'}`,
          ratio: pgOk ? `p99 ${times(z.postgres_p99_over_http_p99)} lower` : '',
          target: 'p99 ≥ 10× lower than PostgreSQL',
          status: pgOk ? ok(z.postgres_p99_over_http_p99 >= 10) : 'skipped',
        } satisfies Row, ...uncachedRow];
      }),
    });
  }
  const storage: Row[] = [];
  if (fan) {
    const st = fan.storage;
    storage.push({
      figure: `Graph workload fan-out: ${int(st.entries_added)} entries, checkpointed file growth per entry`,
      value: `${st.file_bytes_per_entry_excl_activities?.toFixed(1)} B (activity rows excluded); ${st.file_bytes_per_entry.toFixed(1)} B with them; table+index ${st.entries_table_bytes_per_entry.toFixed(1)} B`,
      baseline: `identical table, same rows in one transaction: ${st.store_ceiling_bytes_per_row.toFixed(1)} B/row`,
      ratio: '',
      target: '≤ 40 B per entry',
      status: ok((st.file_bytes_per_entry_excl_activities ?? st.file_bytes_per_entry) <= 40),
    });
  }
  if (cel?.storage?.follower_entries_written && cel.storage.file_bytes_per_entry != null) {
    storage.push({
      figure: `Celebrity fan-out (${int(cel.storage.entries_added)} entries)`,
      value: `${cel.storage.file_bytes_per_entry.toFixed(1)} B/entry file growth (table+index ${cel.storage.entries_table_bytes_per_entry.toFixed(1)})`,
      baseline: '',
      ratio: '',
      target: '≤ 40 B per entry',
      status: ok(cel.storage.file_bytes_per_entry <= 40),
    });
  }
  if (storage.length > 0) out.push({ section: 'Storage (SQLite, WAL checkpointed)', docs: [fan, cel?.storage?.follower_entries_written ? cel : undefined].filter((d): d is Doc => d !== undefined), rows: storage });
  const gl = r.get('graph-load');
  if (gl) {
    out.push({
      section: 'Graph load',
      docs: [gl],
      rows: [
        {
          figure: `${gl.graph.title}: ${int(gl.graph.follows)} follows through follow_many`,
          value: `${int(gl.load.follows_per_s)} follows/s (${ms(gl.load.ms)})`,
          baseline: '',
          ratio: '',
          target: '',
          status: '',
        },
      ],
    });
  }
  return out;
}

/** The server's event loop during a mixed run (older results have none). */
function loopFigures(e: { delay_ms: { p99: number; max: number }; utilization: number; main_thread_cpu_us_per_response?: number | null } | undefined): string {
  if (!e) return '';
  const cpu = e.main_thread_cpu_us_per_response == null ? '' : `; main thread ${e.main_thread_cpu_us_per_response} µs CPU per response`;
  return `; event loop delay p99 ${ms(e.delay_ms.p99)}, max ${ms(e.delay_ms.max)}, busy ${pct(e.utilization)}${cpu}`;
}

/**
 * The runs the mixed section shows: for each write rate, the run of the newest `mixed` result on
 * the same graph that measured that rate (a run with `--rates 200` alone leaves the 0 and 20
 * writes/s rows to the newest file that has them), lowest rate first, each with its file; and the
 * files they come from, newest first. Ratios inside a run (`vs_ceiling`, `vs_no_writes`) stay those
 * of its own file.
 */
function mixedRuns(newest: Doc, dir: string): { runs: { run: any; doc: Doc }[]; docs: Doc[] } {
  const graph = newest.graph?.name;
  const byRate = new Map<number, { run: any; doc: Doc }>();
  for (const doc of allResults(dir)) {
    if (doc.scenario !== 'mixed' || doc.graph?.name !== graph || doc.at > newest.at) continue;
    for (const run of (doc.runs ?? []) as any[]) byRate.set(run.writes_per_s, { run, doc });
  }
  const runs = [...byRate.values()].sort((a, b) => a.run.writes_per_s - b.run.writes_per_s);
  const docs = [newest];
  for (const { doc } of runs) if (!docs.some((d) => d.file === doc.file)) docs.push(doc);
  return { runs, docs };
}

/**
 * The health check of a mixed run or of saturation: the main port's `/healthz` (a client in a
 * process of its own; in the load generator's thread), beside the bare server's in the ceilings
 * around the run and the health listener's (its own port and thread) at the same time. The
 * ≤ 5 ms target is the health listener's where it was measured, else the main port's.
 */
function healthRow(figure: string, run: any, withTarget: boolean): Row {
  const h = run.healthz;
  const hl = run.health_listener;
  const ceilings = [run.ceiling?.healthz, run.ceiling_after?.healthz].filter((x) => x);
  const checked = hl ?? h;
  return {
    figure,
    value:
      `main port p50 ${ms(h.latency_ms.p50)}, p99 ${ms(h.latency_ms.p99)}, max ${ms(h.latency_ms.max)}` +
      `${run.healthz_in_load_thread ? ` (in the load generator's thread p99 ${ms(run.healthz_in_load_thread.latency_ms.p99)})` : ''}` +
      `${hl ? `; health listener p50 ${ms(hl.latency_ms.p50)}, p99 ${ms(hl.latency_ms.p99)}, max ${ms(hl.latency_ms.max)}${hl.non2xx ? `, ${hl.non2xx} not 200` : ''}` : ''}${loopFigures(run.event_loop)}`,
    baseline: ceilings.length > 0 ? `bare server's /healthz p99 ${ceilings.map((x: any) => ms(x.latency_ms.p99)).join(' → ')}` : '',
    ratio: run.healthz_p99_vs_ceiling ? `main port ${run.healthz_p99_vs_ceiling}× the bare server's p99` : '',
    target: withTarget ? `p99 ≤ 5 ms${hl ? ' (health listener)' : ''}` : '',
    status: withTarget ? ok(checked.latency_ms.p99 <= 5 && !(hl?.non2xx > 0)) : '',
  };
}

/** Rows of the mixed scenario: each write rate's reads against the mix's ceiling, then saturation. */
function mixedRows(m: Doc, runs: readonly { run: any; doc: Doc }[]): Row[] {
  const list: Row[] = [];
  for (const { run, doc } of runs) {
    const half = Math.floor(doc.connections / 2);
    const rate = run.writes_per_s;
    const from = doc.file === m.file ? '' : ` (${doc.file})`;
    const w = run.writes ? `; writes reached ${run.writes.achieved_per_s}/s (ack p50 ${ms(run.writes.latency_ms.p50)}, p99 ${ms(run.writes.latency_ms.p99)})` : '';
    for (const [k, name, goal] of [['flat', 'flat', 0.4], ['enriched', 'enriched', 0.25]] as const) {
      const x = run[k];
      const l = x.read.latency_ms;
      const vsNone = run.vs_no_writes?.[k];
      let target = '';
      let status: Status = '';
      if (rate === 200) {
        target = `≥ ${pct(goal)} of the ceiling, p99 ≤ 10 ms`;
        status = ok(x.vs_ceiling >= goal && l.p99 <= 10);
      } else if (rate === 20 && vsNone !== undefined) {
        target = 'within 10% of no writes';
        status = ok(vsNone >= 0.9);
      }
      list.push({
        figure: `${rate} writes/s: ${name} reads, ${half} connections${from}`,
        value: `${int(x.read.requests_per_s)} req/s; p50 ${ms(l.p50)}, p99 ${ms(l.p99)}${rate > 0 && vsNone !== undefined ? `; ${pct(vsNone)} of no writes` : ''}`,
        baseline: run.ceiling_after
          ? `ceiling of the mix ${int((run.ceiling[k].requests_per_s + run.ceiling_after[k].requests_per_s) / 2)} req/s (mean of ${int(run.ceiling[k].requests_per_s)} before and ${int(run.ceiling_after[k].requests_per_s)} after; ${int(run.ceiling[k].body_bytes)} B body)`
          : `ceiling of the mix ${int(run.ceiling[k].requests_per_s)} req/s (${int(run.ceiling[k].body_bytes)} B body)`,
        ratio: pct(x.vs_ceiling),
        target,
        status,
      });
    }
    const c = run.writer_commits_per_s;
    const commits = c ? `; writer ${c.all} group commits/s (${c.durable} with fsync), the reading connection's page cache dropped ${c.read_cache_resets}/s` : '';
    list.push({
      figure: `${rate} writes/s: read cache, writes${from}`,
      value: `hit rate ${run.read_cache.hit_rate === null ? 'n/a' : pct(run.read_cache.hit_rate)}${w}${commits}`,
      baseline: rate > 0 ? `target rate ${rate}/s` : '',
      ratio: run.writes ? pct(run.writes.achieved_per_s / rate) : '',
      target: '',
      status: '',
    });
    list.push(healthRow(`${rate} writes/s: /healthz (a lone client)${from}`, run, rate > 0));
  }
  const sat = m.saturation;
  if (sat) {
    list.push({
      figure: `Saturation: ${sat.connections} connections, 80% flat reads, 20% posts`,
      value: `${int(sat.total.requests_per_s)} req/s in all; p50 ${ms(sat.total.latency_ms.p50)}, p99 ${ms(sat.total.latency_ms.p99)}${sat.total.by_method?.GET && sat.total.by_method?.POST ? ` (reads p99 ${ms(sat.total.by_method.GET.latency_ms.p99)}; posts p50 ${ms(sat.total.by_method.POST.latency_ms.p50)}, p99 ${ms(sat.total.by_method.POST.latency_ms.p99)})` : ''}; ${sat.posts_per_s} posts/s (${int(sat.follower_inserts_per_s)} follower inserts/s)`,
      baseline: `the reads alone ${int(sat.reads_alone.requests_per_s)} req/s; flat ceiling ${int(sat.flat_ceiling.requests_per_s)} req/s`,
      ratio: `${pct(sat.total_vs_reads_alone)} of reads alone`,
      target: '≥ 5,000 req/s, p99 ≤ 20 ms',
      status: ok(sat.total.requests_per_s >= 5000 && sat.total.latency_ms.p99 <= 20),
    });
    list.push(healthRow('Saturation: /healthz (a lone client)', sat, true));
  }
  return list;
}

/**
 * Regenerates `SUMMARY.md` and `chart.svg` in `dir` from its result files. Every section is built
 * from the newest file of its scenario that measured each of its rows (a run of some write rates
 * or some cluster sizes leaves the other rows to older files, named in the row), so a scenario's
 * run changes only its own rows.
 */
export function writeSummary(dir = RESULTS): void {
  const { main: r, other } = latestResults(dir);
  const cluster = clusterSection(dir);
  if (r.size === 0 && other.size === 0 && cluster === null) return;
  const sections = rows(r, dir);
  const lines: string[] = [
    '# Benchmark summary',
    '',
    'Generated by `npm run bench` from the newest result file of each suite scenario (listed under',
    'each table). Ratios compare figures measured in the same run of a scenario on the same machine;',
    'see [bench/README.md](../README.md) for what each figure is and how it is measured.',
    '',
    '![throughput and latency chart](chart.svg)',
    '',
  ];
  let met = 0;
  let missed = 0;
  for (const s of sections) {
    lines.push(`## ${s.section}`, '', '| figure | value | baseline (same run) | ratio | target | |', '| --- | --- | --- | --- | --- | --- |');
    for (const row of s.rows) {
      const mark = row.status === 'met' ? '✅ met' : row.status === 'not met' ? '❌ not met' : row.status === 'skipped' ? '⚠️ skipped' : '';
      if (row.status === 'met') met++;
      if (row.status === 'not met') missed++;
      lines.push(`| ${row.figure} | ${row.value} | ${row.baseline} | ${row.ratio} | ${row.target} | ${mark} |`);
    }
    for (const d of s.docs) {
      const g = d.graph ? `, graph ${d.graph.title}` : '';
      const git = d.git ? `, commit ${d.git.commit}${d.git.modified_src.length > 0 ? ` + ${d.git.modified_src.length} modified src files` : ''}` : '';
      lines.push('', `<sub>${d.file} — ${d.at}, Node ${d.node}, ${d.cpus} CPUs${g}${git}</sub>`);
    }
    lines.push('');
  }
  if (cluster) {
    lines.push(...cluster.lines);
    met += cluster.met;
    missed += cluster.missed;
  }
  if (other.size > 0) {
    lines.push('## Other graphs', '', 'Newest run of each scenario with `--graph` other than wiki-Vote (the targets above are on wiki-Vote).', '');
    lines.push('| scenario | figures | file |', '| --- | --- | --- |', ...otherGraphRows(other), '');
  }
  lines.splice(8, 0, `Targets: **${met} met, ${missed} not met** (of the rows that carry one).`, '');
  writeFileSync(join(dir, 'SUMMARY.md'), lines.join('\n'));
  writeFileSync(join(dir, 'chart.svg'), chart(r, dir));
}

/**
 * The Redis Cluster section: per number of masters, the run of the newest `cluster-*.json` that
 * measured that cluster size with HTTP reads (a run of `--masters 1` alone, or of `--parts fanout`,
 * leaves the other sizes' rows to the newest file that has them, named in the row): fan-out
 * through the store against the raw `ZADD` ceiling, flat HTTP reads with the read cache off and on
 * against the HTTP ceiling, memory per timeline entry; per activity and follow and commands per
 * write and read on 3 masters.
 */
function clusterSection(dir: string): { lines: string[]; met: number; missed: number } | null {
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((f) => f.startsWith('cluster-') && f.endsWith('.json')).sort();
  } catch {
    return null;
  }
  const docs: Doc[] = [];
  for (const f of names) {
    try {
      const doc = { ...JSON.parse(readFileSync(join(dir, f), 'utf8')), file: f } as Doc;
      if (doc.scenario === 'cluster' && Array.isArray(doc.runs)) docs.push(doc);
    } catch {
      /* not a result file */
    }
  }
  docs.sort((x, y) => (x.at < y.at ? -1 : 1));
  const byMasters = new Map<number, { run: any; doc: Doc }>();
  for (const doc of docs) for (const run of doc.runs as any[]) if (run.http && run.fanout) byMasters.set(run.masters, { run, doc });
  if (byMasters.size === 0) return null;
  const shown = [...byMasters.values()].sort((x, y) => x.run.masters - y.run.masters);
  const files: Doc[] = [];
  for (const { doc } of [...shown].sort((x, y) => (x.doc.at < y.doc.at ? 1 : -1))) if (!files.includes(doc)) files.push(doc);
  const d = files[0];
  let met = 0;
  let missed = 0;
  const mark = (ok: boolean) => {
    if (ok) met++;
    else missed++;
    return ok ? '✅ met' : '❌ not met';
  };
  const lines = ['## Redis Cluster (`npm run bench -- cluster`)', '', '| figure | value | baseline (same run) | ratio | target | |', '| --- | --- | --- | --- | --- | --- |'];
  for (const { run: r, doc } of shown) {
    const m = `${r.masters} master${r.masters === 1 ? '' : 's'}${doc === d ? '' : ` (${doc.file})`}`;
    const f = r.fanout;
    lines.push(`| ${m}: fan-out inserts through the store | ${int(f.store_apply_per_s)}/s (median round ${pct(f.share_of_ceiling_median_round)}) | raw pipelined \`ZADD\` ${int(f.raw_zadd_per_s)}/s | ${pct(f.share_of_ceiling)} | ≥ 80% | ${mark(f.share_of_ceiling >= 0.8)} |`);
    const h = r.http;
    lines.push(`| ${m}: flat 25-item read, read cache off, ${h.cache_off.connections} connections | ${int(h.cache_off.requests_per_s)} req/s; p50 ${ms(h.cache_off.latency_ms.p50)}, p99 ${ms(h.cache_off.latency_ms.p99)} | HTTP ceiling ${int(h.ceiling.requests_per_s)} req/s, p99 ${ms(h.ceiling.latency_ms.p99)} | ${pct(h.cache_off.vs_ceiling)} | p99 ≤ 5 ms | ${mark(h.cache_off.latency_ms.p99 <= 5)} |`);
    lines.push(`| ${m}: the same, read cache on | ${int(h.cache_on.requests_per_s)} req/s; p50 ${ms(h.cache_on.latency_ms.p50)}, p99 ${ms(h.cache_on.latency_ms.p99)} | HTTP ceiling ${int(h.ceiling.requests_per_s)} req/s | ${pct(h.cache_on.vs_ceiling)} |  |  |`);
    const mem = r.memory_bytes_per_entry;
    lines.push(`| ${m}: memory per timeline entry | ${mem['listpack-1024']} B with \`zset-max-listpack-entries 1024\`; ${mem.default} B with Redis's default |  |  | ≤ 100 B | ${mark(mem['listpack-1024'] <= 100)} |`);
    const c = r.capacity;
    if (c) {
      const a = c.memory_bytes.per_activity;
      // Runs since the change-mark log was counted apart say how much of a write it took (bounded: the newest 100,000 marks).
      const logA = a.change_log_bytes === undefined ? '' : `; the change-mark log ${int(a.change_log_bytes)} B more per write, bounded`;
      lines.push(`| ${m}: memory per activity beyond its body | ${int(a.bytes - a.body_bytes)} B (${int(a.bytes)} B with its ${a.body_bytes} B body${logA}) |  |  | ≤ 100 B | ${mark(a.bytes - a.body_bytes <= 100)} |`);
      const of50 = c.memory_bytes.per_follow_of_feeds_following_50;
      const followText = of50 === undefined ? `${int(c.memory_bytes.per_follow)} B` : `${int(c.memory_bytes.per_follow)} B when each feed follows one; ${int(of50)} B when each follows 50`;
      lines.push(`| ${m}: memory per follow | ${followText} |  |  | ≤ 100 B | ${mark(c.memory_bytes.per_follow <= 100)} |`);
      lines.push(`| ${m}: commands per activity write / follow / flat 25-item read | ${c.commands.per_activity_write.all} / ${c.commands.per_follow.all} / ${c.commands.per_flat_read_25.all} |  |  |  |  |`);
    }
  }
  for (const f of files) {
    const load = f.load_average_before ? `, load average ${f.load_average_before.join(' ')} before, ${f.load_average_after.join(' ')} after` : '';
    lines.push('', `<sub>${f.file} — ${f.at}, Node ${f.node}, ${f.cpus} CPUs${load}; the benchmark, the server, the load generator and every Redis process share these CPUs</sub>`);
  }
  lines.push('');
  return { lines, met, missed };
}

// ---------------------------------------------------------------------------------------------
// Chart (hand-written SVG)

interface Bar {
  label: string;
  value: number;
  color: string;
  text?: string;
  /** A red tick across this bar at a target value. */
  mark?: number;
}

const W = 1000;
const LABEL_W = 300;
const PLOT_W = 520;
const BAR_H = 16;
const GAP = 6;
const FONT = 'font-family="DejaVu Sans, Verdana, sans-serif"';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function panel(y0: number, title: string, bars: Bar[], opts: { log?: boolean; targets?: { value: number; label: string }[] }): { svg: string; height: number } {
  const values = bars.map((b) => b.value).filter((v) => Number.isFinite(v) && v > 0);
  for (const t of opts.targets ?? []) values.push(t.value);
  const max = Math.max(...values) * 1.05;
  const min = opts.log ? Math.min(...values) / 2 : 0;
  const x = (v: number) => {
    if (!(v > 0)) return 0;
    if (!opts.log) return (v / max) * PLOT_W;
    return ((Math.log10(v) - Math.log10(min)) / (Math.log10(max) - Math.log10(min))) * PLOT_W;
  };
  const parts: string[] = [`<text x="20" y="${y0 + 18}" font-size="15" font-weight="bold" ${FONT}>${esc(title)}</text>`];
  let y = y0 + 46;
  const top = y;
  // Grid: log decades or 4 linear steps.
  const ticks: number[] = [];
  if (opts.log) {
    for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) if (10 ** e >= min && 10 ** e <= max) ticks.push(10 ** e);
  } else {
    const step = 10 ** Math.floor(Math.log10(max / 4));
    const nice = [1, 2, 2.5, 5, 10].map((m) => m * step).find((s) => max / s <= 5)!;
    for (let t = 0; t <= max; t += nice) ticks.push(t);
  }
  const height = bars.length * (BAR_H + GAP);
  for (const t of ticks) {
    const tx = LABEL_W + x(t);
    parts.push(`<line x1="${tx}" y1="${top - 4}" x2="${tx}" y2="${top + height}" stroke="#e5e7eb"/>`);
    parts.push(`<text x="${tx}" y="${top + height + 12}" font-size="10" fill="#6b7280" text-anchor="middle" ${FONT}>${esc(fmtTick(t))}</text>`);
  }
  for (const b of bars) {
    const w = Math.max(1, x(b.value));
    parts.push(`<text x="${LABEL_W - 8}" y="${y + BAR_H - 4}" font-size="12" text-anchor="end" ${FONT}>${esc(b.label)}</text>`);
    if (Number.isFinite(b.value)) parts.push(`<rect x="${LABEL_W}" y="${y}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${b.color}" rx="2"/>`);
    const end = Math.max(w, b.mark !== undefined ? x(b.mark) : 0);
    parts.push(`<text x="${LABEL_W + end + 6}" y="${y + BAR_H - 4}" font-size="11" fill="#111827" ${FONT}>${esc(b.text ?? fmtTick(b.value))}</text>`);
    if (b.mark !== undefined) {
      const mx = LABEL_W + x(b.mark);
      parts.push(`<line x1="${mx}" y1="${y - 2}" x2="${mx}" y2="${y + BAR_H + 2}" stroke="#dc2626" stroke-width="2"/>`);
    }
    y += BAR_H + GAP;
  }
  // Labels of target lines close together go on separate rows, so they do not overprint.
  let lastX = -Infinity;
  let row = 0;
  for (const t of [...(opts.targets ?? [])].sort((a, b) => x(a.value) - x(b.value))) {
    const tx = LABEL_W + x(t.value);
    row = tx - lastX < 7 * t.label.length ? row + 1 : 0;
    lastX = tx;
    parts.push(`<line x1="${tx}" y1="${top - 6}" x2="${tx}" y2="${top + height}" stroke="#dc2626" stroke-width="1.5" stroke-dasharray="5,3"/>`);
    parts.push(`<text x="${tx + 4}" y="${top - 8 + row * 12}" font-size="10" fill="#dc2626" ${FONT}>${esc(t.label)}</text>`);
  }
  return { svg: parts.join('\n'), height: y - y0 + 26 };
}

function fmtTick(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  if (v >= 1e6) return `${+(v / 1e6).toFixed(2)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  if (v >= 10) return `${Math.round(v)}`;
  return `${+v.toFixed(2)}`;
}

const C = { rivulet: '#2563eb', ceiling: '#9ca3af', pg: '#f59e0b', p50: '#93c5fd', p90: '#3b82f6', p99: '#1e3a8a' };

export function chart(r: Map<string, Doc>, dir = RESULTS): string {
  const panels: { title: string; bars: Bar[]; opts: Parameters<typeof panel>[3] }[] = [];
  const reads = r.get('reads');
  const kinds = [
    ['flat', 'flat'],
    ['notification', 'notification'],
    ['ranked', 'ranked'],
    ['enriched', 'enriched'],
  ] as const;
  if (reads) {
    const bars: Bar[] = [];
    for (const [k, name] of kinds) {
      const x = reads[k];
      bars.push({ label: `${name}: HTTP ceiling (${fmtTick(x.ceiling.body_bytes)} B)`, value: x.ceiling.requests_per_s, color: C.ceiling });
      const goal = k === 'flat' ? 0.5 : k === 'enriched' ? 0.35 : undefined;
      bars.push({
        label: `${name}: Rivulet`,
        value: x.read.requests_per_s,
        color: C.rivulet,
        text: `${fmtTick(x.read.requests_per_s)} (${pct(x.vs_ceiling)} of ceiling${goal ? `; target ${pct(goal)}` : ''})`,
        mark: goal === undefined ? undefined : goal * x.ceiling.requests_per_s,
      });
      const off = reads[`${k}_uncached`];
      if (off) {
        bars.push({
          label: `${name}: Rivulet, read cache off`,
          value: off.read.requests_per_s,
          color: C.p50,
          text: `${fmtTick(off.read.requests_per_s)} (${pct(off.vs_ceiling)} of ceiling)`,
        });
      }
    }
    panels.push({ title: `Reads over HTTP, ${reads.connections} connections — requests/s (higher is better; red tick = target)`, bars, opts: {} });
  }
  const mixed = r.get('mixed');
  if (mixed) {
    const bars: Bar[] = [];
    const runs = mixedRuns(mixed, dir).runs.map((x) => x.run);
    for (const [k, goal] of [['flat', 0.4], ['enriched', 0.25]] as const) {
      for (const run of runs) {
        const x = run[k];
        bars.push({ label: `${k}: ceiling before the ${run.writes_per_s} writes/s run`, value: run.ceiling[k].requests_per_s, color: C.ceiling });
        bars.push({
          label: `${k}: ${run.writes_per_s} writes/s`,
          value: x.read.requests_per_s,
          color: run.writes_per_s === 0 ? C.rivulet : C.p50,
          text: `${fmtTick(x.read.requests_per_s)} (${pct(x.vs_ceiling)}; p99 ${ms(x.read.latency_ms.p99)})`,
          mark: run.writes_per_s === 200 ? goal * run.ceiling[k].requests_per_s : undefined,
        });
      }
    }
    if (mixed.saturation) {
      const sat = mixed.saturation;
      bars.push({ label: 'saturation: reads alone', value: sat.reads_alone.requests_per_s, color: C.ceiling });
      bars.push({ label: 'saturation: 80% reads, 20% posts', value: sat.total.requests_per_s, color: C.rivulet, text: `${fmtTick(sat.total.requests_per_s)} (p99 ${ms(sat.total.latency_ms.p99)})`, mark: 5000 });
    }
    panels.push({ title: `Reads while the data changes (mixed), ${mixed.connections} connections — requests/s (red tick = target)`, bars, opts: {} });
  }
  const fan = r.get('fanout-throughput');
  if (fan) {
    panels.push({
      title: `Fan-out on ${fan.graph.title}, ${int(fan.activities)} posts — follower-feed inserts/s`,
      bars: [
        { label: 'store ceiling (raw SQLite inserts)', value: fan.store_ceiling.inserts_per_s, color: C.ceiling },
        { label: 'queued, drained by the worker', value: fan.queued.inserts_per_s, color: C.rivulet, text: `${fmtTick(fan.queued.inserts_per_s)} (${pct(fan.queued.vs_store_ceiling)})` },
        { label: 'end to end (posts until applied)', value: fan.end_to_end.inserts_per_s, color: C.rivulet, text: `${fmtTick(fan.end_to_end.inserts_per_s)} (${pct(fan.end_to_end.vs_store_ceiling)})` },
        ...(fan.end_to_end_wide
          ? [{ label: `end to end, ${fan.end_to_end_wide.post_concurrency} posts in flight`, value: fan.end_to_end_wide.inserts_per_s, color: C.rivulet, text: `${fmtTick(fan.end_to_end_wide.inserts_per_s)} (${pct(fan.end_to_end_wide.vs_store_ceiling)})` }]
          : []),
      ],
      opts: { targets: [{ value: 300_000, label: 'target 300k/s' }, { value: 0.6 * fan.store_ceiling.inserts_per_s, label: 'target 60% of ceiling' }] },
    });
  }
  const lat: Bar[] = [];
  if (reads) {
    for (const [k, name] of kinds) {
      const l = reads[k].read.latency_ms;
      lat.push({ label: `${name} p50 (${reads.connections} conns)`, value: l.p50, color: C.p50, text: ms(l.p50) });
      lat.push({ label: `${name} p90 (${reads.connections} conns)`, value: l.p90, color: C.p90, text: ms(l.p90) });
      lat.push({ label: `${name} p99 (${reads.connections} conns)`, value: l.p99, color: C.p99, text: ms(l.p99) });
    }
  }
  const hr = r.get('heaviest-reader');
  if (hr) {
    for (const z of hr.sizes as any[]) {
      const l = z.http_serial.latency_ms;
      const tag = `${fmtTick(z.activities)} acts`;
      lat.push({ label: `heaviest reader, ${tag}: HTTP p50 (1 conn)`, value: l.p50, color: C.p50, text: ms(l.p50) });
      lat.push({ label: `heaviest reader, ${tag}: HTTP p99 (1 conn)`, value: l.p99, color: C.p99, text: ms(l.p99) });
      if (z.postgres && !z.postgres.skipped) {
        lat.push({ label: `PostgreSQL pull, ${tag}: p50 (1 conn)`, value: z.postgres.latency_ms.p50, color: C.pg, text: ms(z.postgres.latency_ms.p50) });
        lat.push({ label: `PostgreSQL pull, ${tag}: p99 (1 conn)`, value: z.postgres.latency_ms.p99, color: C.pg, text: ms(z.postgres.latency_ms.p99) });
      }
    }
  }
  if (lat.length > 0) panels.push({ title: 'Read latency percentiles — ms, log scale (lower is better)', bars: lat, opts: { log: true, targets: [{ value: 5, label: 'flat p99 target 5 ms' }] } });
  const cel = r.get('celebrity');
  if (cel) {
    const rc = cel.read_cost;
    panels.push({
      title: `Celebrity with ${fmtTick(cel.followers)} followers — ms, log scale (lower is better)`,
      bars: [
        { label: 'write acknowledged (median)', value: cel.ack_ms.median, color: C.rivulet, text: ms(cel.ack_ms.median) },
        { label: "last follower's read shows it", value: cel.last_follower_visible_after_ack_ms.median, color: C.rivulet, text: `${ms(cel.last_follower_visible_after_ack_ms.median)} after the ack` },
        { label: 'follower read p50', value: rc.reader.latency_ms.p50, color: C.rivulet, text: ms(rc.reader.latency_ms.p50) },
        { label: 'plain read p50', value: rc.plain.latency_ms.p50, color: C.ceiling, text: ms(rc.plain.latency_ms.p50) },
      ],
      opts: { log: true, targets: [{ value: 10, label: 'ack target 10 ms' }] },
    });
  }
  let y = 40;
  const body: string[] = [];
  for (const p of panels) {
    const out = panel(y, p.title, p.bars, p.opts);
    body.push(out.svg);
    y += out.height + 10;
  }
  const stamp = [...r.values()].map((d) => d.at).sort().pop() ?? '';
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="20" y="24" font-size="18" font-weight="bold" ${FONT}>Rivulet benchmark suite</text>`,
    `<text x="${W - 20}" y="24" font-size="11" fill="#6b7280" text-anchor="end" ${FONT}>newest run ${esc(stamp)} · grey = baseline, blue = Rivulet, amber = PostgreSQL</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) writeSummary();
