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
