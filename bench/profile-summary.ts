/**
 * Summarizes V8 CPU profiles (`node --cpu-prof`): self time by function and by file, and the
 * inclusive time of the project's own functions. Usage:
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/run.ts reads
 *   node --import tsx bench/profile-summary.ts /tmp/prof/<file>.cpuprofile [top] [--window fromUs,toUs]
 *
 * `--window`: only the samples between two times of the monotonic clock in µs
 * (`process.hrtime.bigint() / 1000n` in the profiled process; bench/queued-ack.ts prints each run's).
 *
 * The server runs on the main thread; the load generator's worker thread writes its own profile
 * (the smaller file), which can be ignored.
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

function where(n: Node): string {
  const url = n.callFrame.url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, 'node_modules/').replace(/^.*\/work\/(main|wt\/[^/]+)\//, '');
  return url === '' ? '(native)' : url;
}

export function summarize(path: string, top = 25, window?: { fromUs: number; toUs: number }): string {
  const p = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Self time per node from samples and time deltas (µs).
  const self = new Map<number, number>();
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  // Sample times are on the monotonic clock of process.hrtime (µs), so a window printed by the
  // profiled process selects its samples.
  let at = p.startTime;
  for (let i = 0; i < samples.length; i++) {
    at += deltas[i] ?? 0;
    if (window && (at < window.fromUs || at > window.toUs)) continue;
    self.set(samples[i], (self.get(samples[i]) ?? 0) + (deltas[i + 1] ?? deltas[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self.entries()].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((a, [, t]) => a + t, 0);
  const busy = total - idle;
  const fnSelf = new Map<string, number>();
  const fileSelf = new Map<string, number>();
  const ownIncl = new Map<string, number>();
  for (const [id, t] of self) {
    const n = byId.get(id)!;
    if (n.callFrame.functionName === '(idle)') continue;
    const name = `${n.callFrame.functionName || '(anonymous)'} ${where(n)}:${n.callFrame.lineNumber + 1}`;
    fnSelf.set(name, (fnSelf.get(name) ?? 0) + t);
    fileSelf.set(where(n), (fileSelf.get(where(n)) ?? 0) + t);
    // Inclusive time of project functions (src/): walk up the stack once per distinct name.
    const counted = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const c = byId.get(cur)!;
      const w = where(c);
      // Worker threads run a bundle of src/ (src/workers/start-thread.ts): its functions count too.
      if (!w.startsWith('src/') && !w.includes('.cache/rivulet-threads/')) continue;
      const key = `${c.callFrame.functionName || '(anonymous)'} ${w}:${c.callFrame.lineNumber + 1}`;
      if (counted.has(key)) continue;
      counted.add(key);
      ownIncl.set(key, (ownIncl.get(key) ?? 0) + t);
    }
  }
  const pct = (t: number) => `${((100 * t) / busy).toFixed(1).padStart(5)}%`;
  const list = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, t]) => `  ${pct(t)} ${(t / 1000).toFixed(0).padStart(7)} ms  ${k}`)
      .join('\n');
  return [
    `${path}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (percentages of busy time)`,
    `self time by function:\n${list(fnSelf)}`,
    `self time by file:\n${list(fileSelf)}`,
    `inclusive time of src/ functions:\n${list(ownIncl)}`,
  ].join('\n\n');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const args = process.argv.slice(2);
  const w = args.indexOf('--window');
  const window = w >= 0 ? args.splice(w, 2)[1].split(',').map(Number) : null;
  const [file, top] = args;
  if (!file) {
    console.error('usage: node --import tsx bench/profile-summary.ts <file.cpuprofile> [top] [--window fromUs,toUs]');
    process.exit(2);
  }
  console.log(summarize(file, top ? Number(top) : 25, window ? { fromUs: window[0], toUs: window[1] } : undefined));
}
