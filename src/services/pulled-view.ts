import { oldestKept as oldestKeptOf, pulledShown } from '../core/feeds/merge-timeline.js';
import type { StoragePorts } from '../ports/storage.js';
import type { TimelineEntry } from '../ports/timeline-store.js';

type Ports = { readonly ports: Pick<StoragePorts, 'follows' | 'timelines'> };

/**
 * The activities (by ids, or every one with a foreign id) that flat feed `feed` shows through the
 * merge of the pull-served feeds it follows and has not hidden, with origin = the pulled feed
 * (the core's `pulledShown`); whether the feed also holds an entry of them is not looked at.
 * Two rounds of calls: the reader's pulled sources, then its hidden ids with one lookup per
 * source (a reader follows few pull-served feeds).
 * @example pulledEntriesOf(s, '1', 'timeline:bob', { foreignId: 'post:42' }) // [{ id, origin: 'user:star' }]
 */
export async function pulledEntriesOf(
  s: Ports,
  app: string,
  feed: string,
  key: { readonly ids: readonly string[] } | { readonly foreignId: string },
): Promise<TimelineEntry[]> {
  if ('ids' in key && key.ids.length === 0) return [];
  const sources = await s.ports.follows.pullSources(app, feed);
  if (sources.length === 0) return [];
  const t = s.ports.timelines;
  const [state, found] = await Promise.all([
    t.readerState(app, feed),
    Promise.all(sources.map((p) => ('ids' in key ? t.entriesOf(app, p.feed, key.ids) : t.entriesByForeignId(app, p.feed, key.foreignId)))),
  ]);
  return pulledShown(
    sources.map((p, i) => ({ feed: p.feed, since: p.since, entries: found[i] })),
    new Set(state.hidden),
  );
}

/**
 * When the merged list of flat feed `feed` (its entries and those of the pull-served feeds it
 * follows, see `readTimeline`) holds more than `maxLength` entries, the id of its `maxLength`-th
 * newest: the oldest one a push-served feed would still hold, and so the floor to set when the
 * reader removes something it sees through the merge. Null otherwise, and for a feed that follows
 * no pull-served feed. Two rounds of calls: sources and reader state together, then one
 * keys-only `scanMany` `maxLength + 1` deep.
 */
export async function oldestKept(s: Ports, app: string, feed: string, maxLength: number): Promise<string | null> {
  const t = s.ports.timelines;
  const [sources, state] = await Promise.all([s.ports.follows.pullSources(app, feed), t.readerState(app, feed)]);
  if (sources.length === 0) return null;
  if (state.count + sources.reduce((n, p) => n + p.count, 0) <= maxLength) return null;
  const depth = maxLength + 1;
  const [own, ...lists] = await t.scanMany(app, [
    { feed, limit: depth },
    // Hidden ids drop out of a pulled source, so it is scanned that much deeper.
    ...sources.map((p) => ({ feed: p.feed, ...(p.since !== null ? { idGte: p.since } : {}), limit: depth + state.hidden.length, directOnly: true })),
  ]);
  return oldestKeptOf(
    own,
    sources.map((p, i) => ({ feed: p.feed, since: p.since, entries: lists[i] })),
    { floor: state.floor, hidden: new Set(state.hidden) },
    maxLength,
  );
}
