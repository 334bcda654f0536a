import { parseBody } from '../core/activities/activity.js';
import type { App } from '../core/feeds/feed-group.js';
import { formatActivityTime, formatTimestamp } from '../core/time.js';
import type { Clock } from '../ports/clock.js';
import type { FeedEvent, PubSub, RealtimeMessage } from '../ports/pubsub.js';
import type { StoragePorts } from '../ports/storage.js';

/** An entry a write added to a feed (with its group's key in aggregated and notification feeds). */
export interface ChangedEntry {
  readonly feed: string;
  readonly id: string;
  readonly origin: string | null;
  readonly group?: { readonly key: string };
}

/** Ids a write took out of a feed; `origin` null or absent: direct entries. */
export interface ChangedRemoval {
  readonly feed: string;
  readonly ids: readonly string[];
  readonly origin?: string | null;
}

/** Seen/read marks a write set on a notification feed: every group (`'all'`) or these ids. */
export interface MarkChange {
  readonly feed: string;
  readonly seen?: 'all' | readonly string[];
  readonly read?: 'all' | readonly string[];
}

/** What a write changed, as realtime publishing needs it (built from the per-feed operations' results). */
export interface ChangeSet {
  /** Activities the write stored (their bodies need no load). */
  readonly activities?: readonly ActivityFacts[];
  readonly entries?: readonly ChangedEntry[];
  readonly removals?: readonly ChangedRemoval[];
  readonly marks?: readonly MarkChange[];
}

export interface PublishChangesOptions {
  readonly pubsub: PubSub;
  readonly apps: ReadonlyMap<string, App>;
  readonly clock: Clock;
  /** Told when building or publishing events failed. The commit itself succeeded: the write stands. */
  readonly onError: (err: unknown) => void;
}

/** What one commit did to one listened feed. */
interface FeedChange {
  readonly notification: boolean;
  readonly added: ChangedEntry[];
  readonly removed: string[];
  seen?: 'all' | readonly string[];
  read?: 'all' | readonly string[];
}

/** The fields of an activity an event needs. */
interface ActivityFacts {
  readonly id: string;
  readonly timeUs: number;
  readonly foreignId: string;
  readonly body: string;
}

/** The reads publishing needs: bodies, notification counts, and the followers of pull-served feeds. */
export interface RealtimeReads {
  readonly activities: Pick<StoragePorts['activities'], 'getActivities'>;
  readonly groups: Pick<StoragePorts['groups'], 'groupCounts'>;
  readonly follows: Pick<StoragePorts['follows'], 'pullServed' | 'followersAmong'>;
}

/**
 * Publishes what a commit changed as realtime events (§19.3): entries become `new` activities,
 * removals `deleted` ids and foreign ids, notification marks `mark_seen` and `mark_read`, one event
 * per changed feed. It is the explicit step after every commit: use cases commit through
 * `commit()` in context.ts, which calls {@link RealtimePublisher.committed} once the batch is
 * durable — the API's use cases and the fan-out worker alike.
 *
 * Only feeds someone listens to (see {@link PubSub.isWatched}) in groups with realtime on are
 * considered; when no feed of the app is listened to, a commit costs one map lookup more. Bodies
 * missing from the batch are loaded in one `getActivities` call per commit, and only for listened
 * feeds. Events are published in commit order; `committed` resolves once its events are handed to
 * the pubsub. Publishing failures are reported, never thrown: the write is durable.
 *
 * Not published: entries removed by origin (unfollow cleanup; the store does not say which) and
 * activity updates (no entry changes).
 */
export class RealtimePublisher {
  readonly #reads: RealtimeReads;
  readonly #opts: PublishChangesOptions;
  #tail: Promise<void> = Promise.resolve();

  constructor(reads: RealtimeReads, opts: PublishChangesOptions) {
    this.#reads = reads;
    this.#opts = opts;
  }

  /** Whether anyone listens to a feed of `app` (one memory lookup): if not, a commit publishes nothing. */
  listening(app: string): boolean {
    return this.#opts.pubsub.hasWatchers(app);
  }

  /** Publishes the changes of `batch`, which was just committed for `app`. Never throws. */
  async committed(app: string, batch: ChangeSet): Promise<void> {
    const opts = this.#opts;
    if (!opts.pubsub.hasWatchers(app)) return;
    let events: Promise<FeedEvent[]>;
    try {
      let changes = collectChanges(opts, app, batch);
      changes = await addPulledChanges(this.#reads, opts, app, batch, changes);
      if (changes === null) return;
      // Loading starts now, so commits do not wait for each other's loads; publishing waits for
      // the previous commit's, so a feed's events never overtake each other.
      events = buildEvents(this.#reads, opts, app, batch, changes);
    } catch (err) {
      opts.onError(err);
      return;
    }
    const previous = this.#tail;
    const published = (async () => {
      try {
        const ready = await events;
        await previous;
        if (ready.length > 0) await opts.pubsub.publish(ready);
      } catch (err) {
        opts.onError(err);
      }
    })();
    this.#tail = published;
    await published;
  }
}

/** The changes of a batch to feeds that are listened to and have realtime on; null when none. */
function collectChanges(opts: PublishChangesOptions, app: string, batch: ChangeSet): Map<string, FeedChange> | null {
  const config = opts.apps.get(app);
  if (!config) return null;
  const changes = new Map<string, FeedChange>();
  const changeOf = (feed: string): FeedChange | null => {
    const known = changes.get(feed);
    if (known) return known;
    if (!opts.pubsub.isWatched(app, feed)) return null;
    const group = config.groups.get(feed.slice(0, feed.indexOf(':')));
    if (!group?.realtime) return null;
    const change: FeedChange = { notification: group.type === 'notification', added: [], removed: [] };
    changes.set(feed, change);
    return change;
  };
  if (batch.entries) for (const e of batch.entries) changeOf(e.feed)?.added.push(e);
  if (batch.removals) {
    for (const r of batch.removals) changeOf(r.feed)?.removed.push(...r.ids);
  }
  if (batch.marks) {
    for (const m of batch.marks) {
      const change = changeOf(m.feed);
      if (!change) continue;
      // Marking read marks seen too (§23.3), so listeners tracking unseen counts hear of it.
      change.seen = mergeMarks(mergeMarks(change.seen, m.seen), m.read);
      change.read = mergeMarks(change.read, m.read);
    }
  }
  return changes.size > 0 ? changes : null;
}

/**
 * Followers of pull-served feeds get no entries on write (they merge the feed in when they read),
 * so a direct write to such a feed is also announced on every listened flat feed that follows it,
 * with origin = that feed. Costs nothing unless the batch writes or removes direct entries and
 * some flat feed of the app is listened to; then one query for the pull flags and one per pulled
 * feed for its listened followers.
 */
async function addPulledChanges(
  store: RealtimeReads,
  opts: PublishChangesOptions,
  app: string,
  batch: ChangeSet,
  changes: Map<string, FeedChange> | null,
): Promise<Map<string, FeedChange> | null> {
  const config = opts.apps.get(app);
  if (!config) return changes;
  const added = new Map<string, ChangedEntry[]>();
  const removed = new Map<string, string[]>();
  for (const e of batch.entries ?? []) if (e.origin === null) (added.get(e.feed) ?? added.set(e.feed, []).get(e.feed)!).push(e);
  for (const r of batch.removals ?? []) if (r.origin === null || r.origin === undefined) (removed.get(r.feed) ?? removed.set(r.feed, []).get(r.feed)!).push(...r.ids);
  if (added.size === 0 && removed.size === 0) return changes;
  const listeners = opts.pubsub.watchedFeeds(app).filter((f) => {
    const g = config.groups.get(f.slice(0, f.indexOf(':')));
    return g?.type === 'flat' && g.realtime;
  });
  if (listeners.length === 0) return changes;
  const pulled = await store.follows.pullServed(app, [...new Set([...added.keys(), ...removed.keys()])]);
  if (pulled.size === 0) return changes;
  const out = changes ?? new Map<string, FeedChange>();
  for (const source of pulled) {
    for (const feed of await store.follows.followersAmong(app, source, listeners.filter((f) => f !== source))) {
      let c = out.get(feed);
      if (!c) out.set(feed, (c = { notification: false, added: [], removed: [] }));
      for (const e of added.get(source) ?? []) c.added.push({ ...e, feed, origin: source, group: undefined });
      c.removed.push(...(removed.get(source) ?? []));
    }
  }
  return out.size > 0 ? out : null;
}

function mergeMarks(a: MarkChange['seen'], b: MarkChange['seen']): MarkChange['seen'] {
  if (b === undefined) return a;
  if (a === undefined) return b;
  if (a === 'all' || b === 'all') return 'all';
  return [...new Set([...a, ...b])];
}

async function buildEvents(
  store: RealtimeReads,
  opts: PublishChangesOptions,
  app: string,
  batch: ChangeSet,
  changes: Map<string, FeedChange>,
): Promise<FeedEvent[]> {
  const facts = new Map<string, ActivityFacts>();
  if (batch.activities) for (const a of batch.activities) facts.set(a.id, a);
  const missing = new Set<string>();
  const counted: string[] = [];
  for (const [feed, c] of changes) {
    for (const e of c.added) if (!facts.has(e.id)) missing.add(e.id);
    for (const id of c.removed) if (!facts.has(id)) missing.add(id);
    if (c.notification) counted.push(feed);
  }
  // Removed activities stay stored (only entries go), so their foreign ids can be read afterwards.
  const [loaded, counts] = await Promise.all([
    missing.size > 0 ? store.activities.getActivities(app, [...missing]) : null,
    Promise.all(counted.map((feed) => store.groups.groupCounts(app, feed))),
  ]);
  if (loaded) for (const [id, a] of loaded) facts.set(id, a);
  const countOf = new Map(counted.map((feed, i) => [feed, counts[i]]));

  const parsed = new Map<string, Record<string, unknown>>();
  const publishedAt = formatTimestamp(opts.clock.nowUs());
  const events: FeedEvent[] = [];
  for (const [feed, c] of changes) {
    const added: Record<string, unknown>[] = [];
    const addedIds = new Set<string>();
    for (const e of c.added) {
      const a = facts.get(e.id);
      if (!a || addedIds.has(e.id)) continue;
      addedIds.add(e.id);
      let obj = parsed.get(e.id);
      if (!obj) parsed.set(e.id, (obj = parseBody(a.body)));
      // Same key order as feed reads: origin first (activity.ts withOrigin).
      added.push(e.group ? { origin: e.origin, ...obj, group: e.group.key } : { origin: e.origin, ...obj });
    }
    const deleted = [...new Set(c.removed)];
    const foreign: [string, string][] = [];
    for (const id of deleted) {
      const a = facts.get(id);
      if (a && a.foreignId !== '') foreign.push([a.foreignId, formatActivityTime(a.timeUs)]);
    }
    if (added.length === 0 && deleted.length === 0 && c.seen === undefined && c.read === undefined) continue;
    const count = countOf.get(feed);
    const message: RealtimeMessage = {
      feed,
      app_id: app,
      new: added,
      deleted,
      deleted_foreign_ids: foreign,
      ...(c.seen !== undefined ? { mark_seen: c.seen } : {}),
      ...(c.read !== undefined ? { mark_read: c.read } : {}),
      ...(count ? { unseen: count.unseen, unread: count.unread } : {}),
      published_at: publishedAt,
    };
    events.push({ app, feed, message });
  }
  return events;
}
