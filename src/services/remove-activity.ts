import { isUuid } from '../core/activities/activity-id.js';
import type { App } from '../core/feeds/feed-group.js';
import type { FeedId } from '../core/feeds/feed-id.js';
import type { EntryRemoval, WriteBatch } from '../ports/write-store.js';
import { groupOf, maxLengthOf, type Services } from './context.js';
import { commitWithFanout, emptyFanout, planFanout } from './plan-fanout.js';
import { isGrouped } from './placement.js';
import { activityChange, auditBatch } from './audit.js';

/**
 * Removes an activity (by id, or every activity with a foreign id) from `feed` (§6.4). Removing
 * from a feed where the activity was written directly also removes the copies that feed's
 * followers received; removing from the activity's home feed also removes it from its `to`
 * targets and their followers. Removing something absent is not an error.
 *
 * A flat feed also shows activities of the pull-served feeds it follows without holding entries
 * of them; removing one of those hides it from this feed only. A removal from a merged feed
 * holding more than its max_length also sets its floor to the oldest activity it keeps, so that
 * nothing older moves up into the gap (push had trimmed those already).
 */
export async function removeActivity(s: Services, app: App, feed: FeedId, key: string, byForeignId: boolean): Promise<void> {
  groupOf(app, feed);
  const ids = byForeignId
    ? await s.store.findInFeedByForeignId(app.appId, feed.fid, key)
    : isUuid(key.toLowerCase()) ? [key.toLowerCase()] : [];
  const flat = !isGrouped(app, feed.fid);
  const [present, pulled] = await Promise.all([
    ids.length > 0 ? s.store.entriesOf(app.appId, feed.fid, ids) : [],
    !flat ? [] : byForeignId ? s.store.pulledEntriesOf(app.appId, feed.fid, { foreignId: key }) : s.store.pulledEntriesOf(app.appId, feed.fid, { ids }),
  ]);
  if (present.length === 0 && pulled.length === 0) return;
  // Hidden activities are listed in the removal too (it deletes nothing for them), so realtime
  // subscribers of the feed hear of it as with a pushed copy.
  const gone = [...new Set([...present, ...pulled].map((e) => e.id))];
  const removals: EntryRemoval[] = [{ feed: feed.fid, ids: gone }];
  let hides: WriteBatch['hides'];
  if (flat) {
    const floor = await s.store.oldestKept(app.appId, feed.fid, maxLengthOf(app, feed.fid));
    if (pulled.length > 0 || floor !== null) hides = [{ feed: feed.fid, ids: pulled.map((e) => e.id), ...(floor !== null ? { floor } : {}) }];
  }
  const direct = present.filter((e) => e.origin === null).map((e) => e.id);
  const fan = emptyFanout();
  await planFanout(s, app, 'fanout.remove', feed.fid, direct, fan);
  let unhides: string[] | undefined;
  if (direct.length > 0) {
    const acts = await s.store.getActivities(app.appId, direct);
    const byTarget = new Map<string, string[]>();
    for (const a of acts.values()) {
      if (a.home !== feed.fid) continue;
      // Gone from everywhere it was shown through the merge: hides of it are no longer needed
      // (and must not hide an activity later added again with the same id).
      (unhides ??= []).push(a.id);
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
  // Loaded before the commit only when recorded: the audit entry names the activity's actor.
  const removed = s.audit ? await s.store.getActivities(app.appId, gone) : null;
  const audit = removed ? auditBatch(s, [...removed.values()].map((a) => activityChange(a, a.home === feed.fid ? 'deleted' : 'removed', { feed: feed.fid }))) : undefined;
  await commitWithFanout(s, app, { removals, hides, unhides, audit }, fan);
}
