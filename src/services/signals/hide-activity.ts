import type { App } from '../../core/feeds/feed-group.js';
import type { HiddenPlacement } from '../../ports/seen-store.js';
import type { HideWrite } from '../../ports/signal-writes.js';
import type { EntryRemoval, EntryWrite } from '../../ports/write-store.js';
import type { Services } from '../context.js';
import { ActivitySource, entryFor } from '../placement.js';

/** The feed changes and the hide record that hide (or show again) one activity for one user. */
export interface HidePlan {
  readonly removals: EntryRemoval[];
  readonly entries: EntryWrite[];
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
export async function planHide(s: Services, app: App, user: string, activityId: string, hidden: boolean, nowUs: number): Promise<HidePlan> {
  const plan: HidePlan = { removals: [], entries: [], pullHides: [], hide: null };
  const already = (await s.store.signals.hiddenOf(app.appId, user, [activityId])).get(activityId);
  if (hidden) {
    if (already) return plan;
    const placements: HiddenPlacement[] = [];
    for (const feed of feedsOf(app, user)) {
      const own = await s.store.entriesOf(app.appId, feed, [activityId]);
      for (const e of own) {
        placements.push({ feed, origin: e.origin });
        plan.removals.push({ feed, ids: [activityId], origin: e.origin });
      }
      if (own.length === 0 && app.groups.get(feed.slice(0, feed.indexOf(':')))?.type === 'flat') {
        const pulled = await s.store.pulledEntriesOf(app.appId, feed, { ids: [activityId] });
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
  const act = (await s.store.getActivities(app.appId, [activityId])).get(activityId);
  if (act) {
    const src = new ActivitySource([act]);
    for (const p of already.placements) {
      const e = entryFor(app, p.feed, activityId, p.origin, src);
      if (e) plan.entries.push(e);
    }
  }
  plan.hide = { user, activityId, hidden: false, atUs: nowUs };
  return plan;
}

/** Merges hide plans into one batch's parts. */
export function mergeHidePlans(plans: readonly HidePlan[]): { removals: EntryRemoval[]; entries: EntryWrite[]; hides: { feed: string; ids: string[] }[]; records: HideWrite[] } {
  const out = { removals: [] as EntryRemoval[], entries: [] as EntryWrite[], hides: [] as { feed: string; ids: string[] }[], records: [] as HideWrite[] };
  for (const p of plans) {
    out.removals.push(...p.removals);
    out.entries.push(...p.entries);
    out.hides.push(...p.pullHides);
    if (p.hide) out.records.push(p.hide);
  }
  return out;
}
