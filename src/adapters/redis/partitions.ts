import { createHash } from 'node:crypto';
import type { Keys } from './keys.js';

/**
 * Write steps land in one of {@link PARTITIONS} partitions shared by every app
 * (`rv:{rv:|p<n>}:…`), chosen from the step's owner (an activity id, the activity of a reaction,
 * the source feed of a follow edge). The partition holds the written thing with the step's
 * intents and follow-up operations, so a step is one Lua script on one slot.
 */
export const PARTITIONS = 16;

/** The partition of an activity id (or of any other owner of a step). */
export function partitionOf(key: string): number {
  return createHash('md5').update(key).digest().readUInt16BE(0) % PARTITIONS;
}

/** The key base of partition `n` (its keys are `<base><what>`). */
export function partitionBase(keys: Keys, n: number): string {
  return keys.shared(`p${n}`, '');
}

/** Groups items by partition. */
export function byPartition<T>(items: Iterable<T>, part: (item: T) => number): Map<number, T[]> {
  const out = new Map<number, T[]>();
  for (const item of items) {
    const p = part(item);
    let list = out.get(p);
    if (!list) out.set(p, (list = []));
    list.push(item);
  }
  return out;
}

/** The 16 hex digits of a non-negative integer below 2^53, so that strings sort as the numbers. */
export function hex16(n: number): string {
  return Math.max(0, Math.trunc(n)).toString(16).padStart(16, '0');
}
