import { ConflictError } from '../core/errors.js';

/**
 * Read-modify-write of stored activities (partial update, full update, to-targets update) reads an
 * activity, changes it and writes it whole. Two such requests for one activity at once would both
 * start from the same stored form and the later write would drop the earlier one's change, although
 * both were acknowledged. They are serialized here, per store and activity, within this process.
 *
 * Each caller records itself synchronously as the last holder of every key it needs and then
 * waits for the previous holders: waits only ever go to earlier callers, so there is no cycle.
 *
 * Other processes over the same store (`serve --workers`, a separate worker) are not held here:
 * their writes are caught by the store, which writes an activity only while its stored body is the
 * one the update started from (`WriteStep.expectBody`) and otherwise refuses the write with a
 * {@link ConflictError}. `fn` then runs again, from a fresh read, up to {@link ATTEMPTS} times.
 */
/** How many times a read-modify-write runs when other processes keep changing its activities. */
const ATTEMPTS = 20;

const holders = new WeakMap<object, Map<string, Promise<void>>>();

export async function withActivities<T>(store: object, appId: string, ids: readonly string[], fn: () => Promise<T>): Promise<T> {
  let tails = holders.get(store);
  if (!tails) holders.set(store, (tails = new Map()));
  const keys = [...new Set(ids.map((id) => `${appId}\u0000${id}`))];
  const before = keys.map((k) => tails.get(k));
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  for (const k of keys) tails.set(k, mine);
  try {
    for (const p of before) if (p) await p;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!(err instanceof ConflictError) || attempt >= ATTEMPTS) throw err;
      }
    }
  } finally {
    release();
    for (const k of keys) if (tails.get(k) === mine) tails.delete(k);
  }
}
