import { isUuid } from '../core/activities/activity-id.js';
import type { App } from '../core/feeds/feed-group.js';
import type { FeedId } from '../core/feeds/feed-id.js';
import type { EntryRemoval } from '../ports/write-store.js';
import { groupOf, type Services } from './context.js';
import { emptyFanout, planFanout } from './plan-fanout.js';

/**
 * Removes an activity (by id, or every activity with a foreign id) from `feed` (§6.4). Removing
 * from a feed where the activity was written directly also removes the copies that feed's
 * followers received; removing from the activity's home feed also removes it from its `to`
 * targets and their followers. Removing something absent is not an error.
 */
export async function removeActivity(s: Services, app: App, feed: FeedId, key: string, byForeignId: boolean): Promise<void> {
  groupOf(app, feed);
  const ids = byForeignId
    ? await s.store.findInFeedByForeignId(app.appId, feed.fid, key)
    : isUuid(key.toLowerCase()) ? [key.toLowerCase()] : [];
  if (ids.length === 0) return;
  const present = await s.store.entriesOf(app.appId, feed.fid, ids);
  if (present.length === 0) return;
  const removals: EntryRemoval[] = [{ feed: feed.fid, ids: present.map((e) => e.id) }];
  const direct = present.filter((e) => e.origin === null).map((e) => e.id);
  const fan = emptyFanout();
  await planFanout(s, app, 'fanout.remove', feed.fid, direct, fan);
  if (direct.length > 0) {
    const acts = await s.store.getActivities(app.appId, direct);
    const byTarget = new Map<string, string[]>();
    for (const a of acts.values()) {
      if (a.home !== feed.fid) continue;
      for (const t of a.to) {
        if (t === feed.fid) continue;
        const list = byTarget.get(t);
        if (list) list.push(a.id);
        else byTarget.set(t, [a.id]);
      }
    }
    for (const [target, tids] of byTarget) {
      removals.push({ feed: target, ids: tids, origin: null });
      await planFanout(s, app, 'fanout.remove', target, tids, fan);
    }
  }
  await s.store.commit(app.appId, { removals: removals.concat(fan.removals), enqueue: fan.enqueue });
  if (fan.enqueue.length > 0) s.onJobsEnqueued();
}
