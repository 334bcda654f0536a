import { changeKey, signalChanges, stepChanges } from '../../ports/change-marks.js';
import type { ActivityStore } from '../../ports/activity-store.js';
import type { CollectionStore, EntryRecord, EntryRef, EntryWriteOutcome } from '../../ports/collection-store.js';
import type { FollowStore } from '../../ports/follow-store.js';
import type { GroupStore, GroupWrite } from '../../ports/group-store.js';
import type { CommittedStep, IntentQueue, WriteStep } from '../../ports/intent-queue.js';
import type { SignalWrites } from '../../ports/signal-writes.js';
import type { StoragePorts } from '../../ports/storage.js';
import type { ActivitySweepStep } from '../../ports/store.js';
import type { ApplyOptions, FeedChange, FeedOp, TimelineStore } from '../../ports/timeline-store.js';
import type { PutMode, PutResult, UserRecord, UserStore } from '../../ports/user-store.js';
import { RedisConnection, type RedisSettings } from './connection.js';
import { RedisActivityHolds } from './redis-activity-holds.js';
import { RedisChangeMarks } from './redis-change-marks.js';
import { RedisFollowStore } from './redis-follow-store.js';
import { RedisGroupStore } from './redis-group-store.js';
import { RedisIntentQueue } from './redis-intent-queue.js';
import { RedisPubSub } from './redis-pubsub.js';
import { RedisRateLimiter } from './redis-rate-limiter.js';
import { RedisReactionStore } from './redis-reaction-store.js';
import { RedisAuditLog, RedisFileIndex, RedisFlagStore } from './redis-records.js';
import { RedisSignalStore } from './redis-signal-store.js';
import { RedisDataListing } from './redis-data-listing.js';
import { RedisModelStore } from './redis-model-store.js';
import { RedisTimelineStore } from './redis-timeline-store.js';
import { RedisUserData } from './redis-user-data.js';
import { RedisUsersCollections } from './redis-users-collections.js';

/** An object with every method of `target` (bound to it), some replaced by `overrides`. */
function delegate<T extends object, O extends object>(target: T, overrides: O): T {
  const out: Record<string, unknown> = {};
  for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(target))) {
    const v = (target as Record<string, unknown>)[name];
    if (name !== 'constructor' && typeof v === 'function') out[name] = (v as (...a: unknown[]) => unknown).bind(target);
  }
  return Object.assign(out, overrides) as T;
}

/**
 * Every storage port on a Redis Cluster (docs/storage-ports.md, docs/scaling.md), over one
 * connection per process, plus the change marks of the read cache, the personalization stores
 * and model snapshots, the record stores, realtime pubsub and shared rate limits.
 *
 * The ports' writes record their change marks after they landed ({@link RedisChangeMarks}), so
 * read caches on every node stay exact. Opening checks that the cluster's persistence matches the
 * durability mode (`durable`: append-only file on every master and a replica each, writes
 * acknowledged after `WAIT 1`; `fast`: at once) and rejects with what to change otherwise.
 */
export class RedisStore {
  readonly connection: RedisConnection;
  readonly ports: StoragePorts;
  readonly changes: RedisChangeMarks;
  readonly signals: RedisSignalStore;
  readonly records: { readonly files: RedisFileIndex; readonly flags: RedisFlagStore; readonly audit: RedisAuditLog; readonly userData: RedisUserData };
  /** Personalization model snapshots, shared by every node. */
  readonly models: RedisModelStore;
  /** Every record of an app, page by page (data export; scans the keyspace). */
  readonly listing: RedisDataListing;
  readonly rateLimiter: RedisRateLimiter;
  /** The unmarked adapters (tests and tools). */
  readonly raw: {
    readonly intents: RedisIntentQueue;
    readonly timelines: RedisTimelineStore;
    readonly groups: RedisGroupStore;
    readonly follows: RedisFollowStore;
    readonly reactions: RedisReactionStore;
    readonly users: RedisUsersCollections;
  };
  #pubsub: RedisPubSub | null = null;
  readonly #holds: RedisActivityHolds;

  private constructor(connection: RedisConnection, marksKept?: number) {
    this.connection = connection;
    const r = connection;
    const audit = new RedisAuditLog(r);
    const follows = new RedisFollowStore(r);
    const intents = new RedisIntentQueue(r, audit, follows);
    const holds = new RedisActivityHolds(r);
    this.#holds = holds;
    const timelines = new RedisTimelineStore(r, intents, holds);
    const groups = new RedisGroupStore(r, holds);
    const reactions = new RedisReactionStore(r);
    const users = new RedisUsersCollections(r);
    this.raw = { intents, timelines, groups, follows, reactions, users };
    this.changes = new RedisChangeMarks(r, marksKept);
    const marks = this.changes;
    const mark = async (keys: readonly string[]) => {
      if (keys.length > 0) await marks.record(keys);
    };
    const signals = new RedisSignalStore(r);
    // Personalization data that ranked reads score with (as on SQLite); the content job queue is not.
    this.signals = delegate(signals, {
      async recordSignals(app: string, w: SignalWrites): Promise<void> {
        try {
          await signals.recordSignals(app, w);
        } finally {
          // Also after a failed call: parts of it may have landed.
          await mark([...signalChanges(app, w)]);
        }
      },
    });
    this.records = { files: new RedisFileIndex(r), flags: new RedisFlagStore(r), audit, userData: new RedisUserData(r, intents, users) };
    this.models = new RedisModelStore(r);
    this.listing = new RedisDataListing(r, intents, users);
    this.rateLimiter = new RedisRateLimiter(r);
    // A follow's follow-up operations lift the follower's hides of the target's entries; a claim
    // that applies those of a writer that died records their change marks.
    intents.useOthers({ unhideFollowed: (app, source, target, since) => timelines.unhideFollowed(app, source, target, since), mark });
    const markedIntents: IntentQueue = delegate(intents, {
      async commit(app: string, steps: readonly WriteStep[]): Promise<CommittedStep[]> {
        try {
          return await intents.commit(app, steps);
        } finally {
          // Also after a failed call: earlier steps of it may have landed.
          await mark(steps.flatMap((s) => [...stepChanges(app, s)]));
        }
      },
    });
    const markedTimelines: TimelineStore = delegate(timelines, {
      async apply(app: string, ops: readonly FeedOp[], opts?: ApplyOptions): Promise<FeedChange[]> {
        try {
          return await timelines.apply(app, ops, opts);
        } finally {
          const keys = new Set(ops.map((op) => changeKey.feed(app, op.feed)));
          for (const op of ops) if (op.kind === 'remove') for (const id of op.ids) keys.add(changeKey.activity(app, id));
          // Direct entries of pull-served feeds show in their followers' merged reads.
          const isDirect = (op: FeedOp) => (op.kind === 'add' && op.entries.some((e) => e.origin === null)) || (op.kind === 'remove' && (op.origin === undefined || op.origin === null));
          const direct = [...new Set(ops.filter(isDirect).map((op) => op.feed))];
          if (direct.length > 0 && (await follows.pullServed(app, direct)).size > 0) keys.add(changeKey.pulled(app));
          await mark([...keys]);
        }
      },
    });
    const markedGroups: GroupStore = delegate(groups, {
      async writeGroups(app: string, writes: readonly GroupWrite[], opts?: ApplyOptions): Promise<string[]> {
        const stale = await groups.writeGroups(app, writes, opts);
        const moved = new Set(stale);
        await mark([...new Set(writes.filter((w) => !moved.has(w.feed)).map((w) => changeKey.feed(app, w.feed)))]);
        return stale;
      },
    });
    const markedFollows: FollowStore = delegate(follows, {
      async markPullServed(app: string, feeds: readonly string[]): Promise<void> {
        await follows.markPullServed(app, feeds);
        await mark(feeds.length > 0 ? [changeKey.pulled(app), ...feeds.map((f) => changeKey.feed(app, f))] : []);
      },
    });
    const markedUsers: UserStore = delegate(users, {
      async putUsers(app: string, list: readonly UserRecord[], mode: PutMode): Promise<PutResult<UserRecord>[]> {
        const out = await users.putUsers(app, list, mode);
        await mark(out.filter((x) => x.created || mode === 'replace').map((x) => changeKey.user(app, x.record.id)));
        return out;
      },
      async updateUser(app: string, id: string, data: string, updatedUs: number): Promise<UserRecord | null> {
        const out = await users.updateUser(app, id, data, updatedUs);
        if (out) await mark([changeKey.user(app, id)]);
        return out;
      },
      async deleteUsers(app: string, ids: readonly string[]): Promise<string[]> {
        const out = await users.deleteUsers(app, ids);
        await mark(out.map((id) => changeKey.user(app, id)));
        return out;
      },
    });
    const markedCollections: CollectionStore = delegate(users, {
      async putEntries(app: string, list: readonly EntryRecord[], mode: PutMode): Promise<PutResult<EntryRecord>[]> {
        const out = await users.putEntries(app, list, mode);
        await mark(out.filter((x) => x.created || mode === 'replace').map((x) => changeKey.object(app, x.record.collection, x.record.id)));
        return out;
      },
      async updateEntry(app: string, ref: EntryRef, data: string, updatedUs: number, ifOwner?: string): Promise<EntryWriteOutcome<EntryRecord>> {
        const out = await users.updateEntry(app, ref, data, updatedUs, ifOwner);
        if (out.kind === 'done') await mark([changeKey.object(app, ref.collection, ref.id)]);
        return out;
      },
      async deleteEntries(app: string, refs: readonly EntryRef[], ifOwner?: string): Promise<EntryWriteOutcome<null>[]> {
        const out = await users.deleteEntries(app, refs, ifOwner);
        await mark(refs.filter((_, i) => out[i].kind === 'done').map((r) => changeKey.object(app, r.collection, r.id)));
        return out;
      },
    });
    this.ports = {
      intents: markedIntents,
      activities: intents satisfies ActivityStore,
      timelines: markedTimelines,
      groups: markedGroups,
      follows: markedFollows,
      reactions,
      users: markedUsers,
      collections: markedCollections,
    };
  }

  /**
   * Connects and checks the cluster's persistence against the durability mode (rejects, saying
   * what to change, when they do not match). `marksKept`: how many change marks the log keeps.
   */
  static async open(settings: RedisSettings, opts: { marksKept?: number } = {}): Promise<RedisStore> {
    const connection = new RedisConnection(settings);
    try {
      await connection.checkPersistence();
    } catch (err) {
      await connection.close();
      throw err;
    }
    return new RedisStore(connection, opts.marksKept);
  }

  /**
   * One step of the sweep that deletes activities no feed holds any more ({@link Store.sweepActivities}):
   * the candidates are those whose count of holding entries fell to 0 ({@link RedisActivityHolds}),
   * so a step reads only them, never the keyspace. An activity a queued or dead-lettered fan-out
   * job names, or a user hid (personalization), is kept. Deleting one also deletes its content
   * tags and the feeds' hides of its id, and records its change mark (a clean-up a sweeper that
   * died left undone is done by the next step over the partition).
   */
  async sweepActivities(app: string, after: string | null, limit: number, nowMs: number, retentionMs: number): Promise<ActivitySweepStep> {
    const needed = async (ids: readonly string[]) => {
      const [queued, hidden] = await Promise.all([
        this.raw.intents.namedActivities(app),
        Promise.all(ids.map((id) => this.connection.cluster.exists(this.connection.keys.activity(app, id, 'hb')))),
      ]);
      return new Set(ids.filter((id, i) => queued.has(id) || hidden[i] > 0));
    };
    // A deleted activity's hides in feeds go (as on SQLite: an activity written again later with
    // the same id is not hidden), then its tags and the list of feeds hiding it; last its mark.
    const cleanUp = async (ids: readonly string[]) => {
      const feeds = await Promise.all(ids.map((id) => this.#holds.hidingFeeds(app, id)));
      const unhides: FeedOp[] = ids.flatMap((id, i) => feeds[i].map((feed) => ({ kind: 'unhide' as const, feed, ids: [id] })));
      if (unhides.length > 0) await this.ports.timelines.apply(app, unhides);
      const k = this.connection.keys;
      await Promise.all(ids.map((id) => this.connection.write((p) => p.del(k.activity(app, id, 'tags'), k.activity(app, id, 'hf')))));
      await this.changes.record(ids.map((id) => changeKey.activity(app, id)));
    };
    return this.#holds.step(app, after, limit, nowMs, retentionMs, needed, cleanUp);
  }

  /** Realtime across nodes over Redis pub/sub, opened on first use (its own subscriber connections). */
  async pubsub(): Promise<RedisPubSub> {
    if (!this.#pubsub) {
      const p = new RedisPubSub({ nodes: this.connection.settings.nodes, keys: this.connection.keys, publisher: this.connection.cluster });
      this.#pubsub = p;
      await p.started();
    }
    return this.#pubsub;
  }

  async close(): Promise<void> {
    await this.#pubsub?.close();
    await this.connection.close();
  }
}
