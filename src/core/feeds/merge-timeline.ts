import { idOrderKey } from '../activities/activity-id.js';

/**
 * The hybrid fan-out read rule (DESIGN.md, fan-out strategy): a feed shows its own entries merged
 * with the directly written entries of every pull-served feed it follows, as a push-served feed
 * would hold them. Pure functions over range scans of single feeds: an adapter scans, the core
 * merges.
 */

/** One entry as a scan returns it (the merge keeps any extra fields, e.g. the activity's body). */
export interface MergeEntry {
  readonly id: string;
  readonly origin: string | null;
}

/** The id bounds, offset, limit and max length of a read (see the timeline port's TimelineRange). */
export interface MergeRange {
  readonly idLt?: string;
  readonly idLte?: string;
  readonly idGt?: string;
  readonly idGte?: string;
  readonly limit: number;
  readonly offset: number;
  readonly maxLength?: number;
}

/** A pull-served feed the reader follows, and its entries as scanned (direct entries, newest first). */
export interface PulledSource<E extends MergeEntry> {
  readonly feed: string;
  /** Inclusive lower bound of what the reader sees of this feed (its follow's `since`); null: all. */
  readonly since: string | null;
  readonly entries: readonly E[];
}

/** What the reading feed contributes besides its entries. */
export interface ReaderView {
  /** Merged reads show nothing older than this id; null: no floor. */
  readonly floor: string | null;
  /** Pulled activities the reader hid (its own entries are removed, not hidden). */
  readonly hidden: ReadonlySet<string>;
}

/** The scans a merged read issues: the bounds and depth of each source, from the range. */
export interface MergeScanPlan {
  /** How many entries each source is scanned for (newest first, within the range's bounds). */
  readonly depth: number;
  /**
   * When set, the read also needs the count of merged entries above the range's upper bound
   * (a page deep in a feed longer than max_length): scan each source for the newest `limit`
   * entries with ids at or above `from` (inclusive, see {@link countMerged}).
   */
  readonly countAbove: { readonly from: string; readonly inclusive: boolean; readonly limit: number } | null;
}

/**
 * How deep to scan each source for `range` when the reader's entries and the pulled feeds hold
 * `total` entries together (an upper bound of the merged list), and `hiddenCount` pulled ids are
 * hidden (a pulled source is scanned that much deeper, since hidden ids drop out).
 */
export function planMergeScans(range: MergeRange, total: number, hiddenCount: number): MergeScanPlan {
  const max = range.maxLength ?? Infinity;
  const upper = upperBound(range);
  let depth = range.offset + range.limit;
  // Without an upper bound, positions in the page are positions in the whole merged feed.
  if (upper === null) depth = Math.min(depth, max);
  const countAbove = upper !== null && total > max ? { ...upper, limit: Math.min(max, total) + hiddenCount } : null;
  return { depth: depth + hiddenCount, countAbove };
}

/** The stricter of the upper bounds: entries above the range are those with ids > it (or ≥ for `idLt`). */
function upperBound(range: MergeRange): { from: string; inclusive: boolean } | null {
  const { idLt, idLte } = range;
  if (idLt === undefined && idLte === undefined) return null;
  if (idLte === undefined) return { from: idLt!, inclusive: true };
  if (idLt === undefined) return { from: idLte, inclusive: false };
  // Above `lt` (inclusive) is a superset of above `lte` when lt <= lte: the page ends below the lower one.
  return idOrderKey(idLt) <= idOrderKey(idLte) ? { from: idLt, inclusive: true } : { from: idLte, inclusive: false };
}

/**
 * Merges the reader's own entries with its pulled sources: newest first, deduplicated by id (the
 * reader's own entry wins, then the first source listing it), pulled entries taking the pulled
 * feed as origin, leaving out hidden pulled ids, entries older than the floor, and pulled entries
 * older than their source's `since`. Inputs must each be newest first. Stops after `limit` entries.
 */
export function mergeSources<E extends MergeEntry>(
  own: readonly E[],
  pulled: readonly PulledSource<E>[],
  view: ReaderView,
  limit = Infinity,
): E[] {
  const floor = view.floor === null ? null : idOrderKey(view.floor);
  // Each source with its order keys and a read position: a k-way merge (k is small).
  const heads = [{ list: own, keys: own.map((e) => idOrderKey(e.id)), pos: 0, origin: undefined as string | undefined, since: null as string | null }];
  for (const p of pulled) {
    heads.push({ list: p.entries, keys: p.entries.map((e) => idOrderKey(e.id)), pos: 0, origin: p.feed, since: p.since === null ? null : idOrderKey(p.since) });
  }
  const out: E[] = [];
  let last: string | null = null;
  while (out.length < limit) {
    let best = -1;
    let bestKey = '';
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i];
      // Skip what this source must not contribute.
      while (h.pos < h.list.length) {
        const k = h.keys[h.pos];
        const e = h.list[h.pos];
        const drop = (h.origin !== undefined && (view.hidden.has(e.id) || (h.since !== null && k < h.since))) || k === last;
        if (!drop) break;
        h.pos++;
      }
      if (h.pos >= h.list.length) continue;
      const k = h.keys[h.pos];
      if (best === -1 || k > bestKey) {
        best = i;
        bestKey = k;
      }
    }
    if (best === -1) break;
    if (floor !== null && bestKey < floor) break; // everything after is older still
    const h = heads[best];
    const e = h.list[h.pos++];
    out.push(h.origin === undefined ? e : ({ ...e, origin: h.origin } as E));
    last = bestKey;
  }
  return out;
}

/**
 * How many merged entries (see {@link mergeSources}) lie above a page's upper bound, counting at
 * most `max`: the sources as scanned for {@link MergeScanPlan.countAbove}.
 */
export function countMerged(own: readonly MergeEntry[], pulled: readonly PulledSource<MergeEntry>[], view: ReaderView, max: number): number {
  return mergeSources(own, pulled, view, max).length;
}

/**
 * The page of a merged read: the merged list of the scanned sources (scanned as
 * {@link planMergeScans} said, within the range's bounds), cut as a push-served feed of
 * `range.maxLength` entries would be. `above`: merged entries above the range's upper bound
 * (from {@link countMerged}; 0 when the plan asked for no count).
 */
export function mergeTimeline<E extends MergeEntry>(
  own: readonly E[],
  pulled: readonly PulledSource<E>[],
  view: ReaderView,
  range: MergeRange,
  above = 0,
): E[] {
  const max = range.maxLength ?? Infinity;
  let depth = range.offset + range.limit;
  if (range.idLt === undefined && range.idLte === undefined) depth = Math.min(depth, max);
  else depth = Math.min(depth, max - above);
  if (depth <= range.offset) return [];
  return mergeSources(own, pulled, view, depth).slice(range.offset);
}

/**
 * The id of the `maxLength`-th newest entry of a merged list, when it holds more than
 * `maxLength` (the oldest one a push-served feed would keep), else null: the floor to set when the
 * reader removes an activity it sees through the merge. The sources are scanned `maxLength + 1`
 * deep (plus the hidden count for pulled ones).
 */
export function oldestKept(own: readonly MergeEntry[], pulled: readonly PulledSource<MergeEntry>[], view: ReaderView, maxLength: number): string | null {
  if (pulled.length === 0) return null;
  const merged = mergeSources(own, pulled, view, maxLength + 1);
  return merged.length > maxLength ? merged[maxLength - 1].id : null;
}

/**
 * Which of the given entries of pulled sources a reader's merge shows, with the pulled feed as
 * origin, each id once (the first source listing it): entries written directly into their source
 * (origin null), at or after the source's `since`, and not hidden by the reader. The entries are
 * what a lookup by ids or by foreign id found in each source; the floor is not looked at (a
 * removal below it changes nothing). Used to remove or hide what a reader sees only through the
 * merge.
 */
export function pulledShown(pulled: readonly PulledSource<MergeEntry>[], hidden: ReadonlySet<string>): MergeEntry[] {
  const out = new Map<string, MergeEntry>();
  for (const p of pulled) {
    const since = p.since === null ? null : idOrderKey(p.since);
    for (const e of p.entries) {
      if (e.origin !== null || hidden.has(e.id) || out.has(e.id)) continue;
      if (since !== null && idOrderKey(e.id) < since) continue;
      out.set(e.id, { id: e.id, origin: p.feed });
    }
  }
  return [...out.values()];
}
