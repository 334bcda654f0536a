import { parseBody } from '../core/activities/activity.js';
import { DEFAULT_MAX_LENGTH, type App } from '../core/feeds/feed-group.js';
import type { EntryWrite } from '../ports/write-store.js';

/** What placing an activity needs: its id, time and stored JSON. */
export interface PlaceableActivity {
  readonly id: string;
  readonly timeUs: number;
  readonly body: string;
}

/**
 * Activities being placed into feeds, parsed only when an aggregated or notification feed needs
 * their fields for a group key (flat feeds only need the id), and then once each.
 */
export class ActivitySource {
  readonly #acts = new Map<string, PlaceableActivity>();
  readonly #parsed = new Map<string, Record<string, unknown>>();

  constructor(acts: Iterable<PlaceableActivity>) {
    for (const a of acts) this.#acts.set(a.id, a);
  }

  has(id: string): boolean {
    return this.#acts.has(id);
  }

  get(id: string): { act: PlaceableActivity; obj: Record<string, unknown> } | undefined {
    const act = this.#acts.get(id);
    if (!act) return undefined;
    let obj = this.#parsed.get(id);
    if (!obj) {
      obj = parseBody(act.body);
      this.#parsed.set(id, obj);
    }
    return { act, obj };
  }
}

/** Whether entries of feed `fid` are grouped (aggregated or notification group). */
export function isGrouped(app: App, fid: string): boolean {
  const g = app.groups.get(fid.slice(0, fid.indexOf(':')));
  return g !== undefined && g.type !== 'flat';
}

/**
 * The entry that puts activity `id` into feed `fid`. Grouped feeds get their group placement from
 * the group's compiled aggregation format, evaluated here, at write time (§7.1). Returns null when
 * a grouped feed needs an activity that no longer exists.
 */
export function entryFor(app: App, fid: string, id: string, origin: string | null, src: ActivitySource | null): EntryWrite | null {
  const i = fid.indexOf(':');
  const group = app.groups.get(fid.slice(0, i));
  if (!group || group.type === 'flat' || !group.groupKey) {
    return { feed: fid, id, origin, maxLength: group?.maxLength ?? DEFAULT_MAX_LENGTH };
  }
  const found = src?.get(id);
  if (!found) return null;
  const { act, obj } = found;
  const key = group.groupKey({ activity: obj, timeUs: act.timeUs, feedGroup: group.name, feedUserId: fid.slice(i + 1) });
  return {
    feed: fid,
    id,
    origin,
    maxLength: group.maxLength,
    group: {
      key,
      actor: String(obj.actor ?? ''),
      verb: String(obj.verb ?? ''),
      timeUs: act.timeUs,
      maxGroups: group.maxGroups,
      maxPerGroup: group.maxGroupActivities,
    },
  };
}
