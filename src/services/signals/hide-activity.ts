import type { App } from '../../core/feeds/feed-group.js';
import type { HiddenPlacement } from '../../ports/seen-store.js';
import type { HideWrite } from '../../ports/signal-writes.js';
import type { ActivityRecord } from '../../ports/activity-store.js';
import type { Uses } from '../context.js';
import { pulledEntriesOf } from '../pulled-view.js';
import { applyFeedWork, FeedWork, planActivities, publish } from '../write-step.js';

/** What planning a hide uses. */
export type PlanHideDeps = Uses<'activities' | 'follows' | 'timelines', 'signalStore'>;
/** What writing hides uses (per-feed removals, published). */
export type WriteHidesDeps = Uses<'groups' | 'timelines', 'realtime'>;

/** An entry a hide takes out of (or puts back into) a feed, with its origin. */
interface HideEntry {
  readonly feed: string;
  readonly id: string;
  readonly origin: string | null;
}

/** The feed changes and the hide record that hide (or show again) one activity for one user. */
export interface HidePlan {
  readonly removals: HideEntry[];
  readonly entries: HideEntry[];
  /** The activities `entries` put back (group keys need their fields). */
  readonly activities: ActivityRecord[];
  /** Hybrid fan-out: pulled activities are hidden per feed (there is no entry to delete). */
  readonly pullHides: { feed: string; ids: string[] }[];
  hide: HideWrite | null;
}

/** The feeds of `user`: one per feed group of the app (`timeline:alice`, `user:alice`, …). */
function feedsOf(app: App, user: string): string[] {
  return [...app.groups.keys()].map((g) => `${g}:${user}`);
}

/**
 * Plans hiding `activityId` from every feed of `user` (personalization.md §2.3, v3's `hide`):
 * the entries are taken out of those feeds only (never out of their followers'), pulled ones are
 * hidden, and where they were is remembered. Showing it again puts the entries back with their
 * origins (a pulled one as an entry from its pulled feed). Hiding twice, or showing what is not
 * hidden, plans nothing. An activity not in the user's feeds is still recorded as hidden.
 */
export async function planHide(s: PlanHideDeps, app: App, user: string, activityId: string, hidden: boolean, nowUs: number): Promise<HidePlan> {
  const plan: HidePlan = { removals: [], entries: [], activities: [], pullHides: [], hide: null };
  const already = (await s.signalStore.hiddenOf(app.appId, user, [activityId])).get(activityId);
  if (hidden) {
    if (already) return plan;
    const placements: HiddenPlacement[] = [];
    for (const feed of feedsOf(app, user)) {
      const own = await s.ports.timelines.entriesOf(app.appId, feed, [activityId]);
      for (const e of own) {
        placements.push({ feed, origin: e.origin });
        plan.removals.push({ feed, id: activityId, origin: e.origin });
      }
      if (own.length === 0 && app.groups.get(feed.slice(0, feed.indexOf(':')))?.type === 'flat') {
        const pulled = await pulledEntriesOf(s, app.appId, feed, { ids: [activityId] });
        for (const e of pulled) {
          placements.push({ feed, origin: e.origin, pulled: true });
          plan.pullHides.push({ feed, ids: [activityId] });
        }
      }
    }
    plan.hide = { user, activityId, hidden: true, atUs: nowUs, placements };
    return plan;
  }
  if (!already) return plan;
  const act = (await s.ports.activities.getActivities(app.appId, [activityId])).get(activityId);
  if (act) {
    plan.activities.push(act);
    for (const p of already.placements) plan.entries.push({ feed: p.feed, id: activityId, origin: p.origin });
  }
  plan.hide = { user, activityId, hidden: false, atUs: nowUs };
  return plan;
}

/**
 * Writes hide plans: their feed operations (entries out or back, pulled activities hidden) and,
 * handed over in the same turn, the signal writes with their hide records (one transaction on the
 * embedded store); then the realtime events of what changed.
 */
export async function writeHides(s: WriteHidesDeps, app: App, plans: readonly HidePlan[], signals: (records: HideWrite[]) => Promise<unknown>): Promise<void> {
  const work = new FeedWork(planActivities(plans.flatMap((p) => p.activities)));
  const records: HideWrite[] = [];
  for (const p of plans) {
    for (const r of p.removals) work.ops.push({ kind: 'remove', feed: r.feed, ids: [r.id], origin: r.origin });
    for (const e of p.entries) work.add(app, e.feed, e.id, e.origin);
    for (const h of p.pullHides) work.ops.push({ kind: 'hide', feed: h.feed, ids: h.ids });
    if (p.hide) records.push(p.hide);
  }
  const [changes] = await Promise.all([work.empty ? null : applyFeedWork(s, app, work), signals(records)]);
  if (changes) await publish(s, app, changes);
}
