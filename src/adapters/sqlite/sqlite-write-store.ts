import type Database from 'better-sqlite3';
import { idToSortKey, sortKeyAtTime } from '../../core/activities/activity-id.js';
import type { WriteStep } from '../../ports/intent-queue.js';
import { ConflictError } from '../../core/errors.js';
import type { SqliteDatabase } from './database.js';
import { SqliteHideWrites } from './sqlite-hide-writes.js';
import { SqliteReactionWrites } from './sqlite-reaction-store.js';
import { signalRows, SqliteSignalWrites } from './sqlite-signal-writes.js';
import type { SignalWrites } from '../../ports/signal-writes.js';
import { signalChanges, stepChanges } from '../../ports/change-marks.js';
import { SqliteChangeMarks } from './sqlite-change-marks.js';

/**
 * Signal writes (SqliteSignalStore shares this group commit), or a function that writes through
 * its own statements (the adapters of the ports in `src/ports/`, see {@link SqliteWriteStore.define})
 * and whose result the caller's promise resolves to, on this store.
 */
type SqliteBatch = { readonly signals?: SignalWrites; readonly run?: () => unknown; readonly rows?: number; readonly graphChange?: boolean; readonly relaxed?: boolean };

/**
 * A write handed to another thread as plain data: signal writes (`op` absent) or a named
 * operation (see {@link SqliteWriteStore.define}) with its arguments.
 */
export interface WriteItem {
  readonly app: string;
  readonly signals?: SignalWrites;
  readonly op?: string;
  readonly args?: readonly unknown[];
  readonly rows: number;
  /** It creates or removes follow edges (reads of the graph wait for it). */
  readonly graph: boolean;
  /** It writes activities or content tags, or anything (a named operation). */
  readonly content: boolean;
  /** It need not reach the disk before it is acknowledged (see {@link SqliteWriteStore.transactOp}). */
  readonly relaxed?: boolean;
  /** Nobody waits for it: it may wait for the next write to go with it (see {@link SqliteWriteStore.transactOp}). */
  readonly lazy?: boolean;
}

/** Applies writes elsewhere (the writer thread): each promise settles once its write committed or failed. */
export interface RemoteWriter {
  send(item: WriteItem): Promise<unknown>;
  /** Resolves once every write sent before the call has settled. */
  drained(): Promise<void>;
}

/** A batch waiting for its group commit, with the caller's promise. */
interface Waiting {
  readonly app: string;
  readonly batch: SqliteBatch;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

/** Rows (entries, activities, edges…) after which a group is committed without waiting for the turn to end. */
export const MAX_GROUP_ROWS = 50_000;

/**
 * The group commit of the SQLite store. With synchronous = FULL every commit waits for an fsync,
 * and that, not the statements, limits how many writes per second the store takes. So the writes
 * handed over during one event-loop turn (named operations of the ports, see {@link define}, and
 * signal writes) wait and are applied together in ONE IMMEDIATE transaction: at the end of the
 * turn (setImmediate), when they hold {@link MAX_GROUP_ROWS} rows, or before any other store call.
 * Each caller's promise resolves only after that transaction committed, so an acknowledged write
 * is on disk. If the group's transaction fails, its writes are applied again one by one, each in
 * its own transaction, so a bad write fails alone.
 *
 * Ordering: every store call on this database first commits the waiting writes (see
 * {@link SqliteDatabase.guard}), so a use case that reads and then writes sees every write handed
 * to the store before its read — exactly as if each write had been applied when it was called.
 * Reads of the follow graph alone (follower pages, pull flags) let the writes wait unless one of
 * them follows or unfollows, since nothing else changes the graph; that is what lets concurrent
 * posts, whose planning reads only the graph, share a commit. Likewise reads of activity rows and
 * content tags alone let signal writes wait unless they replace tags: analytics requests, which
 * read the activities their events name and then write events and profile changes, share a
 * commit that way.
 *
 * It also applies the written thing of a write's atomic step ({@link applyStep}: an activity,
 * reactions, a follow edge, erasures, audit entries) inside the intent queue's operation.
 */
export class SqliteWriteStore {
  readonly #d: SqliteDatabase;
  readonly #reactions: SqliteReactionWrites;
  readonly #marks: SqliteChangeMarks;
  readonly #groupTx: Database.Transaction<(group: readonly Waiting[]) => void>;
  readonly #oneTx: Database.Transaction<(w: Waiting) => void>;
  #waiting: Waiting[] = [];
  /** Results of the `run` functions of the transaction being committed. */
  readonly #results = new Map<Waiting, unknown>();
  #waitingRows = 0;
  /** Whether a waiting write creates or removes follow edges. */
  #waitingGraph = false;
  /** Whether a waiting write may write activities or content tags (every named operation may). */
  #waitingContent = false;
  #scheduled = false;
  /** Named operations (see {@link define}). */
  readonly #ops = new Map<string, (...args: never[]) => unknown>();
  /** The writer thread, when writes are applied there instead of on this connection. */
  #remote: RemoteWriter | null = null;
  /** Called after each transaction committed; `durable`: it waited for fsync (see {@link durableCommits}). */
  readonly #onCommit: ((durable: boolean) => void) | null;
  #durableCommits = 0;
  /** Writes of the follow graph settled in this process (see {@link graphWrites}). */
  #graphWrites = 0;
  readonly #upsertActivity: Database.Statement;
  readonly #activityBody: Database.Statement;
  readonly #follow: Database.Statement;
  readonly #unfollow: Database.Statement;
  readonly #followerCount: Database.Statement;
  readonly #hides: SqliteHideWrites;
  readonly #signals: SqliteSignalWrites;
  readonly #eraseActivity: Database.Statement;
  readonly #audit: Database.Statement;
  /** Told when a transaction of the group commit rolled back (see {@link onRollback}). */
  readonly #onRollback: (() => void)[] = [];
  /** Work done between group commits on the writing connection (see {@link runBetweenCommits}). */
  #background: BackgroundWork | null = null;
  #backgroundScheduled = false;

  /** Every transaction writes one change mark in `marks` naming what its writes changed. */
  constructor(d: SqliteDatabase, marks: SqliteChangeMarks = new SqliteChangeMarks(d), onCommit: ((durable: boolean) => void) | null = null) {
    this.#d = d;
    this.#onCommit = onCommit;
    this.#marks = marks;
    this.#reactions = new SqliteReactionWrites(d);
    const db = d.db;
    this.#upsertActivity = db.prepare(
      `INSERT INTO activities (app, sk, id, foreign_id, time, home, to_feeds, body)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (app, sk) DO UPDATE SET foreign_id = excluded.foreign_id, time = excluded.time,
         to_feeds = excluded.to_feeds, body = excluded.body`,
    );
    this.#activityBody = db.prepare('SELECT body FROM activities WHERE app = ? AND sk = ?').pluck();
    this.#follow = db.prepare('INSERT OR IGNORE INTO follows (target, source, created, grouped, since) VALUES (?, ?, ?, ?, ?)');
    this.#unfollow = db.prepare('DELETE FROM follows WHERE target = ? AND source = ?');
    this.#followerCount = db.prepare('UPDATE feeds SET followers = followers + ? WHERE id = ?');
    this.#hides = new SqliteHideWrites(d);
    this.#signals = new SqliteSignalWrites(d);
    this.#eraseActivity = db.prepare('DELETE FROM activities WHERE app = ? AND sk = ?');
    this.#audit = db.prepare('INSERT INTO audit (app, entity_type, entity_id, action, user_id, custom, created) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.#groupTx = db.transaction((group: readonly Waiting[]) => {
      for (const w of group) this.applyWaiting(w);
      this.mark(group);
    });
    this.#oneTx = db.transaction((w: Waiting) => {
      this.applyWaiting(w);
      this.mark([w]);
    });
    d.onAccess((reads) => {
      // Inside a transaction a commit would only be a savepoint: the caller is the flush itself.
      if (this.#waiting.length === 0 || db.inTransaction) return;
      if ((reads === 'graph' && !this.#waitingGraph) || (reads === 'content' && !this.#waitingContent)) return;
      this.flush();
    });
  }

  /**
   * Personalization signals, in the same group commit as the ports' writes: handed over in the
   * same event-loop turn as another write, they share its transaction.
   */
  commitSignals(app: string, signals: SignalWrites): Promise<void> {
    if (this.#remote) return this.#remote.send({ app, signals, rows: rowsOf({ signals }), graph: false, content: contentOf({ signals }) }) as Promise<void>;
    return this.enqueue(app, { signals }) as Promise<void>;
  }

  /**
   * From now on, hands every write to `remote` (the writer thread, which applies it with this
   * class's code on its own connection) instead of applying it here. Reads then see the writes
   * that were acknowledged, not the ones still on their way (see {@link WriterThread}).
   */
  useRemote(remote: RemoteWriter): void {
    this.#remote = remote;
  }

  /** Calls `f` whenever a transaction of the group commit rolled back (caches of what it wrote forget it). */
  onRollback(f: () => void): void {
    this.#onRollback.push(f);
  }

  /**
   * Work the writing connection does between group commits, one `step` (its own transaction) at a
   * time while `due()` says so: the merge of recent timeline entries (SqliteTimelines). Only where
   * this store commits itself (the writer thread, or the inline writer); each step waits for the
   * writes handed over before it, and writes arriving during a step wait at most for that step.
   */
  runBetweenCommits(work: BackgroundWork): void {
    this.#background = work;
  }

  private scheduleBackground(): void {
    const work = this.#background;
    if (work === null || this.#remote !== null || this.#backgroundScheduled || !work.due()) return;
    this.#backgroundScheduled = true;
    setImmediate(this.#runBackground);
  }

  readonly #runBackground = (): void => {
    this.#backgroundScheduled = false;
    const work = this.#background;
    if (work === null || !this.#d.db.open) return;
    // Writes first: a step moves committed data and can wait, an acknowledgement cannot.
    if (this.#waiting.length > 0) {
      this.flush();
      return;
    }
    // The step only moves committed data between tables in one transaction: losing it to a power
    // cut loses nothing, so it does not wait for fsync (see transactOp's relaxed writes).
    const relaxed = this.#d.path !== ':memory:';
    if (relaxed) this.#d.db.pragma('synchronous = NORMAL');
    try {
      work.step();
    } catch {
      // Busy (another process writing) or failing: tried again after the next commit.
      return;
    } finally {
      if (relaxed) this.#d.db.pragma('synchronous = FULL');
    }
    this.scheduleBackground();
  };

  /**
   * Resolves once every write handed over before the call has committed or failed, so that a read
   * made then sees them: with a writer thread, once the thread settled them; on this connection,
   * at once (every store call commits the waiting writes first, see {@link SqliteDatabase.guard}).
   */
  handedOver(): Promise<void> {
    return this.#remote ? this.#remote.drained() : Promise.resolve();
  }

  /** Whether writes go to another thread. */
  get remote(): boolean {
    return this.#remote !== null;
  }

  /**
   * Names a write operation: `run` executes inside the group commit with data arguments, so that
   * the operation can also be applied by the writer thread, whose store defines the same names.
   * The returned function hands it over (see {@link transactOp}).
   */
  define<A extends unknown[], T>(name: string, run: (...args: A) => T): (args: A, rows?: number, graph?: boolean, relaxed?: boolean, lazy?: boolean) => Promise<Awaited<T>> {
    if (this.#ops.has(name)) throw new Error(`write operation ${name} defined twice`);
    this.#ops.set(name, run as (...args: never[]) => unknown);
    return (args, rows = 1, graph = false, relaxed = false, lazy = false) => this.transactOp(name, args, rows, graph, relaxed, lazy) as Promise<Awaited<T>>;
  }

  /**
   * Runs the named operation inside the group commit, after every write handed over before it,
   * and resolves to its result once the transaction committed. `rows` sizes the group as
   * {@link commit}'s do; `graph`: it creates or removes follow edges.
   *
   * `relaxed`: the write need not be on disk when it is acknowledged, because a durable record
   * redoes it after a power loss (an intent's bookkeeping, operations an intent covers). A
   * transaction of relaxed writes only commits without waiting for fsync (synchronous = NORMAL);
   * one with any other write waits as always. SQLite's WAL keeps commits in order, so a relaxed
   * commit that reached the disk had every commit before it reach the disk too.
   *
   * `lazy` (relaxed writes whose caller does not wait for them, an intent's completion): the writer
   * thread may hold the write back until the next write is handed over, or a short while, so that
   * it shares that write's transaction instead of costing a commit (and every reader's look at
   * the change marks after it) of its own. Without a writer thread it changes nothing.
   */
  transactOp(name: string, args: readonly unknown[], rows = 1, graph = false, relaxed = false, lazy = false): Promise<unknown> {
    if (this.#remote) {
      const sent = this.#remote.send({ app: '', op: name, args, rows, graph, content: true, ...(relaxed ? { relaxed } : {}), ...(lazy && relaxed ? { lazy } : {}) });
      if (!graph) return sent;
      // Counted before the caller hears of it (committed, or failed and perhaps committed).
      return sent.finally(() => {
        this.#graphWrites++;
      });
    }
    const run = this.#ops.get(name);
    if (!run) return Promise.reject(new Error(`no write operation named ${name}`));
    return this.enqueue('', { run: () => (run as (...a: readonly unknown[]) => unknown)(...args), rows, graphChange: graph, relaxed });
  }

  private enqueue(app: string, batch: SqliteBatch): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      this.#waiting.push({ app, batch, resolve, reject });
      if (batch.graphChange) this.#waitingGraph = true;
      if (contentOf(batch)) this.#waitingContent = true;
      this.#waitingRows += rowsOf(batch);
      if (this.#waitingRows >= MAX_GROUP_ROWS) this.flush();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#flushScheduled);
      }
    });
  }

  readonly #flushScheduled = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  /** Commits the waiting batches now, in the order they were handed over, and settles their promises. */
  flush(): void {
    const group = this.#waiting;
    if (group.length === 0) return;
    this.#waiting = [];
    this.#waitingRows = 0;
    this.#waitingGraph = false;
    this.#waitingContent = false;
    // Relaxed alone (see transactOp): this transaction does not wait for fsync; every other
    // commit on this connection does, as the connection was opened.
    const relaxed = this.#d.path !== ':memory:' && group.every((w) => w.batch.relaxed === true);
    if (relaxed) this.#d.db.pragma('synchronous = NORMAL');
    try {
      if (group.length > 1 && this.run(() => this.#groupTx.immediate(group), group, false, !relaxed)) return;
      // Alone, or the group failed: each batch in its own transaction, so only a bad one fails.
      for (const w of group) this.run(() => this.#oneTx.immediate(w), [w], true, !relaxed);
    } finally {
      if (relaxed) this.#d.db.pragma('synchronous = FULL');
      this.scheduleBackground();
    }
  }

  /**
   * Transactions committed on this connection that waited for fsync (every one but those of
   * relaxed writes alone, see {@link transactOp}): what a write costs in disk waits, for tests and
   * diagnostics. With a writer thread, see `SqliteStore.durableCommits`.
   */
  get durableCommits(): number {
    return this.#durableCommits;
  }

  /**
   * How many writes that create or remove follow edges or mark feeds pull-served (`graph` writes,
   * see {@link transactOp}) this process has settled: counted once each committed or failed,
   * before its caller hears of it. Caches of the follow graph on this thread are exact while it
   * stands still and no other process writes (see SqliteFollowGraph).
   */
  get graphWrites(): number {
    return this.#graphWrites;
  }

  /** Counts a change of the follow graph made outside the group commit (the grouped marks' sync at start). */
  noteGraphWrite(): void {
    this.#graphWrites++;
  }

  /** Runs one transaction; resolves `settles` once it committed, or rejects them (when asked) and returns false. */
  private run(tx: () => void, settles: readonly Waiting[], reject: boolean, durable: boolean): boolean {
    const graph = settles.some((w) => w.batch.graphChange === true);
    try {
      this.#d.guard('commit', tx);
    } catch (err) {
      if (graph) this.#graphWrites++;
      this.#results.clear();
      // Feed integers interned inside the rolled-back transaction no longer exist.
      this.#d.forgetFeeds();
      for (const f of this.#onRollback) f();
      if (reject) for (const w of settles) w.reject(err);
      return false;
    }
    if (graph) this.#graphWrites++;
    if (durable) this.#durableCommits++;
    this.#onCommit?.(durable);
    for (const w of settles) w.resolve(this.#results.get(w));
    this.#results.clear();
    return true;
  }

  private applyWaiting(w: Waiting): void {
    if (w.batch.run) this.#results.set(w, w.batch.run());
    if (w.batch.signals) this.#signals.apply(w.app, w.batch.signals);
  }

  /** The change mark of the signal writes just applied (in their transaction); named operations write their own. */
  private mark(group: readonly Waiting[]): void {
    const keys = new Set<string>();
    for (const w of group) if (w.batch.signals) for (const k of signalChanges(w.app, w.batch.signals)) keys.add(k);
    if (keys.size > 0) this.#marks.write(keys);
  }

  /**
   * Applies the written thing of one atomic step (see {@link WriteStep}) with its change mark,
   * inside a transaction that is already open (the intent queue's `commit` operation): the
   * activity upserted (its home feed kept), reactions with their counts, a follow edge (insert if
   * absent, the source's hides of what it shows again forgotten) or its removal, erasures and
   * audit entries.
   */
  applyStep(app: string, step: WriteStep): void {
    const d = this.#d;
    const a = d.appInt(app);
    const act = step.activity;
    if (act) {
      // A read-modify-write names the body it started from: another process may have written since.
      if (step.expectBody !== undefined && this.#activityBody.get(a, idToSortKey(act.id)) !== step.expectBody) {
        throw new ConflictError(`activity ${act.id} was changed by another request while this one updated it`);
      }
      this.#upsertActivity.run(a, idToSortKey(act.id), act.id, act.foreignId, act.timeUs, d.feedInt(app, act.home), act.to.join(','), act.body);
    }
    const f = step.follow;
    if (f) {
      const t = d.feedInt(app, f.target);
      const source = d.feedInt(app, f.source);
      const since = !f.since ? null : 'id' in f.since ? idToSortKey(f.since.id) : sortKeyAtTime(f.since.timeUs);
      this.#hides.unhideFollowed(source, t, since);
      if (this.#follow.run(t, source, f.createdUs, f.grouped ? 1 : 0, since).changes > 0) this.#followerCount.run(1, t);
    }
    const u = step.unfollow;
    if (u) {
      const t = d.findFeed(app, u.target);
      const source = d.findFeed(app, u.source);
      if (t !== undefined && source !== undefined && this.#unfollow.run(t, source).changes > 0) this.#followerCount.run(-1, t);
    }
    if (step.reactions) this.#reactions.apply(app, step.reactions);
    if (step.erase) for (const id of step.erase) this.#eraseActivity.run(a, idToSortKey(id));
    if (step.audit) {
      for (const c of step.audit.changes) this.#audit.run(a, c.entityType, c.entityId, c.action, c.userId, c.custom, step.audit.atUs);
    }
    const keys = stepChanges(app, step);
    if (keys.size > 0) this.#marks.write(keys);
  }
}

/** Work between group commits (see {@link SqliteWriteStore.runBetweenCommits}). */
export interface BackgroundWork {
  /** Whether a step is due now. */
  due(): boolean;
  /** One step, in its own transaction. */
  step(): void;
}

/** Whether a write may write activities or replace content tags; a function may write anything but follow edges (those it declares). */
function contentOf(b: SqliteBatch): boolean {
  return (b.signals?.tags?.length ?? 0) > 0 || b.run !== undefined;
}

/** Rough row count of a write, to bound the size of a group. */
function rowsOf(b: SqliteBatch): number {
  return signalRows(b.signals) + (b.rows ?? 0) + 1;
}
