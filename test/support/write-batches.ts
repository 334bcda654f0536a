import { activityId } from '../../src/core/activities/activity-id.js';
import type { ActivityRecord } from '../../src/ports/activity-store.js';
import type { WriteBatch } from '../../src/ports/write-store.js';

/** A minimal stored activity at time `t` (µs), first written to `home`. */
export const act = (t: number, home = 'user:a'): ActivityRecord => {
  const id = activityId(t, `c${t}`);
  return { id, timeUs: t, foreignId: '', to: [], body: JSON.stringify({ id }), home };
};

/** A write batch storing `a` and putting it directly into `feeds` (default: its home feed). */
export const post = (a: ActivityRecord, feeds: readonly string[] = [a.home]): WriteBatch => ({
  activities: [a],
  entries: feeds.map((feed) => ({ feed, id: a.id, origin: null, maxLength: 100 })),
});
