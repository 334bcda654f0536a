import { isUuid } from '../core/activities/activity-id.js';
import type { App } from '../core/feeds/feed-group.js';
import type { FeedId } from '../core/feeds/feed-id.js';
import type { ActivityRecord } from '../ports/activity-store.js';
import type { WriteStep } from '../ports/intent-queue.js';
import { groupOf, maxLengthOf, type Uses } from './context.js';
import { isGroupedFeed as isGrouped } from '../core/fanout/plan.js';
import { FeedWork, planIntents, runWrite, type Spread } from './write-step.js';
import { activityChange, auditBatch } from './audit.js';
import { oldestKept, pulledEntriesOf } from './pulled-view.js';

/** What removing an activity from a feed uses. */
export type RemoveActivityDeps = Uses<'activities' | 'follows' | 'groups' | 'intents' | 'timelines', 'audit' | 'clock' | 'fanout' | 'onJobsEnqueued' | 'realtime'>;

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
export async function removeActivity(s: RemoveActivityDeps, app: App, feed: FeedId, key: string, byForeignId: boolean): Promise<void> {
  groupOf(app, feed);
  const flat = !isGrouped(app, feed.fid);
  const [present, pulled] = await Promise.all([
    byForeignId
      ? s.ports.timelines.entriesByForeignId(app.appId, feed.fid, key)
      : isUuid(key.toLowerCase())
        ? s.ports.timelines.entriesOf(app.appId, feed.fid, [key.toLowerCase()])
        : [],
    !flat ? [] : byForeignId ? pulledEntriesOf(s, app.appId, feed.fid, { foreignId: key }) : isUuid(key.toLowerCase()) ? pulledEntriesOf(s, app.appId, feed.fid, { ids: [key.toLowerCase()] }) : [],
  ]);
  if (present.length === 0 && pulled.length === 0) return;
  const work = new FeedWork();
  const stored = [...new Set(present.map((e) => e.id))];
  if (stored.length > 0) work.ops.push({ kind: 'remove', feed: feed.fid, ids: stored });
  const shownOnly = pulled.map((e) => e.id).filter((id) => !stored.includes(id));
  if (flat) {
    const floor = await oldestKept(s, app.appId, feed.fid, maxLengthOf(app, feed.fid));
    if (pulled.length > 0 || floor !== null) work.ops.push({ kind: 'hide', feed: feed.fid, ids: pulled.map((e) => e.id), ...(floor !== null ? { floor } : {}) });
  }
  // Hidden activities are announced as removed too, so realtime subscribers of the feed hear of
  // it as with a pushed copy.
  if (shownOnly.length > 0) work.announced.push({ feed: feed.fid, ids: shownOnly });
  const direct = present.filter((e) => e.origin === null).map((e) => e.id);
  const spreads: Spread[] = direct.length > 0 ? [{ kind: 'fanout.remove', source: feed.fid, ids: direct }] : [];
  const gone = [...new Set([...present, ...pulled].map((e) => e.id))];
  // Loaded when removing from a home feed (its `to` targets lose it too) or when audited (the
  // entry names the activity's actor).
  const acts = direct.length > 0 || s.audit ? await s.ports.activities.getActivities(app.appId, s.audit ? gone : direct) : new Map<string, ActivityRecord>();
  const byTarget = new Map<string, string[]>();
  for (const id of direct) {
    const a = acts.get(id);
    if (!a || a.home !== feed.fid) continue;
    for (const t of a.to) {
      if (t === feed.fid) continue;
      const list = byTarget.get(t);
      if (list) list.push(a.id);
      else byTarget.set(t, [a.id]);
    }
  }
  for (const [target, tids] of byTarget) {
    work.ops.push({ kind: 'remove', feed: target, ids: tids, origin: null });
    spreads.push({ kind: 'fanout.remove', source: target, ids: tids });
  }
  const intents = await planIntents(s, app, spreads);
  const audit = s.audit
    ? auditBatch(s, gone.flatMap((id) => { const a = acts.get(id); return a ? [activityChange(a, a.home === feed.fid ? 'deleted' : 'removed', { feed: feed.fid })] : []; }))
    : undefined;
  const planned = intents.filter((x) => x !== null);
  const steps: WriteStep[] = planned.length > 0 || audit ? [{ ...(planned.length > 0 ? { intents: planned } : {}), ...(audit ? { audit } : {}) }] : [];
  await runWrite(s, app, steps, { work, spreads, intents });
}
