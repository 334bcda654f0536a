/**
 * Shared by the one-server bench scripts (`queued-ack.ts`, `e2e-ack.ts`): the CPU time of each
 * thread of this process, and their `--name value` options.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** CPU ms (user + system) of each thread of this process by thread id, with its name (Linux; empty elsewhere). */
export function threadCpu(): Map<string, { name: string; ms: number }> {
  const out = new Map<string, { name: string; ms: number }>();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, { name, ms: ((Number(f[11]) + Number(f[12])) * 1000) / 100 });
    }
  } catch {
    // not Linux
  }
  return out;
}

/** The value after `--name` in `args`, or undefined. */
export function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

/** The threads that used at least 50 ms of CPU since `before` (a `threadCpu()` reading), busiest first, as `name:ms`. */
export function busiestThreads(before: Map<string, { name: string; ms: number }>): string[] {
  return [...threadCpu()]
    .map(([tid, t]) => ({ name: tid === String(process.pid) ? 'main' : `${t.name}#${tid}`, ms: t.ms - (before.get(tid)?.ms ?? 0) }))
    .filter((t) => t.ms >= 50)
    .sort((a, b) => b.ms - a.ms)
    .map((t) => `${t.name}:${Math.round(t.ms)}`);
}

/** Percentile `q` (0-100) of `ms`, to 0.01 ms; `ms` sorted ascending. */
export function percentile(ms: number[], q: number): number {
  return Math.round(ms[Math.min(ms.length - 1, Math.floor((q / 100) * ms.length))] * 100) / 100;
}
