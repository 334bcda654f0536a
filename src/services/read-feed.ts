import { plainRenderer, type Renderer } from './enrich.js';
import { idOrderKey, isUuid } from '../core/activities/activity-id.js';
import { InputError } from '../core/errors.js';
import type { App, FeedGroup } from '../core/feeds/feed-group.js';
import type { FeedId } from '../core/feeds/feed-id.js';
import type { FeedScan, TimelineEntry, TimelineRange } from '../ports/timeline-store.js';
import type { PullSource } from '../ports/follow-store.js';
import { countMerged, mergeTimeline, planMergeScans, type ReaderView } from '../core/feeds/merge-timeline.js';
import type { Uses } from './context.js';
import { withoutFlagged } from './moderation.js';
import { activityBodies } from './read-parts.js';
import { recordingPorts } from './read-deps.js';
import { changeKey } from '../ports/change-marks.js';

/** What reading a flat feed uses (the feed, the pull-served feeds it merges, bodies, flags). */
export type ReadFeedDeps = Uses<'activities' | 'follows' | 'timelines', 'flags' | 'hideFlagged' | 'parts' | 'readDeps'>;

export const DEFAULT_LIMIT = 25;
export const MAX_LIMIT = 100;
export const MAX_OFFSET = 10_000;

/**
 * Query parameters of a feed read that select the page. A repeated parameter arrives as an array
 * (node's querystring); the first value counts, as everywhere else in the API.
 */
export interface PageQuery {
  limit?: string | string[];
  offset?: string | string[];
  id_lt?: string | string[];
  id_lte?: string | string[];
  id_gt?: string | string[];
  id_gte?: string | string[];
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Parses a non-negative integer parameter; 400/4 naming it otherwise. */
export function intParam(value: string | undefined, name: string, dflt: number, max: number, clamp: boolean): number {
  if (value === undefined || value === '') return dflt;
  if (!/^\s*\d+\s*$/.test(value)) throw new InputError(`${name} must be a non-negative integer`, { fields: { [name]: ['invalid'] } });
  const n = Number(value);
  if (n > max) {
    if (clamp) return max;
    throw new InputError(`${name} must be at most ${max}`, { fields: { [name]: ['too large'] } });
  }
  return n;
}

function idParam(value: string | undefined, name: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  const v = value.toLowerCase();
  if (!isUuid(v)) throw new InputError(`${name} must be an activity id`, { fields: { [name]: ['invalid'] } });
  return v;
}

/** Validates the paging parameters (limit clamped to 100, offset ≤ 10,000, id filters are ids). */
export function parsePage(q: PageQuery): TimelineRange {
  return {
    // limit=0 means the default page size, so `next` stays truthful.
    limit: intParam(first(q.limit), 'limit', DEFAULT_LIMIT, MAX_LIMIT, true) || DEFAULT_LIMIT,
    offset: intParam(first(q.offset), 'offset', 0, MAX_OFFSET, false),
    idLt: idParam(first(q.id_lt), 'id_lt'),
    idLte: idParam(first(q.id_lte), 'id_lte'),
    idGt: idParam(first(q.id_gt), 'id_gt'),
    idGte: idParam(first(q.id_gte), 'id_gte'),
  };
}

export interface FeedPage {
  /** Each activity as JSON text (stored form with origin); empty when `bytes` has them. */
  readonly results: string[];
  /** The activities as bytes joined by commas, in pieces, when the renderer made them so. */
  readonly bytes: Buffer[] | null;
  /** Id of the last activity when more follow it, else null. */
  readonly lastId: string | null;
}

/** A timeline entry with its activity's stored JSON (without origin). */
export type BodyEntry = TimelineEntry & { readonly body: string };

/**
 * Reads a page of a flat feed (§6.3): the feed's entries merged with those of the pull-served
 * feeds it follows (see {@link readTimeline}), looking one entry ahead to know whether a next
 * page exists. Activities are returned as ready JSON with `origin` spliced in; nothing is parsed
 * on plain reads.
 */
export async function readFeed(
  s: ReadFeedDeps,
  app: App,
  feed: FeedId,
  group: FeedGroup,
  range: TimelineRange,
  render: Renderer = plainRenderer,
): Promise<FeedPage> {
  const entries = await readTimeline(s, app.appId, feed.fid, { ...range, limit: range.limit + 1, maxLength: group.maxLength });
  const more = entries.length > range.limit;
  if (more) entries.length = range.limit;
  const shown = await withoutFlagged(s, app, entries);
  const bytes = render.bytes ? await render.bytes(shown) : null;
  const results = bytes === null ? await render(shown) : [];
  return { results, bytes, lastId: more && entries.length > 0 ? entries[entries.length - 1].id : null };
}

/**
 * The entries of `range` of flat feed `fid`, newest first, with their activities' stored JSON:
 * the feed's own entries merged with the direct entries of every pull-served feed it follows, as
 * a push-served feed of `range.maxLength` entries would hold them (the rule is the core's
 * `mergeTimeline`). A fixed number of store calls, issued together where they do not depend on
 * each other (docs/storage-ports.md, "The read path"):
 *
 * 1. the pull-served feeds the reader follows, and a scan of the reader's own entries;
 * 2. only when it follows some: the reader's floor and hidden ids, and one scan of every source;
 * 3. rarely: deeper scans of sources whose hidden ids left a page short, and, for a page deep in a
 *    feed longer than max_length, the count of merged entries above the page.
 */
export async function readTimeline(s: ReadFeedDeps, app: string, fid: string, range: TimelineRange): Promise<BodyEntry[]> {
  // Without the parts cache the scans read the bodies (one join), as every body would be read.
  if (s.parts === undefined) return (await timelineEntries(s, app, fid, range, true)) as BodyEntry[];
  // The ids first (a scan of the feed's index only), then the bodies, mostly from the parts cache.
  // The cache's look at the change marks starts with the scans (a look that begins after the
  // read did is all a read needs; on a networked store the look and the scans share one round trip).
  const look = s.parts.sync();
  look.catch(() => undefined);
  const entries = await keptEntries(s, app, fid, range, look);
  const bodies = await activityBodies(s, app, entries.map((e) => e.id), look);
  const out: BodyEntry[] = new Array(entries.length);
  for (let i = 0; i < entries.length; i++) {
    const body = bodies[i];
    // An entry whose activity is not stored (a removal racing a fan-out): the scans that join the
    // activities skip it and read on, so the page stays full.
    if (body === undefined) return (await timelineEntries(s, app, fid, range, true)) as BodyEntry[];
    out[i] = { id: entries[i].id, origin: entries[i].origin, body };
  }
  return out;
}

/** Most entries of a list kept by {@link keptEntries} (a page of 100 and the one looked ahead). */
export const MAX_KEPT_ENTRIES = MAX_LIMIT + 1;

/**
 * {@link readTimeline}'s entries without bodies, kept in the shared parts cache until a write
 * changes what they were read from: the feed and those it merges (their change keys, as the read
 * cache records them), and the app's key. A page made stale by something else (a like changes an
 * enriched page, not the feed) is then rebuilt without scanning the feed again, and the flat and
 * the enriched read of one page share one scan. The list's keys go into the read's dependencies,
 * so a page built from it depends on what a scan would have made it depend on.
 *
 * Exactness: the list is looked up after the cache's look (`look`, begun after the read began)
 * has ended, so a kept list is what a scan would return at a position at least as new as that of
 * the read; a list is read after that look ended and kept as built there, so a write of its keys
 * landing meanwhile leaves it unused (see `ChangeCache`).
 */
async function keptEntries(s: ReadFeedDeps, app: string, fid: string, range: TimelineRange, look: Promise<number>): Promise<TimelineEntry[]> {
  const cache = s.parts!;
  if (range.limit > MAX_KEPT_ENTRIES) return timelineEntries(s, app, fid, range, false);
  const at = await look;
  // The parts-cache space of the app's kept entry lists, keyed by {@link listKey}.
  const space = `e|${app}`;
  const key = listKey(fid, range);
  const kept = cache.peekIn(space, key);
  const readDeps = s.readDeps;
  if (kept !== undefined) {
    if (readDeps) for (const d of cache.depsIn(space, key)) readDeps.add(d);
    return decodeEntries(kept.toString());
  }
  const deps = new Set([changeKey.app(app)]);
  // The scans note their keys both in the list's dependencies and, through `s`, in the read's.
  const entries = await timelineEntries({ ports: recordingPorts(s.ports, deps) }, app, fid, range, false);
  if (readDeps) readDeps.add(changeKey.app(app));
  cache.putIn(space, key, at, deps, encodeEntries(entries));
  return entries;
}

/** Everything that selects the entries of a range of a feed. */
function listKey(fid: string, r: TimelineRange): string {
  return `${fid}|${r.limit}|${r.offset}|${r.maxLength ?? ''}|${r.idLt ?? ''}|${r.idLte ?? ''}|${r.idGt ?? ''}|${r.idGte ?? ''}`;
}

function encodeEntries(entries: readonly TimelineEntry[]): string {
  return JSON.stringify(entries.map((e) => [e.id, e.origin]));
}

function decodeEntries(text: string): TimelineEntry[] {
  return (JSON.parse(text) as [string, string | null][]).map(([id, origin]) => ({ id, origin }));
}

/** {@link readTimeline}'s entries, with their bodies read by the scans (`bodies`) or without. */
async function timelineEntries(s: Uses<'follows' | 'timelines'>, app: string, fid: string, range: TimelineRange, bodies: boolean): Promise<TimelineEntry[]> {
  const t = s.ports.timelines;
  const bounds = { idLt: range.idLt, idLte: range.idLte, idGt: range.idGt, idGte: range.idGte };
  const [sources, own] = await Promise.all([
    s.ports.follows.pullSources(app, fid),
    t.scan(app, { feed: fid, ...bounds, limit: range.limit, offset: range.offset, bodies }),
  ]);
  // Without pulled feeds the stored entries are the whole feed, trimmed to max_length on write.
  if (sources.length === 0) return own;

  // Each source is read only as deep as the page needs (offset + limit, capped by max_length).
  const depth = planMergeScans(range, 0, 0).depth;
  const sourceScan = (p: PullSource, limit: number): FeedScan => ({
    feed: p.feed,
    ...bounds,
    // `since`: the follower sees the pulled feed from where its follow's copy would have started.
    idGte: later(range.idGte, p.since),
    limit,
    directOnly: true,
    bodies,
  });
  const ownScan = range.offset > 0 ? [{ feed: fid, ...bounds, limit: depth, bodies }] : [];
  const [state, scanned] = await Promise.all([t.readerState(app, fid), t.scanMany(app, [...ownScan, ...sources.map((p) => sourceScan(p, depth))])]);
  const ownEntries = range.offset > 0 ? scanned[0] : own;
  const lists = range.offset > 0 ? scanned.slice(1) : scanned;
  const view: ReaderView = { floor: state.floor, hidden: new Set(state.hidden) };
  const plan = planMergeScans(range, state.count + sources.reduce((n, p) => n + p.count, 0), view.hidden.size);

  // A source scanned to full depth that lost entries to the reader's hides is read deeper.
  const deeper = view.hidden.size === 0 ? [] : sources.flatMap((_, i) => (lists[i].length >= depth && lists[i].some((e) => view.hidden.has(e.id)) ? [i] : []));
  const counting = plan.countAbove;
  if (deeper.length > 0 || counting !== null) {
    const scans: FeedScan[] = deeper.map((i) => sourceScan(sources[i], plan.depth));
    if (counting !== null) {
      // Entries above the page: at or above the upper bound (`idLt`), or above it (`idLte`).
      const above = (p: PullSource | null): FeedScan => {
        const from = counting.inclusive ? { idGte: p === null ? counting.from : later(counting.from, p.since) } : { idGt: counting.from, idGte: p?.since ?? undefined };
        return { feed: p === null ? fid : p.feed, ...from, limit: counting.limit, directOnly: p !== null };
      };
      scans.push(above(null), ...sources.map(above));
    }
    const more = await t.scanMany(app, scans);
    deeper.forEach((i, k) => (lists[i] = more[k]));
    if (counting !== null) {
      const tail = more.slice(deeper.length);
      const pulled = sources.map((p, i) => ({ feed: p.feed, since: p.since, entries: tail[i + 1] }));
      const n = countMerged(tail[0], pulled, view, range.maxLength ?? Infinity);
      return mergeTimeline(ownEntries, sources.map((p, i) => ({ feed: p.feed, since: p.since, entries: lists[i] })), view, range, n);
    }
  }
  return mergeTimeline(ownEntries, sources.map((p, i) => ({ feed: p.feed, since: p.since, entries: lists[i] })), view, range);
}

/** The later of two inclusive lower bounds (undefined or null: none). */
function later(a: string | undefined, b: string | null | undefined): string | undefined {
  if (a === undefined) return b ?? undefined;
  if (b === undefined || b === null) return a;
  return idOrderKey(a) >= idOrderKey(b) ? a : b;
}
