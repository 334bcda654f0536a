import type { CollectionStore, EntryRecord, EntryRef } from '../../ports/collection-store.js';
import type { ActivitySweepStep, IntegrityReport, Store } from '../../ports/store.js';
import { checkSqliteIntegrity } from './integrity.js';
import type { PutMode, UserRecord, UserStore } from '../../ports/user-store.js';
import { SqliteDatabase } from './database.js';
import { SqliteGroups } from './sqlite-groups.js';
import { SqliteActivityStore } from './sqlite-activity-store.js';
import { SqliteCollectionStore } from './sqlite-collection-store.js';
import { SqliteFollowStore } from './sqlite-follow-store.js';
import { SqliteTimelineStore } from './sqlite-timeline-store.js';
import { SqliteUserStore } from './sqlite-user-store.js';
import { SqliteReactionStore } from './sqlite-reaction-store.js';
import { SqliteWriteStore } from './sqlite-write-store.js';
import { SqliteSignalStore } from './sqlite-signal-store.js';
import { SqliteChangeMarks } from './sqlite-change-marks.js';
import { changeKey } from '../../ports/change-marks.js';
import { SqliteActivitySweep } from './sqlite-activity-sweep.js';
import type { StoragePorts } from '../../ports/storage.js';
import { SqliteIntentQueue } from './sqlite-intent-queue.js';
import { SqliteActivities, SqliteFollowGraph, SqliteGroupStore, SqliteTimelines } from './sqlite-feed-stores.js';
import { WriterThread } from './sqlite-writer-thread.js';
import { SqliteModelStore } from './sqlite-model-store.js';
import type { NewModelSnapshot } from '../../ports/model-store.js';

/** How a {@link SqliteStore} writes. */
export interface SqliteStoreOptions {
  /**
   * `thread` (the default for a database file): a dedicated writer thread owns the writing
   * connection and applies every write, keeping commits and their fsync off this thread;
   * `inline` (always so for `:memory:`): writes are applied on this thread's connection. A
   * server takes it from the environment variable `RIVULET_SQLITE_WRITER` (compose/environment.ts).
   */
  readonly writer?: 'thread' | 'inline';
  /** Set by the writer thread itself: its commit counter, shared with the main thread. */
  readonly writerThreadOf?: Int32Array;
}

/** The embedded store: every port over one SQLite database file. */
export class SqliteStore implements Store {
  readonly database: SqliteDatabase;
  readonly signals: SqliteSignalStore;
  /** The storage ports (docs/storage-ports.md) over the same database and group commit. */
  readonly ports: StoragePorts;
  readonly changes: SqliteChangeMarks;
  /** Personalization model snapshots, saved through the group commit. */
  readonly models: SqliteModelStore;
  readonly #activities: SqliteActivityStore;
  readonly #timelines: SqliteTimelineStore;
  readonly #follows: SqliteFollowStore;
  /** The write store (group commit); the writer thread applies what it receives through it. */
  readonly writes: SqliteWriteStore;
  readonly #writes: SqliteWriteStore;
  /** The writer thread, when this store has one (a database file with `writer: 'thread'`). */
  readonly writerThread: WriterThread | null = null;
  readonly #users: SqliteUserStore;
  readonly #collections: SqliteCollectionStore;
  readonly #reactions: SqliteReactionStore;
  readonly #sweep: SqliteActivitySweep;
  readonly #ops: ReturnType<SqliteStore['defineOps']>;

  /** `path` is a file path, or `:memory:` for tests. */
  constructor(path: string, options: SqliteStoreOptions = {}) {
    const inThread = options.writerThreadOf;
    this.database = new SqliteDatabase(path, { register: inThread === undefined });
    this.#activities = new SqliteActivityStore(this.database);
    const groups = new SqliteGroups(this.database);
    this.#timelines = new SqliteTimelineStore(this.database, groups);
    this.#follows = new SqliteFollowStore(this.database);
    this.changes = new SqliteChangeMarks(this.database);
    // The writer thread counts its commits, and those that waited for fsync, where this side reads them.
    const counted = inThread
      ? (durable: boolean) => {
          if (durable) Atomics.add(inThread, 1, 1);
          Atomics.add(inThread, 0, 1);
        }
      : null;
    this.#writes = new SqliteWriteStore(this.database, this.changes, counted);
    this.writes = this.#writes;
    this.#users = new SqliteUserStore(this.database);
    this.#collections = new SqliteCollectionStore(this.database);
    this.#reactions = new SqliteReactionStore(this.database);
    // Signal writes and the retention sweep go through the group commit (the writer thread's when
    // there is one), never a transaction of the connection that answers reads.
    this.signals = new SqliteSignalStore(
      this.database,
      (app, w) => this.#writes.commitSignals(app, w),
      (app, beforeUs, nowUs, limit) => this.#ops.sweepEvents([app, beforeUs, nowUs, limit]),
    );
    // After the signal store, which creates the personalization tables the sweep looks at.
    this.#sweep = new SqliteActivitySweep(this.database, this.changes);
    const timelines = new SqliteTimelines(this.database, this.#writes, this.#timelines, this.changes);
    // The writing connection merges recent timeline entries into the main table between commits.
    this.#writes.runBetweenCommits({ due: () => timelines.mergeDue(), step: () => void timelines.mergeStep() });
    this.ports = {
      intents: new SqliteIntentQueue(this.database, this.#writes),
      activities: new SqliteActivities(this.database, this.#activities),
      timelines,
      groups: new SqliteGroupStore(this.database, this.#writes, this.#timelines, this.changes),
      follows: new SqliteFollowGraph(this.database, this.#writes, this.#follows, this.#timelines, this.changes),
      reactions: this.#reactions,
      // The writes go through the group commit with their change marks (see defineOps).
      users: this.userPort(),
      collections: this.collectionPort(),
    };
    // Model snapshots (personalization) are saved through the group commit: on the writer thread
    // where there is one, so a large snapshot's commit does not stall reads.
    this.models = new SqliteModelStore(this.database, (app, snapshot, keep) => this.#ops.saveModel([app, snapshot, keep]));
    this.#ops = this.defineOps();
    const writer = options.writer ?? 'thread';
    if (inThread === undefined && path !== ':memory:' && writer === 'thread') {
      const thread = new WriterThread(path);
      this.writerThread = thread;
      this.#writes.useRemote(thread);
      this.database.countCommits(thread.commits);
      // The marks of the thread's commits come with its acknowledgements (see SqliteChangeMarks.known).
      this.changes.followThread(thread.commits, () => thread.takeAcknowledgements());
      thread.onMarks = (marks) => this.changes.acknowledged(marks);
    }
  }

  /**
   * The writes of the user and collection ports and the activity sweep, as named operations of the
   * write store: each runs with its change mark inside the group commit (on this connection or
   * by the writer thread).
   */
  private defineOps() {
    const w = this.#writes;
    // The store calls run synchronously inside the transaction (better-sqlite3) and return settled promises.
    const marked =
      <A extends unknown[], T>(write: (...args: A) => Promise<T>) =>
      (keys: readonly string[], ...args: A): Promise<T> => {
        const out = write(...args);
        if (keys.length > 0) this.changes.write(keys);
        return out;
      };
    return {
      putUsers: w.define('users.put', marked((app: string, users: readonly UserRecord[], mode: PutMode) => this.#users.putUsers(app, users, mode))),
      updateUser: w.define('users.update', marked((app: string, id: string, data: string, updatedUs: number) => this.#users.updateUser(app, id, data, updatedUs))),
      deleteUsers: w.define('users.delete', marked((app: string, ids: readonly string[]) => this.#users.deleteUsers(app, ids))),
      putEntries: w.define('collections.put', marked((app: string, entries: readonly EntryRecord[], mode: PutMode) => this.#collections.putEntries(app, entries, mode))),
      updateEntry: w.define(
        'collections.update',
        marked((app: string, ref: EntryRef, data: string, updatedUs: number, ifOwner: string | undefined) => this.#collections.updateEntry(app, ref, data, updatedUs, ifOwner)),
      ),
      deleteEntries: w.define('collections.delete', marked((app: string, refs: readonly EntryRef[], ifOwner: string | undefined) => this.#collections.deleteEntries(app, refs, ifOwner))),
      sweep: w.define('activities.sweep', (app: string, after: string | null, limit: number, nowMs: number, retentionMs: number) =>
        this.#sweep.sweep(app, after, limit, nowMs, retentionMs),
      ),
      sweepEvents: w.define('signals.sweep', (app: string, beforeUs: number, nowUs: number, limit: number) => this.signals.sweepNow(app, beforeUs, nowUs, limit)),
      saveModel: w.define('models.save', (app: string, snapshot: NewModelSnapshot, keep: number) => this.models.saveNow(app, snapshot, keep)),
    };
  }

  /** The users port: reads on this connection, writes as named operations with their change marks. */
  private userPort(): UserStore {
    const users = this.#users;
    return {
      getUsers: (app, ids) => users.getUsers(app, ids),
      putUsers: (app, list, mode) => this.#ops.putUsers([list.map((u) => changeKey.user(app, u.id)), app, list, mode], list.length),
      updateUser: (app, id, data, updatedUs) => this.#ops.updateUser([[changeKey.user(app, id)], app, id, data, updatedUs]),
      deleteUsers: (app, ids) => this.#ops.deleteUsers([ids.map((id) => changeKey.user(app, id)), app, ids], ids.length),
    };
  }

  /** The collections port: reads on this connection, writes as named operations with their change marks. */
  private collectionPort(): CollectionStore {
    const collections = this.#collections;
    return {
      getEntries: (app, refs) => collections.getEntries(app, refs),
      putEntries: (app, entries, mode) =>
        this.#ops.putEntries([entries.map((e) => changeKey.object(app, e.collection, e.id)), app, entries, mode], entries.length),
      updateEntry: (app, ref, data, updatedUs, ifOwner) =>
        this.#ops.updateEntry([[changeKey.object(app, ref.collection, ref.id)], app, ref, data, updatedUs, ifOwner]),
      deleteEntries: (app, refs, ifOwner) => this.#ops.deleteEntries([refs.map((r) => changeKey.object(app, r.collection, r.id)), app, refs, ifOwner], refs.length),
    };
  }

  changeMark(): string {
    return this.database.changeMark();
  }

  /**
   * Transactions of this store's writing connection (the writer thread's, when there is one) that
   * waited for fsync since it opened: what writes cost in disk waits (tests, diagnostics).
   */
  durableCommits(): number {
    return this.writerThread !== null ? Atomics.load(this.writerThread.commits, 1) : this.#writes.durableCommits;
  }
  ready(): Promise<void> {
    return this.database.ready();
  }
  checkIntegrity(budgetMs: number): Promise<IntegrityReport> {
    // An in-memory database (tests) is visible to its own connection only, and small.
    if (this.database.path === ':memory:') {
      const lines = (this.database.db.pragma('quick_check(20)') as Record<string, unknown>[]).map((r) => String(Object.values(r)[0]));
      const ok = lines.length === 1 && lines[0] === 'ok';
      return Promise.resolve({ status: ok ? 'ok' : 'corrupt', problems: ok ? [] : lines, ms: 0 });
    }
    return checkSqliteIntegrity(this.database.path, budgetMs);
  }
  async migrations(): Promise<{ applied: number; latest: number }> {
    return this.database.guard('migrations', () => this.database.migrations());
  }
  async sweepActivities(app: string, after: string | null, limit: number, nowMs: number, retentionMs: number): Promise<ActivitySweepStep> {
    return this.#ops.sweep([app, after, limit, nowMs, retentionMs], limit);
  }
  async close(): Promise<void> {
    // Public fields only: callers may reach close() through a wrapper.
    if (this.writerThread !== null) await this.writerThread.close();
    this.database.close();
  }
}
