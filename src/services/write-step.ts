import { markGroups, placeInGroups, removeFromGroups, removeOriginFromGroups, oldestNeeded, type GroupChange, type GroupsRead, type Placement } from '../core/aggregation/groups.js';
import { StoreError } from '../core/errors.js';
import { emptyPlan, isGroupedFeed, PlanActivities, planAdd, planFollowers, type FanoutPlan, type PlanActivity } from '../core/fanout/plan.js';
import { DEFAULT_MAX_LENGTH } from '../core/feeds/feed-group.js';
import type { App } from '../core/feeds/feed-group.js';
import { addReach } from '../core/feeds/pull-switch.js';
import type { ActivityRecord } from '../ports/activity-store.js';
import type { FeedGroups, GroupAsk, GroupWrite, StoredGroup } from '../ports/group-store.js';
import type { CommittedStep, Intent, QueuedIntent, WriteStep } from '../ports/intent-queue.js';
import type { ApplyOptions, FeedOp } from '../ports/timeline-store.js';
import type { Services, Uses } from './context.js';
import type { ChangeSet, ChangedEntry, ChangedRemoval, MarkChange } from './publish-changes.js';

/** What the write path uses: the intent queue (the atomic step), then the per-feed operations. */
export type WriteDeps = Uses<'follows' | 'groups' | 'intents' | 'timelines', 'fanout' | 'onJobsEnqueued' | 'realtime'>;
/** What applying per-feed operations uses (`realtime`: whether anyone listens to what changed). */
export type FeedWorkDeps = Uses<'groups' | 'timelines', 'realtime'>;

/**
 * The write path (docs/storage-ports.md): one atomic step per written thing with its durable
 * intents ({@link IntentQueue.commit}), then per-feed operations — the written feeds themselves,
 * then the followers of small fan-outs — then the intents' completion and the realtime events of
 * what changed. Large fan-outs are left to the worker, which applies the same operations from the
 * intent page by page ({@link applyIntentPage}).
 *
 * Order, and why: a write first makes its direct entries visible and only then reads the
 * followers it spreads them to; a follow first commits its edge and only then reads the entries
 * it copies. Whichever of a post and a follow comes second sees the other, so a new follower never
 * misses a post that was being written while it followed.
 */

/** What a write does to feeds after its step: built by a use case, applied by {@link applyFeedWork}. */
export class FeedWork {
  /** Flat entry adds and group placements (the core planner's output). */
  readonly plan: FanoutPlan = emptyPlan();
  /** Other per-feed operations in order (remove, removeOrigin, hide, unhide); grouped feeds' removals go to their groups. */
  readonly ops: FeedOp[] = [];
  /** Seen/read marks of notification feeds. */
  readonly marks: MarkChange[] = [];
  /** Ids hidden from a feed that realtime listeners hear of as deleted there. */
  readonly announced: ChangedRemoval[] = [];
  readonly #acts: Map<string, PlanActivity>;
  #planActs: PlanActivities | null = null;

  constructor(acts: Iterable<PlanActivity> = []) {
    this.#acts = new Map([...acts].map((a) => [a.id, a]));
  }

  /** The activities placed by this work (group keys need their fields). */
  get activities(): PlanActivities {
    return (this.#planActs ??= new PlanActivities(this.#acts.values()));
  }

  /** Puts `id` into `feed` with `origin` (a flat entry or a group placement). */
  add(app: App, feed: string, id: string, origin: string | null): void {
    planAdd(this.plan, app, feed, id, origin, this.activities);
  }

  get empty(): boolean {
    return this.plan.adds.length === 0 && this.plan.placements.size === 0 && this.plan.removals.length === 0 && this.ops.length === 0 && this.marks.length === 0 && this.announced.length === 0;
  }
}

/** Feed changes of a write, for realtime events (merged over every part of the write). */
export class Changes {
  readonly entries: ChangedEntry[] = [];
  readonly removals: ChangedRemoval[] = [];
  readonly marks: MarkChange[] = [];

  merge(c: Changes): void {
    this.entries.push(...c.entries);
    this.removals.push(...c.removals);
    this.marks.push(...c.marks);
  }

  get empty(): boolean {
    return this.entries.length === 0 && this.removals.length === 0 && this.marks.length === 0;
  }
}

/** Rounds of read-merge-write a grouped feed gets when other writers keep changing it meanwhile. */
const MAX_GROUP_ROUNDS = 20;

/** Groups of a feed read for a removal by origin: all of them (a feed keeps at most its max groups). */
const ALL_GROUPS = 1_000_000;

interface GroupTask {
  readonly placements: Placement[];
  readonly removals: { ids: readonly string[]; origin?: string | null }[];
  readonly origins: string[];
  marks?: { seen?: 'all' | readonly string[]; read?: 'all' | readonly string[] };
  limits: { maxGroups: number; maxPerGroup: number };
}

/**
 * Applies `work`: flat operations through {@link TimelineStore.apply}, group changes through
 * {@link GroupStore.readForMerge} → core merge → {@link GroupStore.writeGroups} (again on a
 * version conflict), both at once. Returns what changed, for realtime events. Every operation is
 * idempotent, so applying the same work twice leaves the feeds as once. `opts.covered`: a
 * durable intent redoes this work after a crash (see {@link ApplyOptions}).
 */
export async function applyFeedWork(s: FeedWorkDeps, app: App, work: FeedWork, opts: ApplyOptions = {}): Promise<Changes> {
  const flat: FeedOp[] = [];
  const groups = new Map<string, GroupTask>();
  const taskOf = (feed: string): GroupTask => {
    let t = groups.get(feed);
    if (!t) {
      const g = app.groups.get(feed.slice(0, feed.indexOf(':')))!;
      groups.set(feed, (t = { placements: [], removals: [], origins: [], limits: { maxGroups: g.maxGroups, maxPerGroup: g.maxGroupActivities } }));
    }
    return t;
  };
  // Removals before adds (a write never removes what it adds: the order only matters for replays).
  for (const op of work.ops) {
    if (!isGroupedFeed(app, op.feed)) flat.push(op);
    else if (op.kind === 'remove') taskOf(op.feed).removals.push({ ids: op.ids, origin: op.origin });
    else if (op.kind === 'removeOrigin') taskOf(op.feed).origins.push(op.origin);
  }
  for (const r of work.plan.removals) {
    if (r.grouped) taskOf(r.feed).removals.push({ ids: r.ids, origin: r.origin });
    else flat.push({ kind: 'remove', feed: r.feed, ids: r.ids, origin: r.origin });
  }
  for (const a of work.plan.adds) flat.push({ kind: 'add', feed: a.feed, entries: a.entries, maxLength: a.maxLength });
  for (const [feed, list] of work.plan.placements) {
    const t = taskOf(feed);
    t.placements.push(...list);
    t.limits = work.plan.limits.get(feed) ?? t.limits;
  }
  for (const m of work.marks) taskOf(m.feed).marks = { seen: m.seen, read: m.read };

  const out = new Changes();
  // The flat feeds' change records only serve realtime events: without a listener the store
  // need not build them (a fan-out chunk's are one record per follower).
  const changes = opts.changes ?? (s.realtime !== undefined && (s.realtime.listening?.(app.appId) ?? true));
  // Realtime shows what the operations asked for and did: entries really added, and the removed
  // ids a removal named (not the trims an add made). Taken before the operations are handed over,
  // so that neither they nor `work` are kept while the store applies them.
  const asked = new Map<string, { ids: Set<string>; origin?: string | null }[]>();
  for (const op of flat) {
    if (op.kind !== 'remove') continue;
    const list = asked.get(op.feed) ?? asked.set(op.feed, []).get(op.feed)!;
    list.push({ ids: new Set(op.ids), origin: op.origin });
  }
  const { announced, marks } = work;
  const [flatChanges] = await Promise.all([
    flat.length > 0 ? s.ports.timelines.apply(app.appId, flat, changes ? opts : { ...opts, changes: false }) : [],
    groups.size > 0 ? mergeGroups(s, app, groups, out, opts) : undefined,
  ]);
  for (const c of flatChanges) {
    for (const e of c.added) out.entries.push({ feed: c.feed, id: e.id, origin: e.origin });
    if (c.removed.length === 0) continue;
    for (const r of asked.get(c.feed) ?? []) {
      const ids = c.removed.filter((id) => r.ids.has(id));
      if (ids.length > 0) out.removals.push({ feed: c.feed, ids, origin: r.origin });
    }
  }
  out.removals.push(...announced);
  out.marks.push(...marks);
  return out;
}

/** The read of one feed's groups a task needs. */
function askOf(feed: string, t: GroupTask): GroupAsk {
  const ids = t.placements.map((p) => p.id);
  const marked = t.marks ? [t.marks.seen, t.marks.read].flatMap((m) => (Array.isArray(m) ? m : [])) : [];
  return {
    feed,
    keys: [...new Set(t.placements.map((p) => p.key))],
    ids: [...ids, ...marked],
    entryIds: [...ids, ...t.removals.flatMap((r) => r.ids)],
    oldest: t.origins.length > 0 ? ALL_GROUPS : oldestNeeded(t.placements.length),
  };
}

/** The core's changes of one task over one read, as one write; null when nothing changes. */
function computeGroups(read: FeedGroups, t: GroupTask): { write: GroupWrite | null; added: Placement[]; removed: string[] } {
  const existed = new Set(read.groups.map((g) => g.id));
  const before = new Set(read.groups.flatMap((g) => g.entries.map((e) => e.id)));
  let state: GroupsRead = { counts: read.counts, groups: read.groups };
  const put = new Map<string, StoredGroup>();
  const dropped = new Set<string>();
  let markAll: GroupChange['markAll'];
  const take = (c: GroupChange | null) => {
    if (!c) return;
    if (c.markAll) markAll = { seen: true, read: (markAll?.read ?? false) || c.markAll.read };
    const byId = new Map(state.groups.map((g) => [g.id, g]));
    for (const id of c.drop) {
      byId.delete(id);
      put.delete(id);
      dropped.add(id);
    }
    for (const g of c.put) {
      byId.set(g.id, g);
      put.set(g.id, g);
      dropped.delete(g.id);
    }
    state = { counts: c.counts, groups: [...byId.values()] };
  };
  for (const origin of t.origins) take(removeOriginFromGroups(state, origin));
  for (const r of t.removals) take(removeFromGroups(state, r.ids, r.origin));
  if (t.placements.length > 0) {
    const c = placeInGroups(state, t.placements, t.limits);
    // Groups this merge created and dropped again are simply not written.
    if (c) take({ ...c, drop: c.drop });
  }
  if (t.marks) take(markGroups(state, t.marks.seen, t.marks.read));
  const drop = [...dropped].filter((id) => existed.has(id));
  if (put.size === 0 && drop.length === 0 && markAll === undefined) return { write: null, added: [], removed: [] };
  const after = new Set(state.groups.flatMap((g) => g.entries.map((e) => e.id)));
  const asked = new Set(t.removals.flatMap((r) => r.ids));
  return {
    write: { feed: read.feed, version: read.version, put: [...put.values()], drop, counts: state.counts, ...(markAll ? { markAll } : {}) },
    added: t.placements.filter((p) => after.has(p.id) && !before.has(p.id)),
    removed: [...before].filter((id) => !after.has(id) && (asked.has(id) || t.origins.length > 0)),
  };
}

async function mergeGroups(s: Uses<'groups'>, app: App, tasks: Map<string, GroupTask>, out: Changes, opts: ApplyOptions): Promise<void> {
  let left = [...tasks.keys()];
  for (let round = 0; left.length > 0; round++) {
    if (round === MAX_GROUP_ROUNDS) throw new StoreError(`groups of ${left[0]} kept changing during a merge`, null, { transient: true });
    const reads = await s.ports.groups.readForMerge(app.appId, left.map((feed) => askOf(feed, tasks.get(feed)!)));
    const results = reads.map((r) => ({ feed: r.feed, ...computeGroups(r, tasks.get(r.feed)!) }));
    const writes = results.flatMap((r) => (r.write ? [r.write] : []));
    const conflicts = new Set(writes.length > 0 ? await s.ports.groups.writeGroups(app.appId, writes, opts) : []);
    for (const r of results) {
      if (conflicts.has(r.feed)) continue;
      for (const p of r.added) out.entries.push({ feed: r.feed, id: p.id, origin: p.origin, group: { key: p.key } });
      if (r.removed.length > 0) out.removals.push({ feed: r.feed, ids: r.removed });
    }
    left = [...conflicts];
  }
}

/** A change that followers of `source` must receive: `ids` added to or removed from it directly. */
export interface Spread {
  readonly kind: Intent['kind'];
  readonly source: string;
  readonly ids: readonly string[];
}

/** Which followers an intent reaches, from the source's serving mode (see pull-switch.ts). */
function reachOf(app: App, kind: Intent['kind'], pulled: boolean): 'all' | 'grouped' | 'none' {
  if (kind !== 'fanout.add') return 'all';
  return addReach(pulled, [...app.groups.values()].some((g) => g.type !== 'flat'));
}

/**
 * The intents of `spreads`: `inline` when the source has at most `inlineMaxFollowers` followers
 * to reach, `queued` above; none for a source with no follower to reach (the write itself still
 * looks for followers after its direct entries, see {@link runWrite}). One intent per spread, in
 * order (null where none). One pull-flag read and one follower read per source, issued together.
 */
export async function planIntents(s: Uses<'follows', 'fanout'>, app: App, spreads: readonly Spread[]): Promise<(Intent | null)[]> {
  if (spreads.length === 0) return [];
  const max = s.fanout.inlineMaxFollowers;
  const pulled = await s.ports.follows.pullServed(app.appId, [...new Set(spreads.map((x) => x.source))]);
  // One follower read per source and kind, however many spreads (activities) it has.
  const modes = new Map<string, Promise<Intent['mode'] | null>>();
  const modeOf = (x: Spread): Promise<Intent['mode'] | null> => {
    const k = `${x.kind}\u0000${x.source}`;
    let m = modes.get(k);
    if (!m) {
      const reach = reachOf(app, x.kind, pulled.has(x.source));
      m =
        reach === 'none'
          ? Promise.resolve(null)
          : s.ports.follows.followerPage(app.appId, x.source, null, reach === 'grouped' ? max + 1 : 1, reach === 'grouped').then((page) => {
              const n = reach === 'grouped' ? page.followers.length : page.total;
              return n === 0 ? null : n > max ? 'queued' : 'inline';
            });
      modes.set(k, m);
    }
    return m;
  };
  return Promise.all(
    spreads.map(async (x): Promise<Intent | null> => {
      if (x.ids.length === 0) return null;
      const mode = await modeOf(x);
      return mode === null ? null : { kind: x.kind, source: x.source, ids: x.ids, mode };
    }),
  );
}

/**
 * One page of an intent: the operations for up to `limit` followers of `source` after `cursor`.
 * For `fanout.add` every id goes into every follower (origin `source`; only grouped followers when
 * the source is served by pull); for `fanout.remove` every id leaves every follower where it came
 * from `source`, and followers of a pull-served source forget their hides of it.
 */
export async function followerWork(
  s: Uses<'follows'>,
  app: App,
  x: Spread,
  pulled: boolean,
  cursor: string | null,
  limit: number,
  acts: () => Promise<PlanActivities>,
): Promise<{ work: FeedWork; next: string | null; followers: number }> {
  const work = new FeedWork();
  const reach = reachOf(app, x.kind, pulled);
  if (reach === 'none' || x.ids.length === 0) return { work, next: null, followers: 0 };
  const page = await s.ports.follows.followerPage(app.appId, x.source, cursor, limit, reach === 'grouped');
  const feeds = page.followers.map((f) => f.feed);
  const grouped = page.followers.some((f) => f.grouped);
  planFollowers(work.plan, app, x.kind, x.source, x.ids, feeds, x.kind === 'fanout.add' && grouped ? await acts() : null);
  if (x.kind === 'fanout.remove' && pulled) {
    for (const f of page.followers) if (!f.grouped) work.ops.push({ kind: 'unhide', feed: f.feed, ids: x.ids });
  }
  return { work, next: page.cursor, followers: feeds.length };
}

/** What {@link runWrite} does besides the step. */
export interface WriteParts {
  /** Per-feed operations on the written feeds themselves (applied before any follower is read). */
  readonly work: FeedWork;
  /** Changes followers must receive: applied here for small fan-outs, by the worker for large ones. */
  readonly spreads: readonly Spread[];
  /** The intent of each spread, in order (from {@link planIntents}); null: nothing to queue. */
  readonly intents: readonly (Intent | null)[];
  /** Activities the write stored (realtime events carry their bodies). */
  readonly activities?: readonly ActivityRecord[];
  /** Other writes handed over with the step (same turn: one transaction on the embedded store). */
  readonly beside?: () => Promise<unknown>;
  /**
   * `work` is handed over together with the step instead of after it: set by writes whose step
   * cannot be refused (an activity upsert, no reaction id to conflict) and whose direct operations
   * read nothing the step writes. The embedded store then commits both in one transaction with one
   * fsync (its group commit takes the writes of one turn together); elsewhere the two may land in
   * either order, and the write is acknowledged once both did. A failed step leaves at most entries
   * of an activity that does not exist, which reads skip.
   */
  readonly workWithStep?: boolean;
}

/**
 * Runs a write: commits `steps` (each with the intents the caller put in it), applies the direct
 * operations, then the small fan-outs page by page, completes their intents, wakes the worker for
 * queued ones and publishes the changes. Resolves once every follower of a small fan-out holds
 * the change (a read after the response sees it). Returns the committed steps.
 */
export async function runWrite(s: WriteDeps, app: App, steps: readonly WriteStep[], parts: WriteParts): Promise<CommittedStep[]> {
  // A worker spreads only what it finds written directly in an intent's source (that is how it
  // tells a stale intent), so a large fan-out's intent must not be claimable before this write's
  // own entries in its source are visible. Where the store keeps the order of the writes handed
  // to it (IntentQueue.ordered) and those entries are flat adds handed over with the step (below,
  // before it), the intent is committed `queued` at once. Otherwise it is committed `inline`
  // first and released to the workers once the own operations landed (IntentQueue.release); a
  // crash in between leaves the inline intent, which a worker repairs whole after its lease.
  const queues = steps.some((st) => st.intents?.some((i) => i.mode === 'queued'));
  const direct = queues && parts.workWithStep === true && s.ports.intents.ordered === true ? directAdds(parts.work) : null;
  const held = (i: Intent) => i.mode === 'queued' && !(i.kind === 'fanout.add' && direct !== null && i.ids.every((id) => direct.has(`${i.source}\u0000${id}`)));
  const first = steps.map((st) => {
    if (!queues || !st.intents?.some(held)) return st;
    return { ...st, intents: st.intents.map((i) => (held(i) ? { ...i, mode: 'inline' as const } : i)) };
  });
  // The direct operations go with the step when the caller allows it (one transaction and one
  // fsync on the embedded store), else right after it. Handed over first: an ordered store then
  // never shows the step without them.
  // Small fan-outs of adds go with the step too where the store spreads them itself (see
  // TimelineStore.spread): it reads the followers in the step's transaction, after the step, so a
  // concurrent follow sees the post or is seen by it, and the answer waits for one commit.
  const spreading = parts.workWithStep === true && s.ports.intents.ordered === true && s.ports.timelines.spread !== undefined ? await spreadable(s, app, parts) : null;
  const own = parts.work.empty ? Promise.resolve(new Changes()) : parts.workWithStep === true ? applyFeedWork(s, app, parts.work) : null;
  const [committed, , , spread] = await Promise.all([
    first.length > 0 ? s.ports.intents.commit(app.appId, first) : Promise.resolve([] as CommittedStep[]),
    parts.beside?.(),
    own,
    spreading === null ? null : spreadWithStep(s, app, spreading, parts.work),
  ]);
  const changes = await (own ?? applyFeedWork(s, app, parts.work));
  if (spread) changes.merge(spread);
  // Stored intents in the order of the steps' intents (commit keeps it): those committed inline
  // but planned queued are released, those committed queued are the workers' already, the others
  // are this write's to apply.
  const release: string[] = [];
  let queued = false;
  const stored = new Map<string, QueuedIntent[]>();
  committed.forEach((c, k) => {
    c.intents.forEach((i, j) => {
      if (steps[k].intents?.[j]?.mode === 'queued') {
        if (first[k].intents?.[j]?.mode === 'queued') queued = true;
        else release.push(i.id);
        return;
      }
      const key = `${i.kind}\u0000${i.source}\u0000${i.ids.join(',')}`;
      (stored.get(key) ?? stored.set(key, []).get(key)!).push(i);
    });
  });
  // The release holds up neither the disk nor the answer: the step's inline intents are durable,
  // a claim made after this call sees it, and a lost or failed release only leaves them to a
  // worker once their lease ran out. The worker is woken once it landed.
  if (release.length > 0) {
    void s.ports.intents
      .release(release)
      .catch(() => undefined)
      .then(() => s.onJobsEnqueued());
  } else if (queued) s.onJobsEnqueued();
  const inline: string[] = [];
  // Spreads without a queued intent are applied here; merged per source and kind. When every one
  // of them has its inline intent committed, the follower pages are covered by those intents.
  const here = new Map<string, { x: Spread; ids: string[] }>();
  let covered = true;
  parts.spreads.forEach((x, i) => {
    const planned = parts.intents[i];
    if (planned?.mode === 'queued') return;
    const q = planned ? stored.get(`${planned.kind}\u0000${planned.source}\u0000${planned.ids.join(',')}`)?.shift() : undefined;
    if (q) inline.push(q.id);
    // Spread by the store with the step (the followers it skipped were placed there too).
    if (spreading?.has(x.source) === true && x.kind === 'fanout.add') return;
    if (!q) covered = false;
    const k = `${x.kind}\u0000${x.source}`;
    const m = here.get(k);
    if (m) m.ids.push(...x.ids);
    else here.set(k, { x, ids: [...x.ids] });
  });
  if (here.size > 0) {
    const acts = async () => parts.work.activities;
    const list = [...here.values()].map((m) => ({ ...m.x, ids: [...new Set(m.ids)] }));
    const pulled = await s.ports.follows.pullServed(app.appId, [...new Set(list.map((x) => x.source))]);
    let pending = list.map((x) => ({ x, cursor: null as string | null }));
    while (pending.length > 0) {
      const pages = await Promise.all(pending.map((p) => followerWork(s, app, p.x, pulled.has(p.x.source), p.cursor, s.fanout.chunkSize, acts)));
      const work = new FeedWork();
      for (const p of pages) mergeWork(work, p.work);
      if (!work.empty) changes.merge(await applyFeedWork(s, app, work, { covered }));
      pending = pending.flatMap((p, i) => (pages[i].next === null ? [] : [{ x: p.x, cursor: pages[i].next }]));
    }
  }
  // The completion is bookkeeping: once the pages landed, a lost completion only makes a worker
  // redo idempotent operations after the intent's lease. Where the queue's reads see the writes
  // handed over before them (IntentQueue.ordered), the answer does not wait for it.
  // Lazy where nobody waits for it: it may go with the next write rather than on its own.
  const completed = inline.length > 0 ? s.ports.intents.complete(inline, s.ports.intents.ordered === true) : undefined;
  if (s.ports.intents.ordered === true) completed?.catch(() => undefined);
  await Promise.all([s.ports.intents.ordered === true ? undefined : completed, publish(s, app, changes, parts.activities)]);
  return committed;
}

/**
 * The sources whose small fan-out of adds the store can spread with the step (see
 * TimelineStore.spread), with the ids each spreads: every `fanout.add` spread not left to a
 * worker, from a source served by push (a pull-served source reaches only grouped followers,
 * through follower pages). Null when there is none.
 */
async function spreadable(s: WriteDeps, app: App, parts: WriteParts): Promise<Map<string, { ids: string[]; covered: boolean }> | null> {
  const out = new Map<string, { ids: string[]; covered: boolean }>();
  parts.spreads.forEach((x, i) => {
    if (x.kind !== 'fanout.add' || x.ids.length === 0 || parts.intents[i]?.mode === 'queued') return;
    const covered = parts.intents[i] !== null && parts.intents[i] !== undefined;
    const m = out.get(x.source);
    if (m === undefined) out.set(x.source, { ids: [...x.ids], covered });
    else {
      m.ids.push(...x.ids);
      m.covered &&= covered;
    }
  });
  if (out.size === 0) return null;
  const pulled = await s.ports.follows.pullServed(app.appId, [...out.keys()]);
  for (const source of pulled) out.delete(source);
  return out.size === 0 ? null : out;
}

/**
 * Hands each source's spread to the store in this turn (with the step: one transaction on the
 * embedded store), then places the followers it skipped (grouped feeds) through their groups,
 * covered where every spread of the source has its inline intent in the step.
 */
async function spreadWithStep(s: WriteDeps, app: App, spreading: ReadonlyMap<string, { ids: string[]; covered: boolean }>, own: FeedWork): Promise<Changes> {
  const t = s.ports.timelines;
  const maxLengths: Record<string, number> = {};
  const skipGroups: string[] = [];
  for (const g of app.groups.values()) {
    if (g.type !== 'flat' && g.groupKey) skipGroups.push(g.name);
    else maxLengths[g.name] = g.maxLength;
  }
  const changes = s.realtime !== undefined && (s.realtime.listening?.(app.appId) ?? true);
  const sent = [...spreading].map(([source, m]) => {
    const ids = [...new Set(m.ids)];
    return t.spread!(app.appId, source, ids, { maxLengths, defaultMaxLength: DEFAULT_MAX_LENGTH, skipGroups, changes }).then((r) => ({ source, ids, covered: m.covered, ...r }));
  });
  const out = new Changes();
  const rest = new FeedWork();
  let covered = true;
  for (const r of await Promise.all(sent)) {
    for (const c of r.changes) for (const e of c.added) out.entries.push({ feed: c.feed, id: e.id, origin: e.origin });
    if (r.skipped.length === 0) continue;
    planFollowers(rest.plan, app, 'fanout.add', r.source, r.ids, r.skipped, own.activities);
    covered &&= r.covered;
  }
  if (!rest.empty) out.merge(await applyFeedWork(s, app, rest, { covered }));
  return out;
}

/**
 * The direct flat entries `work` adds (`feed` NUL `id`, origin null): applied by the store's
 * timeline operation, which {@link applyFeedWork} hands over before it first waits.
 */
function directAdds(work: FeedWork): Set<string> {
  const out = new Set<string>();
  for (const a of work.plan.adds) for (const e of a.entries) if (e.origin === null) out.add(`${a.feed}\u0000${e.id}`);
  return out;
}

/** Adds `from`'s planned operations to `into` (in order). */
export function mergeWork(into: FeedWork, from: FeedWork): void {
  into.plan.adds.push(...from.plan.adds);
  into.plan.removals.push(...from.plan.removals);
  for (const [feed, list] of from.plan.placements) {
    const mine = into.plan.placements.get(feed);
    if (mine) mine.push(...list);
    else into.plan.placements.set(feed, [...list]);
    into.plan.limits.set(feed, from.plan.limits.get(feed)!);
  }
  into.ops.push(...from.ops);
  into.marks.push(...from.marks);
  into.announced.push(...from.announced);
}

/** Publishes a write's changes to realtime listeners (the explicit step after a write); never throws. */
export async function publish(s: Pick<Services, 'realtime'>, app: App, changes: Changes, activities?: readonly ActivityRecord[]): Promise<void> {
  if (!s.realtime || changes.empty) return;
  const set: ChangeSet = { activities, entries: changes.entries, removals: changes.removals, marks: changes.marks };
  await s.realtime.committed(app.appId, set);
}

/** The plan activities of stored records. */
export function planActivities(records: Iterable<ActivityRecord>): PlanActivity[] {
  return [...records].map((a) => ({ id: a.id, timeUs: a.timeUs, body: a.body }));
}

/** Puts activity `id` into `feeds` directly (origin null), spreading it to their followers. */
export function placeDirect(app: App, work: FeedWork, spreads: Spread[], id: string, feeds: readonly string[]): void {
  for (const f of feeds) {
    work.add(app, f, id, null);
    spreads.push({ kind: 'fanout.add', source: f, ids: [id] });
  }
}

/** Takes `ids` out of `feeds` (their direct entries) and out of their followers' feeds. */
export function takeDirect(work: FeedWork, spreads: Spread[], ids: readonly string[], feeds: readonly string[]): void {
  for (const f of feeds) {
    work.ops.push({ kind: 'remove', feed: f, ids, origin: null });
    spreads.push({ kind: 'fanout.remove', source: f, ids });
  }
}

/**
 * Runs a write of one step (see {@link runWrite}) whose intents are those of `spreads`, planned
 * here.
 */
export async function writeOne(
  s: WriteDeps,
  app: App,
  step: Omit<WriteStep, 'intents'>,
  parts: Omit<WriteParts, 'intents'>,
): Promise<CommittedStep[]> {
  const intents = await planIntents(s, app, parts.spreads);
  const planned = intents.filter((x) => x !== null);
  return runWrite(s, app, [{ ...step, ...(planned.length > 0 ? { intents: planned } : {}) }], { ...parts, intents });
}

/**
 * Seen/read marks of notification feeds (§23.3): per feed, a read of the marked groups, the core's
 * marks, and a compare-and-set write of the groups (again when the feed changed meanwhile); then
 * the realtime events. Marking again changes nothing.
 */
export async function markFeeds(s: Uses<'groups', 'realtime'>, appId: string, marks: readonly MarkChange[]): Promise<void> {
  let left = [...marks];
  for (let round = 0; left.length > 0; round++) {
    if (round === MAX_GROUP_ROUNDS) throw new StoreError(`groups of ${left[0].feed} kept changing during a mark`, null, { transient: true });
    const ids = (m: MarkChange) => [m.seen, m.read].flatMap((x) => (Array.isArray(x) ? x : []));
    const reads = await s.ports.groups.readForMerge(appId, left.map((m) => ({ feed: m.feed, ids: ids(m) })));
    const writes: GroupWrite[] = [];
    reads.forEach((r, i) => {
      const c = markGroups({ counts: r.counts, groups: r.groups }, left[i].seen, left[i].read);
      if (c) writes.push({ feed: r.feed, version: r.version, put: c.put, drop: c.drop, counts: c.counts, ...(c.markAll ? { markAll: c.markAll } : {}) });
    });
    const conflicts = new Set(writes.length > 0 ? await s.ports.groups.writeGroups(appId, writes) : []);
    left = left.filter((m) => conflicts.has(m.feed));
  }
  if (s.realtime && marks.length > 0) await s.realtime.committed(appId, { marks });
}
