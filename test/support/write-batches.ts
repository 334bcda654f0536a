import { activityId } from '../../src/core/activities/activity-id.js';
import type { ActivityRecord } from '../../src/ports/activity-store.js';
import type { StoragePorts } from '../../src/ports/storage.js';
import type { FeedOp } from '../../src/ports/timeline-store.js';

/** A minimal stored activity at time `t` (µs), first written to `home`. */
export const act = (t: number, home = 'user:a'): ActivityRecord => {
  const id = activityId(t, `c${t}`);
  return { id, timeUs: t, foreignId: '', to: [], body: JSON.stringify({ id }), home };
};

/** Stores `a` in one atomic step (one write handed to the group commit). */
export const post = (store: { readonly ports: StoragePorts }, app: string, a: ActivityRecord) => store.ports.intents.commit(app, [{ activity: a }]);

/** The per-feed operations that put `a` directly into `feeds` (default: its home feed). */
export const placed = (a: ActivityRecord, feeds: readonly string[] = [a.home], maxLength = 100): FeedOp[] =>
  feeds.map((feed) => ({ kind: 'add', feed, entries: [{ id: a.id, origin: null }], maxLength }));

/** Stores `count` activities, each with its entry in `feed`, which keeps its `max` newest; returns their ids. */
export async function postInto(store: { readonly ports: StoragePorts }, app: string, count: number, feed = 'user:a', max = 3, from = 1000): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const a = act(from + i, feed);
    await post(store, app, a);
    await store.ports.timelines.apply(app, placed(a, [feed], max));
    ids.push(a.id);
  }
  return ids;
}
